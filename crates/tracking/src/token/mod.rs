//! Sealed open and click tokens.
//!
//! A token is `base64url(payload ‖ tag)` without padding, where `tag` is the first 16 bytes
//! (128 bits) of HMAC-SHA256 over the payload with the key named inside the payload. There is no
//! expiry: links in old emails keep working as long as their key stays in the [`KeyRing`]. The
//! alphabet is `A–Z a–z 0–9 - _`, so a token is always one safe URL path segment.
//!
//! Wire layout (see [`wire`](self) internals for the exact bytes):
//!
//! | token | payload |
//! |-------|---------|
//! | open  | `0x01` kind · key id · email id (16) |
//! | click | `0x02` kind · key id · email id (16) · varint link index · tag (varint length + bytes, length+1, 0 = none) · URL (rest) |
//!
//! An open token is 46 characters; a click token adds about `4/3 × (36 + url + tag)` characters,
//! i.e. a click URL is `base + "/c/" + 48 + ⌈url/3⌉`-ish characters longer than the original URL.
//!
//! ```
//! use beacon_tracking::token::{ClickToken, KeyRing, SigningKey};
//!
//! let ring = KeyRing::new(SigningKey::new(1, [7; 32]), vec![]);
//! let email_id = [42; 16];
//! let open = ring.seal_open(email_id);
//! assert_eq!(ring.open_open(&open), Ok(email_id));
//!
//! let click = ClickToken { email_id, link_index: 3, url: "https://example.com/?a=1&b=2".into(), tag: None };
//! let sealed = ring.seal_click(&click);
//! assert_eq!(ring.open_click(&sealed).unwrap(), click);
//! ```

mod keys;
mod wire;

pub use keys::{KeyRing, SigningKey};

/// The id of an email: the server's UUIDv7, as its 16 bytes.
pub type EmailId = [u8; 16];

/// What a click token carries.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClickToken {
    /// The email the link was sent in.
    pub email_id: EmailId,
    /// The link's position among the tracked links of that email (0-based, document order).
    pub link_index: u32,
    /// The original URL, exactly as the author meant it (entities decoded).
    pub url: String,
    /// The link's `data-beacon-tag`, if any.
    pub tag: Option<String>,
}

/// Why a token was rejected. Every altered, truncated or forged token gives one of these; none
/// of them ever yields data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not base64url, or too short to hold a payload and a tag.
    #[error("token is not well-formed")]
    Malformed,
    /// A valid token of the other kind (an open token given as a click token or vice versa), or
    /// an unknown kind byte.
    #[error("token is not of the expected kind")]
    WrongKind,
    /// The key id inside the token is not in the key ring.
    #[error("token was sealed with unknown key id {0}")]
    UnknownKey(u8),
    /// The tag does not match: the token was altered or forged.
    #[error("token signature does not match")]
    BadSignature,
    /// The tag matched but the payload does not decode (cannot happen for tokens this crate
    /// sealed).
    #[error("token payload is invalid")]
    InvalidPayload,
}

/// The URL of the open pixel for `token`: `{base}/o/{token}.gif`. `base` has no trailing slash.
///
/// ```
/// assert_eq!(beacon_tracking::token::open_url("https://t.example", "AbC"), "https://t.example/o/AbC.gif");
/// ```
#[must_use]
pub fn open_url(base: &str, token: &str) -> String {
    format!("{base}/o/{token}.gif")
}

/// The click redirect URL for `token`: `{base}/c/{token}`. `base` has no trailing slash.
///
/// ```
/// assert_eq!(beacon_tracking::token::click_url("https://t.example", "AbC"), "https://t.example/c/AbC");
/// ```
#[must_use]
pub fn click_url(base: &str, token: &str) -> String {
    format!("{base}/c/{token}")
}

/// Strips a file extension such as `.gif` from a path segment (`GET /o/{token}.gif`). Tokens never
/// contain a dot.
///
/// ```
/// assert_eq!(beacon_tracking::token::strip_extension("AbC.gif"), "AbC");
/// assert_eq!(beacon_tracking::token::strip_extension("AbC"), "AbC");
/// ```
#[must_use]
pub fn strip_extension(segment: &str) -> &str {
    segment.split_once('.').map_or(segment, |(token, _)| token)
}
