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
//! | click, inline | `0x03` kind · key id · email id (16) · varint link index · tag (varint length + bytes, length+1, 0 = none) · URL (rest) |
//! | click, stored | `0x04` kind · key id · email id (16) · varint link index · destination id (16) · URL suffix (rest) |
//! | click, before normalising | `0x02`, laid out as `0x03`; opened only, never sealed (see below) |
//!
//! An open token is 46 characters; an inline click token about `4/3 × (36 + url + tag)`, a
//! stored one `4/3 × (52 + suffix)`. The rewriter stores the start of a destination (and seals
//! its id and the rest of the URL) when the inline token would make the tracked `href` 200
//! characters or more, so tracked links stay short whatever the destination's length
//! ([`DestinationId`]).
//!
//! Inline tokens carry the final `Location` (the destination normalised and with its campaign
//! parameters, see [`crate::links`]). Tokens of kind `0x02`, sealed before destinations were
//! normalised, carry the URL as written: opening one normalises it, so old emails' links
//! redirect as new ones do.
//!
//! ```
//! use beacon_tracking::token::{ClickToken, KeyRing, SigningKey, Target};
//!
//! let ring = KeyRing::new(SigningKey::new(1, [7; 32]), vec![]);
//! let email_id = [42; 16];
//! let open = ring.seal_open(email_id);
//! assert_eq!(ring.open_open(&open), Ok(email_id));
//!
//! let target = Target::Inline { url: "https://example.com/?a=1&b=2".into(), tag: None };
//! let click = ClickToken { email_id, link_index: 3, target };
//! let sealed = ring.seal_click(&click);
//! assert_eq!(ring.open_click(&sealed).unwrap(), click);
//! ```

mod keys;
mod wire;

pub use keys::{KeyRing, SigningKey};
pub(crate) use wire::{inline_click_len, stored_click_len};

/// The id of an email: the server's UUIDv7, as its 16 bytes.
pub type EmailId = [u8; 16];

/// What a click token carries.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClickToken {
    /// The email the link was sent in.
    pub email_id: EmailId,
    /// The link's position among the tracked links of that email (0-based, document order).
    pub link_index: u32,
    /// Where the link leads.
    pub target: Target,
}

/// Where a click token leads.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Target {
    /// Carried in the token.
    Inline {
        /// The `Location` to answer: the destination normalised, with its campaign parameters.
        url: String,
        /// The link's `data-beacon-tag`, if any.
        tag: Option<String>,
    },
    /// A long destination: its start (and the tag) stored when the email was queued, found
    /// by `id`; the `Location` is that stored start followed by `suffix`.
    Stored {
        /// The stored row's id.
        id: DestinationId,
        /// The end of the URL, carried in the token.
        suffix: String,
    },
}

impl ClickToken {
    /// A click token carrying its destination.
    #[must_use]
    pub fn inline(
        email_id: EmailId,
        link_index: u32,
        url: impl Into<String>,
        tag: Option<String>,
    ) -> Self {
        let url = url.into();
        Self {
            email_id,
            link_index,
            target: Target::Inline { url, tag },
        }
    }
}

impl Target {
    /// The inline URL (`None` for a stored destination).
    #[must_use]
    pub fn url(&self) -> Option<&str> {
        match self {
            Target::Inline { url, .. } => Some(url),
            Target::Stored { .. } => None,
        }
    }

    /// The inline tag (`None` for no tag, or a stored destination).
    #[must_use]
    pub fn tag(&self) -> Option<&str> {
        match self {
            Target::Inline { tag, .. } => tag.as_deref(),
            Target::Stored { .. } => None,
        }
    }
}

/// The id of a stored destination: the first 128 bits of SHA-256 over its stored URL start and
/// tag, so one destination is stored once however many emails carry it, and a row's id proves
/// its content.
///
/// ```
/// use beacon_tracking::token::DestinationId;
/// let id = DestinationId::of("https://example.com/", None);
/// assert_eq!(id, DestinationId::of("https://example.com/", None));
/// assert_ne!(id, DestinationId::of("https://example.com/", Some("")));
/// assert_eq!(DestinationId::from_hex(&id.to_hex()), Some(id));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DestinationId(pub [u8; 16]);

impl DestinationId {
    /// The id of the destination `url` with `tag`.
    #[must_use]
    pub fn of(url: &str, tag: Option<&str>) -> Self {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        // Length-prefixed, so no (url, tag) pair can collide with another by shifting bytes.
        h.update((url.len() as u64).to_be_bytes());
        h.update(url.as_bytes());
        match tag {
            None => h.update([0]),
            Some(tag) => {
                h.update([1]);
                h.update(tag.as_bytes());
            }
        }
        let mut id = [0; 16];
        id.copy_from_slice(&h.finalize()[..16]);
        Self(id)
    }

    /// 32 lower-case hex digits (the stored form).
    #[must_use]
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Parses [`DestinationId::to_hex`]'s form.
    #[must_use]
    pub fn from_hex(hex: &str) -> Option<Self> {
        if hex.len() != 32 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let mut id = [0; 16];
        for (i, b) in id.iter_mut().enumerate() {
            *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
        }
        Some(Self(id))
    }
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
