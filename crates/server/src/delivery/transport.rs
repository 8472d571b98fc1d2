//! Where accepted emails go: the outbox (kept in the database), an SMTP relay, or Amazon SES's
//! SMTP interface (the same pooled client; SES's message id is read from its reply).

use beacon_mail::{SmtpConfig, SmtpPool};

use crate::config::{self, Security};

pub enum Transport {
    /// The message is written to the `outbox` table in the same transaction that marks the
    /// email SENT, so the hand-off and its checkpoint are one atomic step (see `outcome.rs`).
    Outbox,
    /// A relay outside the database: its hand-off needs its own checkpoint.
    Relay(Relay),
}

/// Cheap to clone: the connection pool is shared.
#[derive(Clone)]
pub struct Relay {
    pool: SmtpPool,
    /// SES answers `250 Ok <SES message id>`; the bare id is stored, as SES's events name it.
    ses: bool,
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
            config::Transport::Smtp(s) => Transport::Relay(Relay {
                pool: pool(s),
                ses: false,
            }),
            config::Transport::Ses(s) => Transport::Relay(Relay {
                pool: pool(s),
                ses: true,
            }),
        })
    }
}

impl Relay {
    /// Hands the message over: once this returns `Ok` the relay has it, and its reply (or SES's
    /// message id in it) is the provider's message id.
    pub async fn send(
        &self,
        email_id: &str,
        envelope_from: &str,
        to: &str,
        raw: &[u8],
    ) -> Result<String, Refused> {
        let reply = self
            .pool
            .send(envelope_from, &[to.to_string()], raw)
            .await
            .map(|accepted| accepted.reply)
            .map_err(|e| Refused {
                message: e.to_string(),
                permanent: e.is_permanent(),
            })?;
        if !self.ses {
            return Ok(reply);
        }
        Ok(match crate::ses::message_id_from_reply(&reply) {
            Some(id) => id.to_string(),
            // Kept whole rather than lost: events still find an email by `250 Ok <id>`.
            None => {
                tracing::warn!(email = %email_id, reply = %reply, "SES accepted a message but its reply holds no message id");
                reply
            }
        })
    }
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
