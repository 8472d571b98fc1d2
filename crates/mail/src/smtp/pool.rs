//! The connection pool and one message's SMTP transaction.

use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lettre::Address;
use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use tokio::net::TcpStream;
use tokio::sync::Semaphore;

use super::transaction::{self, Failure};
use super::{Security, SmtpConfig, SmtpError, tls};

/// A connection idle longer than this is checked with `NOOP` before use: relays close idle
/// connections (Postfix after 300 s) and restarts drop them, and finding out *before* the
/// transaction is what keeps a retry from ever sending a message twice.
const CHECK_AFTER_IDLE: Duration = Duration::from_secs(2);
/// Idle connections older than this are closed instead of reused.
const MAX_IDLE: Duration = Duration::from_secs(60);

/// The relay's final reply to an accepted message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpAccepted {
    /// The whole reply, code first, e.g. `"250 2.0.0 Ok: queued as ABC"`; multi-line replies are
    /// joined with spaces. Store it: it holds the relay's queue id for tracing a delivery.
    pub reply: String,
}

/// Up to `pool_size` reusable SMTP connections to one relay. Cheap to clone (shared inside).
///
/// Connections are opened lazily, reused while they work, and discarded after any error. A
/// reused connection that turns out dead before the message was handed over is replaced by a
/// fresh one once; the error is returned only if the fresh connection fails too.
///
/// ```no_run
/// # async fn demo() -> Result<(), beacon_mail::SmtpError> {
/// use beacon_mail::{Security, SmtpConfig, SmtpPool};
///
/// let pool = SmtpPool::new(SmtpConfig::new("127.0.0.1", 2525, Security::Plain));
/// let raw = b"From: a@example.com\r\nTo: b@example.org\r\nSubject: hi\r\n\r\nhello\r\n";
/// let accepted = pool.send("a@example.com", &["b@example.org".to_string()], raw).await?;
/// println!("{}", accepted.reply);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct SmtpPool {
    inner: Arc<Inner>,
}

struct Inner {
    config: SmtpConfig,
    server: String,
    client_id: ClientId,
    /// At most `pool_size` connections exist, idle or busy: a permit is held for each send.
    slots: Semaphore,
    idle: Mutex<Vec<Idle>>,
    tls: TlsSetup,
}

enum TlsSetup {
    None,
    StartTls(TlsParameters),
    Implicit(Arc<rustls::ClientConfig>),
    /// Kept so the error is reported on each send, like any other relay problem.
    Broken(String),
}

struct Idle {
    conn: AsyncSmtpConnection,
    since: Instant,
}

impl std::fmt::Debug for SmtpPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpPool")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl SmtpPool {
    /// Creates the pool; no connection is opened until the first [`SmtpPool::send`].
    /// A `pool_size` of 0 is treated as 1.
    pub fn new(config: SmtpConfig) -> Self {
        let tls = match config.security {
            Security::Plain => TlsSetup::None,
            Security::StartTls => match tls::starttls_parameters(&config.host) {
                Ok(params) => TlsSetup::StartTls(params),
                Err(e) => TlsSetup::Broken(e),
            },
            Security::Tls => match tls::implicit_tls_config() {
                Ok(cfg) => TlsSetup::Implicit(cfg),
                Err(e) => TlsSetup::Broken(e.to_string()),
            },
        };
        let client_id = match config.hello_name.parse::<IpAddr>() {
            Ok(IpAddr::V4(ip)) => ClientId::Ipv4(ip),
            Ok(IpAddr::V6(ip)) => ClientId::Ipv6(ip),
            Err(_) => ClientId::Domain(config.hello_name.clone()),
        };
        let size = config.pool_size.max(1);
        Self {
            inner: Arc::new(Inner {
                server: format!("{}:{}", config.host, config.port),
                client_id,
                slots: Semaphore::new(size),
                idle: Mutex::new(Vec::with_capacity(size)),
                tls,
                config,
            }),
        }
    }

    /// The configuration the pool was created with.
    pub fn config(&self) -> &SmtpConfig {
        &self.inner.config
    }

    /// Number of connections currently idle in the pool (for tests and metrics).
    pub fn idle_connections(&self) -> usize {
        self.inner.idle_list().len()
    }

    /// Sends one already built message (see [`crate::build`]) to `recipients`.
    ///
    /// `envelope_from` is the `MAIL FROM` address (the bounce address); `""` sends the null
    /// sender `<>`. If any recipient is refused, nothing is sent and the refusal is returned,
    /// so send to one recipient per call when recipients must succeed or fail separately.
    /// Waits for a free connection when all `pool_size` are busy.
    #[tracing::instrument(skip_all, fields(server = %self.inner.server, rcpts = recipients.len(), bytes = raw.len()))]
    pub async fn send(
        &self,
        envelope_from: &str,
        recipients: &[String],
        raw: &[u8],
    ) -> Result<SmtpAccepted, SmtpError> {
        let envelope = envelope(envelope_from, recipients)?;
        let inner = &*self.inner;
        let _slot = inner
            .slots
            .acquire()
            .await
            .expect("the semaphore is never closed");

        if let Some(mut conn) = inner.take_idle().await {
            match inner.transaction(&mut conn, &envelope, raw).await {
                Ok(accepted) => {
                    inner.put_back(conn);
                    return Ok(accepted);
                }
                // The server never answered this transaction: the connection died while idle.
                Err(SmtpError::Connection { message, .. }) => {
                    tracing::debug!(%message, "pooled SMTP connection broken; reconnecting");
                }
                Err(e) => return Err(e),
            }
        }
        let mut conn = inner.connect().await?;
        let accepted = inner.transaction(&mut conn, &envelope, raw).await?;
        inner.put_back(conn);
        Ok(accepted)
    }

    /// Closes idle connections politely (`QUIT`). Busy ones close when their send finishes
    /// and the pool is dropped.
    pub async fn close(&self) {
        let idle: Vec<Idle> = std::mem::take(&mut *self.inner.idle_list());
        for mut idle in idle {
            let _ = tokio::time::timeout(Duration::from_secs(1), idle.conn.quit()).await;
        }
    }
}

impl Inner {
    fn idle_list(&self) -> std::sync::MutexGuard<'_, Vec<Idle>> {
        // A panic while holding this lock cannot leave the Vec inconsistent.
        self.idle.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The most recently used idle connection that is still alive, if any.
    async fn take_idle(&self) -> Option<AsyncSmtpConnection> {
        loop {
            // Most recent first: it is the likeliest to be alive, and older ones age out.
            let Idle { mut conn, since } = self.idle_list().pop()?;
            let idle_for = since.elapsed();
            if idle_for > MAX_IDLE {
                // Everything below it is older still.
                self.idle_list().clear();
                return None;
            }
            if idle_for < CHECK_AFTER_IDLE {
                return Some(conn);
            }
            let alive = tokio::time::timeout(self.config.timeout, conn.test_connected()).await;
            if matches!(alive, Ok(true)) {
                return Some(conn);
            }
        }
    }

    fn put_back(&self, conn: AsyncSmtpConnection) {
        if !conn.has_broken() {
            self.idle_list().push(Idle {
                conn,
                since: Instant::now(),
            });
        }
    }

    async fn connect(&self) -> Result<AsyncSmtpConnection, SmtpError> {
        let limit = self.config.timeout;
        match tokio::time::timeout(limit, self.connect_inner()).await {
            Ok(result) => result,
            Err(_) => Err(SmtpError::Timeout {
                server: self.server.clone(),
                stage: "connect",
                after: limit,
            }),
        }
    }

    async fn connect_inner(&self) -> Result<AsyncSmtpConnection, SmtpError> {
        let conn_err = |message: String| SmtpError::Connection {
            server: self.server.clone(),
            message,
        };
        let tls_err = |message: String| SmtpError::Tls {
            server: self.server.clone(),
            message,
        };
        if let TlsSetup::Broken(e) = &self.tls {
            return Err(tls_err(e.clone()));
        }
        let tcp = TcpStream::connect((self.config.host.as_str(), self.config.port))
            .await
            .map_err(|e| conn_err(e.to_string()))?;
        // The reason this module exists: see the module docs.
        tcp.set_nodelay(true).map_err(|e| conn_err(e.to_string()))?;

        let mut conn = if let TlsSetup::Implicit(cfg) = &self.tls {
            let stream = tls::connect_implicit(cfg.clone(), &self.config.host, tcp)
                .await
                .map_err(|e| tls_err(e.to_string()))?;
            AsyncSmtpConnection::connect_with_transport(Box::new(stream), &self.client_id).await
        } else {
            AsyncSmtpConnection::connect_with_transport(Box::new(tcp), &self.client_id).await
        }
        .map_err(|e| self.map_err(e))?;

        if let TlsSetup::StartTls(params) = &self.tls {
            conn.starttls(params.clone(), &self.client_id)
                .await
                .map_err(|e| tls_err(error_text(&e)))?;
        }
        if let Some(username) = &self.config.username {
            let credentials = Credentials::new(
                username.clone(),
                self.config.password.clone().unwrap_or_default(),
            );
            conn.auth(&[Mechanism::Plain, Mechanism::Login], &credentials)
                .await
                .map_err(|e| SmtpError::Auth {
                    server: self.server.clone(),
                    // lettre's error holds the server reply only, never the credentials.
                    message: error_text(&e),
                })?;
        }
        Ok(conn)
    }

    async fn transaction(
        &self,
        conn: &mut AsyncSmtpConnection,
        envelope: &Envelope,
        raw: &[u8],
    ) -> Result<SmtpAccepted, SmtpError> {
        let limit = self.config.timeout;
        match tokio::time::timeout(limit, transaction::send(conn, envelope, raw)).await {
            Ok(Ok(response)) => {
                let mut reply = response.code().to_string();
                for line in response.message() {
                    reply.push(' ');
                    reply.push_str(line);
                }
                Ok(SmtpAccepted { reply })
            }
            Ok(Err(Failure::Smtp(e))) => Err(self.map_err(e)),
            Ok(Err(Failure::Client(message))) => Err(SmtpError::Connection {
                server: self.server.clone(),
                message,
            }),
            // Dropping the connection (the caller does not put it back) closes the socket, so a
            // late reply can never be read as the answer to the next message.
            Err(_) => Err(SmtpError::Timeout {
                server: self.server.clone(),
                stage: "send",
                after: limit,
            }),
        }
    }

    fn map_err(&self, e: lettre::transport::smtp::Error) -> SmtpError {
        let code = e
            .status()
            .and_then(|c| c.to_string().parse::<u16>().ok())
            .unwrap_or(0);
        if e.is_permanent() {
            SmtpError::Permanent {
                code,
                message: reply_text(&e),
            }
        } else if e.is_transient() {
            SmtpError::Transient {
                code,
                message: reply_text(&e),
            }
        } else {
            SmtpError::Connection {
                server: self.server.clone(),
                message: error_text(&e),
            }
        }
    }
}

fn envelope(from: &str, recipients: &[String]) -> Result<Envelope, SmtpError> {
    let parse = |s: &str| {
        s.parse::<Address>()
            .map_err(|_| SmtpError::InvalidAddress(s.to_owned()))
    };
    let from = if from.is_empty() {
        None
    } else {
        Some(parse(from)?)
    };
    let to = recipients
        .iter()
        .map(|r| parse(r))
        .collect::<Result<Vec<_>, _>>()?;
    Envelope::new(from, to).map_err(|_| SmtpError::InvalidAddress("(no recipients)".into()))
}

/// For 4xx/5xx lettre keeps the server's reply text as the error's source.
fn reply_text(e: &lettre::transport::smtp::Error) -> String {
    std::error::Error::source(e)
        .map(ToString::to_string)
        .unwrap_or_else(|| e.to_string())
}

/// The error with its whole cause chain, for operators.
fn error_text(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let s_text = s.to_string();
        // lettre's Display already appends its direct source; avoid saying it twice.
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    text
}
