//! Where accepted emails go: the outbox (kept in the database) or an SMTP relay.

use beacon_mail::{SmtpConfig, SmtpPool};

use crate::config::{self, Security};
use crate::store::{Tx, outbox};

pub enum Transport {
    /// The message is written to the `outbox` table in the same transaction that marks the
    /// email SENT, so the hand-off and its checkpoint are one atomic step.
    Outbox,
    Smtp(SmtpPool),
}

/// A transport's refusal.
pub struct Refused {
    pub message: String,
    /// A 5xx from the relay or a message that cannot be built: retrying cannot help.
    pub permanent: bool,
}

impl Transport {
    pub fn from_settings(t: &config::Transport) -> anyhow::Result<Transport> {
        Ok(match t {
            config::Transport::Outbox => Transport::Outbox,
            config::Transport::Smtp(s) => {
                let security = match s.security {
                    Security::Plain => beacon_mail::Security::Plain,
                    Security::StartTls => beacon_mail::Security::StartTls,
                    Security::Tls => beacon_mail::Security::Tls,
                };
                let mut cfg = SmtpConfig::new(s.host.clone(), s.port, security);
                cfg.username = s.username.clone();
                cfg.password = s.password.clone();
                cfg.pool_size = s.pool;
                Transport::Smtp(SmtpPool::new(cfg))
            }
        })
    }

    /// True when the hand-off leaves the database (and so needs its own checkpoint).
    pub fn is_external(&self) -> bool {
        matches!(self, Transport::Smtp(_))
    }

    /// Hands the message over before the caller's transaction commits. For SMTP the relay has
    /// it once this returns `Ok` (its reply is the provider's message id); for the outbox, once
    /// `tx` commits.
    pub async fn send(
        &self,
        tx: &mut Tx,
        project_id: &str,
        email_id: &str,
        envelope_from: &str,
        to: &str,
        raw: &[u8],
    ) -> Result<Option<String>, Refused> {
        match self {
            Transport::Outbox => {
                outbox::insert(tx, project_id, email_id, raw)
                    .await
                    .map_err(|e| Refused {
                        message: format!("outbox: {e}"),
                        permanent: false,
                    })?;
                Ok(None)
            }
            Transport::Smtp(pool) => pool
                .send(envelope_from, &[to.to_string()], raw)
                .await
                .map(|accepted| Some(accepted.reply))
                .map_err(|e| Refused {
                    message: e.to_string(),
                    permanent: e.is_permanent(),
                }),
        }
    }
}
