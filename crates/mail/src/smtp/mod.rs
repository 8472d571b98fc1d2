//! Delivering built messages to an SMTP relay over a small pool of reusable connections.
//!
//! lettre provides the protocol (`AsyncSmtpConnection`); this module owns the sockets so it can
//! set `TCP_NODELAY` (lettre writes the final `\r\n.\r\n` as a separate small write, and with
//! Nagle on each message waits ~40 ms for the peer's delayed ACK), and owns the pool so a broken
//! connection is discarded rather than reused.

use std::time::Duration;

use serde::Deserialize;

mod pool;
mod tls;
mod transaction;

pub use pool::{SmtpAccepted, SmtpPool};

/// How the connection to the relay is secured.
///
/// In configuration files: `"plain"`, `"starttls"` or `"tls"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Security {
    /// No encryption (a relay on localhost or a private network). Credentials, if configured,
    /// are sent in the clear.
    Plain,
    /// Connect in plain text, then upgrade with `STARTTLS` (usually port 587). Fails if the
    /// server does not offer STARTTLS, rather than silently sending in the clear. The default.
    #[default]
    StartTls,
    /// TLS from the first byte ("implicit TLS", SMTPS, usually port 465).
    Tls,
}

/// Where and how to deliver. Deserializable from the server's configuration file.
///
/// Defaults: `port` 587, `security` [`Security::StartTls`], no credentials, `pool_size` 4,
/// `timeout_secs` 30, `hello_name` `"localhost"` (set it to this host's public name: some
/// relays score a `localhost` EHLO as spam).
///
/// Server certificates are checked against the Mozilla roots bundled with `webpki-roots`, so
/// the result does not depend on the machine's CA store.
///
/// ```
/// use beacon_mail::{Security, SmtpConfig};
///
/// let config = SmtpConfig::new("smtp.example.com", 465, Security::Tls)
///     .with_credentials("beacon", "s3cret");
/// assert_eq!(config.pool_size, 4);
/// assert!(!format!("{config:?}").contains("s3cret"));
/// ```
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    /// Relay host name or IP address; also the name the TLS certificate must match.
    pub host: String,
    /// Relay port. Default 587.
    #[serde(default = "default_port")]
    pub port: u16,
    /// Default [`Security::StartTls`].
    #[serde(default)]
    pub security: Security,
    /// User name for `AUTH PLAIN`/`LOGIN`; no authentication when `None`.
    #[serde(default)]
    pub username: Option<String>,
    /// Password for authentication. Never logged, and hidden from `Debug`.
    #[serde(default)]
    pub password: Option<String>,
    /// Maximum number of simultaneous connections (and so of messages in flight). Default 4.
    #[serde(default = "default_pool_size")]
    pub pool_size: usize,
    /// Limit for connecting (including greeting, TLS and AUTH) and, separately, for each
    /// message's whole SMTP transaction. Default 30 s. Written as `timeout_secs` in files.
    #[serde(
        default = "default_timeout",
        rename = "timeout_secs",
        deserialize_with = "de_secs"
    )]
    pub timeout: Duration,
    /// The name sent with `EHLO`. Default `"localhost"`.
    #[serde(default = "default_hello_name")]
    pub hello_name: String,
}

fn default_port() -> u16 {
    587
}
fn default_pool_size() -> usize {
    4
}
fn default_timeout() -> Duration {
    Duration::from_secs(30)
}
fn default_hello_name() -> String {
    "localhost".into()
}
fn de_secs<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    u64::deserialize(d).map(Duration::from_secs)
}

impl SmtpConfig {
    /// A configuration with the documented defaults for everything but the address.
    pub fn new(host: impl Into<String>, port: u16, security: Security) -> Self {
        Self {
            host: host.into(),
            port,
            security,
            username: None,
            password: None,
            pool_size: default_pool_size(),
            timeout: default_timeout(),
            hello_name: default_hello_name(),
        }
    }

    /// Sets the credentials used with `AUTH`.
    pub fn with_credentials(
        mut self,
        username: impl Into<String>,
        password: impl Into<String>,
    ) -> Self {
        self.username = Some(username.into());
        self.password = Some(password.into());
        self
    }
}

impl std::fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("pool_size", &self.pool_size)
            .field("timeout", &self.timeout)
            .field("hello_name", &self.hello_name)
            .finish()
    }
}

/// Why a message was not accepted.
///
/// [`SmtpError::is_permanent`] answers the delivery worker's only question: will sending this
/// same message again ever work? Only a 5xx reply to the message, or an address that cannot be
/// put in an envelope, is permanent. Everything else — 4xx, network trouble, timeouts, TLS or
/// authentication failures (a relay misconfiguration, not the message's fault) — is transient.
#[derive(Debug, thiserror::Error)]
pub enum SmtpError {
    /// The relay answered 5xx to `MAIL`, `RCPT` or the message data.
    #[error("rejected by the SMTP server: {code} {message}")]
    Permanent {
        /// The reply code, e.g. 550.
        code: u16,
        /// The reply text, e.g. "5.1.1 no such user".
        message: String,
    },
    /// The relay answered 4xx: try again later.
    #[error("deferred by the SMTP server: {code} {message}")]
    Transient {
        /// The reply code, e.g. 451.
        code: u16,
        /// The reply text.
        message: String,
    },
    /// An envelope address the SMTP client cannot use.
    #[error("invalid envelope address {0:?}")]
    InvalidAddress(String),
    /// Connecting, reading or writing failed, or the server spoke nonsense.
    #[error("SMTP connection to {server} failed: {message}")]
    Connection {
        /// `host:port`.
        server: String,
        /// What went wrong.
        message: String,
    },
    /// TLS or STARTTLS could not be set up (bad certificate, no STARTTLS offered…).
    #[error("TLS with {server} failed: {message}")]
    Tls {
        /// `host:port`.
        server: String,
        /// What went wrong.
        message: String,
    },
    /// The relay refused our credentials (or offers no mechanism we speak).
    #[error("SMTP authentication with {server} failed: {message}")]
    Auth {
        /// `host:port`.
        server: String,
        /// The server's reply or the reason; never contains the password.
        message: String,
    },
    /// No answer within the configured timeout.
    #[error("SMTP {stage} with {server} timed out after {after:?}")]
    Timeout {
        /// `host:port`.
        server: String,
        /// `"connect"` or `"send"`.
        stage: &'static str,
        /// The configured limit.
        after: Duration,
    },
}

impl SmtpError {
    /// Whether retrying the same message can never succeed (5xx or an unusable address).
    ///
    /// ```
    /// use beacon_mail::SmtpError;
    /// let e = SmtpError::Permanent { code: 550, message: "5.1.1 no such user".into() };
    /// assert!(e.is_permanent());
    /// let e = SmtpError::Transient { code: 451, message: "4.3.0 try later".into() };
    /// assert!(!e.is_permanent());
    /// ```
    pub fn is_permanent(&self) -> bool {
        matches!(self, Self::Permanent { .. } | Self::InvalidAddress(_))
    }

    /// The SMTP reply code, when the server answered with one.
    pub fn code(&self) -> Option<u16> {
        match self {
            Self::Permanent { code, .. } | Self::Transient { code, .. } => Some(*code),
            _ => None,
        }
    }
}
