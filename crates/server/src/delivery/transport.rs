//! Where accepted emails go: the outbox (kept in the database), an SMTP relay, or Amazon SES's
//! SMTP interface (the same pooled client; SES's message id is read from its reply).

use beacon_mail::{SmtpConfig, SmtpPool};

use crate::config::{self, Security};
use crate::store::{Tx, outbox};

pub enum Transport {
    /// The message is written to the `outbox` table in the same transaction that marks the
    /// email SENT, so the hand-off and its checkpoint are one atomic step.
    Outbox,
    Smtp(SmtpPool),
    /// SES answers `250 Ok <SES message id>`; the bare id is stored, as SES's events name it.
    Ses(SmtpPool),
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
            config::Transport::Smtp(s) => Transport::Smtp(pool(s)),
            config::Transport::Ses(s) => Transport::Ses(pool(s)),
        })
    }

    /// True when the hand-off leaves the database (and so needs its own checkpoint).
    pub fn is_external(&self) -> bool {
        !matches!(self, Transport::Outbox)
    }

    /// Hands the message over before the caller's transaction commits. For SMTP the relay has
    /// it once this returns `Ok` (its reply, or SES's message id in it, is the provider's
    /// message id); for the outbox, once `tx` commits.
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
            Transport::Smtp(pool) => relay(pool, envelope_from, to, raw).await.map(Some),
            Transport::Ses(pool) => {
                let reply = relay(pool, envelope_from, to, raw).await?;
                Ok(Some(match crate::ses::message_id_from_reply(&reply) {
                    Some(id) => id.to_string(),
                    // Kept whole rather than lost: events still find an email by `250 Ok <id>`.
                    None => {
                        tracing::warn!(email = %email_id, reply = %reply, "SES accepted a message but its reply holds no message id");
                        reply
                    }
                }))
            }
        }
    }
}

/// The relay's whole reply to an accepted message.
async fn relay(pool: &SmtpPool, from: &str, to: &str, raw: &[u8]) -> Result<String, Refused> {
    pool.send(from, &[to.to_string()], raw)
        .await
        .map(|accepted| accepted.reply)
        .map_err(|e| Refused {
            message: e.to_string(),
            permanent: e.is_permanent(),
        })
}

fn pool(s: &config::SmtpSettings) -> SmtpPool {
    let security = match s.security {
        Security::Plain => beacon_mail::Security::Plain,
        Security::StartTls => beacon_mail::Security::StartTls,
        Security::Tls => beacon_mail::Security::Tls,
    };
    let mut cfg = SmtpConfig::new(s.host.clone(), s.port, security);
    cfg.username = s.username.clone();
    cfg.password = s.password.clone();
    cfg.pool_size = s.pool;
    SmtpPool::new(cfg)
}
