//! A real, minimal SMTP server for tests (cargo feature `sink`).
//!
//! It speaks enough RFC 5321 for any client: `EHLO`/`HELO`, `MAIL FROM`, `RCPT TO`, `DATA`
//! (with dot-unstuffing), `RSET`, `NOOP`, `VRFY`, `QUIT`. It advertises `8BITMIME`, `SMTPUTF8`
//! and `SIZE`, and no `STARTTLS` or `AUTH` (it implements neither). Messages are kept in memory.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! use std::time::Duration;
//! use beacon_mail::sink::SmtpSink;
//! use beacon_mail::{Security, SmtpConfig, SmtpPool};
//!
//! let sink = SmtpSink::start().await;
//! let pool = SmtpPool::new(SmtpConfig::new("127.0.0.1", sink.port(), Security::Plain));
//! pool.send("a@example.com", &["b@example.org".into()], b"Subject: hi\r\n\r\nhello\r\n")
//!     .await
//!     .unwrap();
//! let got = sink.wait_for(1, Duration::from_secs(5)).await;
//! assert_eq!(got[0].rcpt_to, ["b@example.org"]);
//! # }
//! ```

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio::task::AbortHandle;

mod session;

/// Largest message accepted (advertised with `SIZE`); larger ones get `552`.
pub const MAX_MESSAGE_BYTES: usize = 50 * 1024 * 1024;

/// One message as the sink received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedMessage {
    /// The `MAIL FROM` address without angle brackets (`""` for the null sender).
    pub mail_from: String,
    /// Every accepted `RCPT TO` address, without angle brackets.
    pub rcpt_to: Vec<String>,
    /// The message exactly as sent, after dot-unstuffing, ending with its final CRLF.
    pub data: Vec<u8>,
}

/// A running sink. Stops (closing every connection) when dropped.
#[derive(Debug)]
pub struct SmtpSink {
    addr: SocketAddr,
    shared: Arc<Shared>,
    acceptor: AbortHandle,
}

#[derive(Debug, Default)]
pub(crate) struct Shared {
    messages: Mutex<Vec<ReceivedMessage>>,
    arrived: Notify,
    /// Replies to give to the next DATA commands, instead of accepting the message.
    failures: Mutex<VecDeque<String>>,
    /// The reply to an accepted message, `{id}` standing for its queue id (see
    /// [`SmtpSink::set_accept_reply`]); `None` for the default.
    accept_reply: Mutex<Option<String>>,
    sessions: Mutex<Vec<AbortHandle>>,
    connections: AtomicUsize,
    queued: AtomicUsize,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Nothing here can be left half-updated by a panic; keep serving.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    pub(crate) fn take_failure(&self) -> Option<String> {
        lock(&self.failures).pop_front()
    }

    /// Stores the message and returns the reply that accepts it.
    pub(crate) fn deliver(&self, message: ReceivedMessage) -> String {
        let id = self.queued.fetch_add(1, Ordering::Relaxed) + 1;
        lock(&self.messages).push(message);
        self.arrived.notify_waiters();
        match lock(&self.accept_reply).as_deref() {
            Some(reply) => reply.replace("{id}", &id.to_string()),
            None => format!("250 2.0.0 Ok: queued as SINK{id}"),
        }
    }
}

impl SmtpSink {
    /// Starts a sink on `127.0.0.1` with a free port.
    ///
    /// # Panics
    /// If no loopback port can be bound (a broken test machine).
    pub async fn start() -> Self {
        Self::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .expect("bind an SMTP sink on 127.0.0.1")
    }

    /// Starts a sink on a given address, e.g. the address of a sink that was just dropped to
    /// simulate a relay restart.
    pub async fn bind(addr: SocketAddr) -> std::io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::default());
        let accept_shared = shared.clone();
        let acceptor = tokio::spawn(async move {
            loop {
                let Ok((stream, _peer)) = listener.accept().await else {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                };
                accept_shared.connections.fetch_add(1, Ordering::Relaxed);
                let _ = stream.set_nodelay(true);
                let task = tokio::spawn(session::run(stream, accept_shared.clone()));
                let mut sessions = lock(&accept_shared.sessions);
                sessions.retain(|h| !h.is_finished());
                sessions.push(task.abort_handle());
            }
        })
        .abort_handle();
        Ok(Self {
            addr,
            shared,
            acceptor,
        })
    }

    /// The address the sink listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The port the sink listens on.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Every message accepted so far, in order of acceptance.
    pub fn messages(&self) -> Vec<ReceivedMessage> {
        lock(&self.shared.messages).clone()
    }

    /// How many TCP connections have been accepted so far (to check connection reuse).
    pub fn connections_accepted(&self) -> usize {
        self.shared.connections.load(Ordering::Relaxed)
    }

    /// Waits until at least `n` messages were accepted or `timeout` passes, then returns all
    /// messages so far — possibly fewer than `n` on timeout, so assert on the length.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<ReceivedMessage> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            // Register interest before checking, so an arrival in between is not missed.
            let arrived = self.shared.arrived.notified();
            tokio::pin!(arrived);
            arrived.as_mut().enable();
            let messages = self.messages();
            if messages.len() >= n {
                return messages;
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                return self.messages();
            }
        }
    }

    /// Makes the next `n` `DATA` transactions end with `reply` instead of acceptance, e.g.
    /// `"451 4.3.0 try later"` (transient) or `"550 5.1.1 no such user"` (permanent). The
    /// message is then not stored. Calls add up: replies are used in the order queued.
    ///
    /// # Panics
    /// If `reply` does not start with a 4xx or 5xx code (it would confuse the test, not the
    /// client), or contains a line break.
    pub fn fail_next(&self, n: usize, reply: &str) {
        let b = reply.as_bytes();
        assert!(
            b.len() >= 3
                && matches!(b[0], b'4' | b'5')
                && b[1..3].iter().all(u8::is_ascii_digit)
                && !reply.contains(['\r', '\n']),
            "fail_next needs a one-line 4xx/5xx reply, got {reply:?}"
        );
        lock(&self.shared.failures).extend(std::iter::repeat_n(reply.to_owned(), n));
    }

    /// Accepts every following message with `reply`, where `{id}` stands for the message's
    /// queue id (1, 2, …), instead of `250 2.0.0 Ok: queued as SINK{id}` — e.g. Amazon SES's
    /// `"250 Ok 0100018c-{id}-000000"`, whose last word is SES's message id.
    ///
    /// # Panics
    /// If `reply` does not start with a 2xx code, or contains a line break.
    pub fn set_accept_reply(&self, reply: &str) {
        let b = reply.as_bytes();
        assert!(
            b.len() >= 3
                && b[0] == b'2'
                && b[1..3].iter().all(u8::is_ascii_digit)
                && !reply.contains(['\r', '\n']),
            "set_accept_reply needs a one-line 2xx reply, got {reply:?}"
        );
        *lock(&self.shared.accept_reply) = Some(reply.to_owned());
    }

    /// Closes every open client connection (abruptly, without a `421`), as a relay restart
    /// or an idle timeout would; the sink keeps listening.
    pub fn drop_connections(&self) {
        for session in lock(&self.shared.sessions).drain(..) {
            session.abort();
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.acceptor.abort();
        self.drop_connections();
    }
}
