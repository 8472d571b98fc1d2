//! Turning an [`OutgoingMessage`] into RFC 5322 bytes with `mail-builder`.
//!
//! Shape of the output:
//! - text and HTML → `multipart/alternative` (text first, as RFC 2046 wants the richest last);
//!   the text part is derived from the HTML with [`html_to_text`] when not given;
//! - only one of them → a single part;
//! - attachments → everything above wrapped in `multipart/mixed`.
//!
//! Non-ASCII in headers is RFC 2047-encoded and bodies are quoted-printable or base64, so the
//! output is 7-bit ASCII and needs no `8BITMIME` from the relay.

use std::borrow::Cow;

use mail_builder::MessageBuilder;
use mail_builder::headers::address::Address;
use mail_builder::headers::date::Date;
use mail_builder::headers::message_id::MessageId;
use mail_builder::headers::text::Text;

use crate::html_to_text;

/// Header names that only [`build`] writes; a custom header with one of these names
/// (compared case-insensitively) is refused with [`BuildError::ReservedHeader`].
///
/// Why refuse rather than let the caller win: these headers define the message's identity
/// (`Message-ID` is how bounces and tracking find the email), its addressing, or its MIME
/// structure; a second `Content-Type` or `From` would produce an ambiguous message that
/// receivers and spam filters treat differently. Use the dedicated fields instead.
pub const RESERVED_HEADERS: &[&str] = &[
    "From",
    "Sender",
    "To",
    "Cc",
    "Bcc",
    "Reply-To",
    "Subject",
    "Date",
    "Message-ID",
    "MIME-Version",
    "Content-Type",
    "Content-Transfer-Encoding",
    "Content-Disposition",
    "Return-Path",
];

/// A name and an address, as in `"Ada Lovelace" <ada@example.org>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mailbox {
    /// Display name; may be any Unicode (it is RFC 2047-encoded when needed).
    pub name: Option<String>,
    /// The address itself, `local@domain`, without angle brackets.
    pub email: String,
}

impl Mailbox {
    /// A mailbox with no display name.
    ///
    /// ```
    /// let m = beacon_mail::Mailbox::new("ada@example.org").with_name("Ada");
    /// assert_eq!(m.name.as_deref(), Some("Ada"));
    /// ```
    pub fn new(email: impl Into<String>) -> Self {
        Self {
            name: None,
            email: email.into(),
        }
    }

    /// Sets the display name.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }
}

/// A file attached to a message (`Content-Disposition: attachment`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// File name shown to the recipient; Unicode is allowed (RFC 2231-encoded).
    pub filename: String,
    /// A bare MIME type such as `application/pdf` (no parameters).
    pub content_type: String,
    /// The raw bytes; they are base64-encoded on the wire.
    pub content: Vec<u8>,
}

/// Everything needed to build one email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMessage {
    /// The Message-ID *without* angle brackets, e.g. `"<uuid>@<sending-domain>"` written as
    /// `0190a1b2-…@mail.example.com`. It is written as `Message-ID: <0190a1b2-…@mail.example.com>`.
    /// Callers choose it (rather than letting the builder invent one) so the email row can store
    /// it before sending and match bounces and replies against it later.
    pub message_id: String,
    /// The `From:` mailbox.
    pub from: Mailbox,
    /// The `To:` mailboxes (at least one).
    pub to: Vec<Mailbox>,
    /// Optional `Reply-To:`.
    pub reply_to: Option<Mailbox>,
    /// The subject; any Unicode, no line breaks.
    pub subject: String,
    /// HTML body, already rendered and tracking-rewritten.
    pub html: Option<String>,
    /// Plain-text body; derived from `html` with [`html_to_text`] when `None`.
    pub text: Option<String>,
    /// Extra headers such as `List-Unsubscribe`, in order; see [`validate_custom_header`].
    pub headers: Vec<(String, String)>,
    /// Files attached to the message.
    pub attachments: Vec<Attachment>,
    /// The `Date:` header, in Unix seconds (written in UTC).
    pub date: i64,
}

/// Why a message could not be built. Every variant is a problem with the input, so retrying the
/// same input will fail the same way.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    /// A header name or value (custom or built-in, e.g. `Subject`) contains CR or LF, which
    /// would let the text start new headers (header injection).
    #[error("header {header:?} contains a line break (CR or LF); remove it")]
    HeaderInjection {
        /// The header's name.
        header: String,
    },
    /// A custom header name is empty or has characters outside printable ASCII, or a colon.
    #[error("header name {name:?} is not valid: use printable ASCII without spaces or ':'")]
    InvalidHeaderName {
        /// The rejected name.
        name: String,
    },
    /// A custom header tries to set a header that [`build`] owns; see [`RESERVED_HEADERS`].
    #[error("header {name:?} cannot be set as a custom header; use the message's own field")]
    ReservedHeader {
        /// The rejected name as given.
        name: String,
    },
    /// An address is not of the form `local@domain` or contains characters that would break
    /// the header (spaces, angle brackets, commas, control characters).
    #[error("address {address:?} in {field} is not a valid email address")]
    InvalidAddress {
        /// Which field: `From`, `To`, `Reply-To`.
        field: &'static str,
        /// The rejected address.
        address: String,
    },
    /// The message id is empty, has angle brackets, whitespace or control characters, or no `@`.
    #[error("message id {0:?} is not valid: give `local@domain` without angle brackets")]
    InvalidMessageId(String),
    /// An attachment's content type is not a bare `type/subtype`.
    #[error("attachment {filename:?} has invalid content type {content_type:?}")]
    InvalidContentType {
        /// The attachment's file name.
        filename: String,
        /// The rejected content type.
        content_type: String,
    },
    /// No recipient in `to`.
    #[error("message has no recipient")]
    NoRecipients,
    /// Neither HTML, text nor attachments.
    #[error("message has no body: give html, text or an attachment")]
    NoBody,
}

/// Checks one custom header the way [`build`] will, so the API can refuse it up front with a
/// 4xx instead of the delivery worker failing later.
///
/// ```
/// use beacon_mail::{validate_custom_header, BuildError};
///
/// assert!(validate_custom_header("List-Unsubscribe", "<https://x.example/u>").is_ok());
/// assert!(matches!(
///     validate_custom_header("X-Campaign", "a\r\nBcc: victim@example.org"),
///     Err(BuildError::HeaderInjection { .. })
/// ));
/// assert!(matches!(
///     validate_custom_header("content-type", "text/plain"),
///     Err(BuildError::ReservedHeader { .. })
/// ));
/// ```
pub fn validate_custom_header(name: &str, value: &str) -> Result<(), BuildError> {
    if has_line_break(name) || has_line_break(value) {
        return Err(BuildError::HeaderInjection {
            header: name.to_owned(),
        });
    }
    // RFC 5322 §2.2: field-name = 1*ftext, ftext = %d33-57 / %d59-126.
    if name.is_empty() || !name.bytes().all(|b| (33..=126).contains(&b) && b != b':') {
        return Err(BuildError::InvalidHeaderName {
            name: name.to_owned(),
        });
    }
    if RESERVED_HEADERS
        .iter()
        .any(|reserved| reserved.eq_ignore_ascii_case(name))
    {
        return Err(BuildError::ReservedHeader {
            name: name.to_owned(),
        });
    }
    Ok(())
}

/// Builds the complete message (headers and body, CRLF line endings) ready for SMTP `DATA`.
///
/// Header order: plain-ASCII custom headers (verbatim), then `From`, `To`, `Reply-To`,
/// `Subject`, `Date`, `Message-ID`, non-ASCII custom headers (encoded),
/// `MIME-Version`, then the body's `Content-Type`. Fails with a [`BuildError`] naming the field
/// on any invalid input; nothing is silently dropped or rewritten.
///
/// ```
/// # use beacon_mail::{build, Mailbox, OutgoingMessage};
/// let msg = OutgoingMessage {
///     message_id: "1@example.com".into(),
///     from: Mailbox::new("a@example.com"),
///     to: vec![Mailbox::new("b@example.org").with_name("Bé")],
///     reply_to: None,
///     subject: "Grüße".into(),
///     html: None,
///     text: Some("hello".into()),
///     headers: vec![],
///     attachments: vec![],
///     date: 0,
/// };
/// let raw = build(&msg).unwrap();
/// assert!(raw.is_ascii());
/// assert!(String::from_utf8(raw).unwrap().contains("Message-ID: <1@example.com>"));
/// ```
pub fn build(msg: &OutgoingMessage) -> Result<Vec<u8>, BuildError> {
    validate_message_id(&msg.message_id)?;
    if msg.to.is_empty() {
        return Err(BuildError::NoRecipients);
    }
    if has_line_break(&msg.subject) {
        return Err(BuildError::HeaderInjection {
            header: "Subject".into(),
        });
    }
    for (name, value) in &msg.headers {
        validate_custom_header(name, value)?;
    }

    let mut builder =
        MessageBuilder::new()
            .from(address("From", &msg.from)?)
            .to(Address::new_list(
                msg.to
                    .iter()
                    .map(|m| address("To", m))
                    .collect::<Result<_, _>>()?,
            ));
    if let Some(reply_to) = &msg.reply_to {
        builder = builder.reply_to(address("Reply-To", reply_to)?);
    }
    builder = builder
        .subject(Text::new(msg.subject.as_str()))
        .date(Date::new(msg.date))
        .message_id(MessageId::new(msg.message_id.as_str()));
    // Plain-ASCII custom headers are written as they are, ahead of the builder's: mail-builder
    // RFC 2047-encodes any word too long for one folded line, and `List-Unsubscribe:
    // <https://…long token…>` encoded is unreadable to mail clients. Header order carries no
    // meaning (RFC 5322 §3.6), CR/LF were refused above, and a line stays under the 998-byte
    // limit. Non-ASCII values still go through the builder, which encodes them.
    let mut verbatim = Vec::new();
    for (name, value) in &msg.headers {
        if value.is_ascii() && name.len() + value.len() < 990 {
            verbatim.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
        } else {
            builder = builder.header(name.as_str(), Text::new(value.as_str()));
        }
    }

    let text: Option<Cow<'_, str>> = match (&msg.text, &msg.html) {
        (Some(text), _) => Some(Cow::Borrowed(text)),
        (None, Some(html)) => Some(Cow::Owned(html_to_text(html))),
        (None, None) => None,
    };
    if text.is_none() && msg.attachments.is_empty() {
        return Err(BuildError::NoBody);
    }
    if let Some(text) = text {
        builder = builder.text_body(text);
    }
    if let Some(html) = &msg.html {
        builder = builder.html_body(html.as_str());
    }
    for att in &msg.attachments {
        if has_line_break(&att.filename) {
            return Err(BuildError::HeaderInjection {
                header: "Content-Disposition".into(),
            });
        }
        if !is_bare_mime_type(&att.content_type) {
            return Err(BuildError::InvalidContentType {
                filename: att.filename.clone(),
                content_type: att.content_type.clone(),
            });
        }
        builder = builder.attachment(
            att.content_type.as_str(),
            att.filename.as_str(),
            att.content.as_slice(),
        );
    }

    let mut out = verbatim;
    builder.serialize(&mut out);
    Ok(out)
}

fn has_line_break(s: &str) -> bool {
    s.bytes().any(|b| b == b'\r' || b == b'\n')
}

fn address<'a>(field: &'static str, mailbox: &'a Mailbox) -> Result<Address<'a>, BuildError> {
    if let Some(name) = &mailbox.name
        && has_line_break(name)
    {
        return Err(BuildError::HeaderInjection {
            header: field.into(),
        });
    }
    if !is_plausible_email(&mailbox.email) {
        return Err(BuildError::InvalidAddress {
            field,
            address: mailbox.email.clone(),
        });
    }
    Ok(Address::new_address(
        mailbox.name.as_deref().filter(|n| !n.is_empty()),
        mailbox.email.as_str(),
    ))
}

/// Not a full RFC 5321 parser (the server parses addresses at the edge); this only guarantees
/// the address cannot break out of its header or the SMTP envelope.
fn is_plausible_email(email: &str) -> bool {
    let Some((local, domain)) = email.rsplit_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.is_empty()
        && !email
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || matches!(c, '<' | '>' | ',' | ';'))
}

fn validate_message_id(id: &str) -> Result<(), BuildError> {
    let ok = id.contains('@')
        && !id.starts_with('@')
        && !id.ends_with('@')
        && id
            .bytes()
            .all(|b| (33..=126).contains(&b) && !matches!(b, b'<' | b'>'));
    if ok {
        Ok(())
    } else {
        Err(BuildError::InvalidMessageId(id.to_owned()))
    }
}

/// `type/subtype` with RFC 2045 token characters only.
fn is_bare_mime_type(ct: &str) -> bool {
    let token = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| (33..=126).contains(&b) && !b"()<>@,;:\\\"/[]?=".contains(&b))
    };
    matches!(ct.split_once('/'), Some((t, s)) if token(t) && token(s))
}
