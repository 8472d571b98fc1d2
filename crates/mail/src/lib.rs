//! Outgoing email for Beacon: everything between "this email should go out" and bytes on the
//! wire.
//!
//! - [`message`]: build an RFC 5322 / MIME message with `mail-builder` ([`build`]), derive a
//!   plain-text alternative from HTML ([`html_to_text`]) and validate custom headers at the edge
//!   ([`validate_custom_header`]).
//! - [`smtp`]: a small pool of reusable SMTP connections ([`SmtpPool`]) built on lettre's
//!   low-level connection, with `TCP_NODELAY` set on every socket (lettre alone leaves Nagle on
//!   and manages ~23 messages/s per connection on loopback).
//! - `sink` (cargo feature `sink`): a real, minimal SMTP server on 127.0.0.1 for tests.
//!
//! ```
//! use beacon_mail::{build, Mailbox, OutgoingMessage};
//!
//! let msg = OutgoingMessage {
//!     message_id: "0190a1b2-c3d4@mail.example.com".into(),
//!     from: Mailbox::new("news@example.com").with_name("Example News"),
//!     to: vec![Mailbox::new("ada@example.org")],
//!     reply_to: None,
//!     subject: "Hello".into(),
//!     html: Some("<p>Hi <a href=\"https://example.com\">there</a></p>".into()),
//!     text: None,
//!     headers: vec![("List-Unsubscribe".into(), "<https://example.com/u/1>".into())],
//!     attachments: vec![],
//!     date: 1_700_000_000,
//! };
//! let raw = String::from_utf8(build(&msg).unwrap()).unwrap();
//! assert!(raw.contains("From: \"Example News\" <news@example.com>\r\n"));
//! assert!(raw.contains("List-Unsubscribe: <https://example.com/u/1>\r\n"));
//! ```
#![forbid(unsafe_code)]

pub mod message;
#[cfg(feature = "sink")]
pub mod sink;
pub mod smtp;
mod text;

pub use message::{
    Attachment, BuildError, Mailbox, OutgoingMessage, RESERVED_HEADERS, build,
    validate_custom_header,
};
pub use smtp::{Security, SmtpAccepted, SmtpConfig, SmtpError, SmtpPool};
pub use text::html_to_text;
