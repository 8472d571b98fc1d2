//! Keys and the key ring: one signing key, any number of verifying keys for rotation.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::wire::{self, Kind, TAG_LEN};
use super::{ClickToken, DestinationId, EmailId, Target, TokenError};

type HmacSha256 = Hmac<Sha256>;

/// A secret key with its id. The id travels inside every token so that verification picks the
/// right key after a rotation.
///
/// `Debug` never prints the secret.
///
/// ```
/// use beacon_tracking::token::SigningKey;
/// let key = SigningKey::new(2, [0x5a; 32]);
/// assert_eq!(format!("{key:?}"), "SigningKey { id: 2, secret: <redacted> }");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct SigningKey {
    /// Key id, written into every token sealed with this key.
    pub id: u8,
    /// 256-bit secret. Generate it randomly; never log it.
    pub secret: [u8; 32],
}

impl SigningKey {
    /// A key with this id and secret.
    #[must_use]
    pub const fn new(id: u8, secret: [u8; 32]) -> Self {
        Self { id, secret }
    }
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey {{ id: {}, secret: <redacted> }}", self.id)
    }
}

/// Seals tokens with one key and opens tokens sealed with any of its keys.
///
/// The keyed HMAC state is computed once per key, so sealing costs two SHA-256 passes over the
/// payload and nothing for the key.
///
/// ```
/// use beacon_tracking::token::{KeyRing, SigningKey};
/// let old = KeyRing::new(SigningKey::new(1, [1; 32]), vec![]);
/// let token = old.seal_open([9; 16]);
/// // Rotate: sign with key 2, keep verifying key 1.
/// let new = KeyRing::new(SigningKey::new(2, [2; 32]), vec![SigningKey::new(1, [1; 32])]);
/// assert_eq!(new.open_open(&token), Ok([9; 16]));
/// ```
#[derive(Clone)]
pub struct KeyRing {
    signing: (u8, HmacSha256),
    /// Every key that verifies, the signing key included, indexed by id.
    verifying: Vec<(u8, HmacSha256)>,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<u8> = self.verifying.iter().map(|(id, _)| *id).collect();
        f.debug_struct("KeyRing")
            .field("signing_id", &self.signing.0)
            .field("verifying_ids", &ids)
            .finish()
    }
}

fn keyed(key: &SigningKey) -> HmacSha256 {
    // HMAC takes keys of any length; a 32-byte key cannot fail.
    HmacSha256::new_from_slice(&key.secret).expect("HMAC accepts any key length")
}

impl KeyRing {
    /// A ring that seals with `signing` and verifies with `signing` and every key of
    /// `verifying_extra`. When two keys share an id, the signing key wins, then the first extra.
    #[must_use]
    pub fn new(signing: SigningKey, verifying_extra: Vec<SigningKey>) -> Self {
        let mut verifying = vec![(signing.id, keyed(&signing))];
        for key in &verifying_extra {
            if verifying.iter().all(|(id, _)| *id != key.id) {
                verifying.push((key.id, keyed(key)));
            }
        }
        Self {
            signing: (signing.id, keyed(&signing)),
            verifying,
        }
    }

    /// The id of the signing key.
    #[must_use]
    pub fn signing_id(&self) -> u8 {
        self.signing.0
    }

    /// Seals an open token for `email_id` (46 URL-safe characters).
    #[must_use]
    pub fn seal_open(&self, email_id: EmailId) -> String {
        let mut payload = Vec::with_capacity(2 + 16 + TAG_LEN);
        wire::write_open(&mut payload, self.signing.0, email_id);
        self.seal(payload)
    }

    /// Seals a click token.
    #[must_use]
    pub fn seal_click(&self, click: &ClickToken) -> String {
        match &click.target {
            Target::Inline { url, tag } => {
                self.seal_click_parts(click.email_id, click.link_index, url, tag.as_deref())
            }
            Target::Stored { id, suffix } => {
                self.seal_click_stored(click.email_id, click.link_index, *id, suffix)
            }
        }
    }

    /// [`KeyRing::seal_click`] of an inline target from borrowed parts, without building a
    /// [`ClickToken`]. `url` should be the final `Location` (see [`crate::links`]).
    ///
    /// ```
    /// # use beacon_tracking::token::{ClickToken, KeyRing, SigningKey, Target};
    /// let ring = KeyRing::new(SigningKey::new(1, [3; 32]), vec![]);
    /// let token = ring.seal_click_parts([1; 16], 0, "https://x.com/", Some("cta"));
    /// let Target::Inline { tag, .. } = ring.open_click(&token).unwrap().target else { panic!() };
    /// assert_eq!(tag.as_deref(), Some("cta"));
    /// ```
    #[must_use]
    pub fn seal_click_parts(
        &self,
        email_id: EmailId,
        link_index: u32,
        url: &str,
        tag: Option<&str>,
    ) -> String {
        let mut payload = Vec::with_capacity(wire::click_capacity(url, tag) + TAG_LEN);
        wire::write_click(
            &mut payload,
            self.signing.0,
            (email_id, link_index, url, tag),
        );
        self.seal(payload)
    }

    /// Seals a click token whose destination starts with what is stored under `id` and ends
    /// with `suffix` (`4/3 × (52 + suffix)` characters).
    #[must_use]
    pub fn seal_click_stored(
        &self,
        email_id: EmailId,
        link_index: u32,
        id: DestinationId,
        suffix: &str,
    ) -> String {
        let mut payload = Vec::with_capacity(2 + 16 + 5 + 16 + suffix.len() + TAG_LEN);
        let target = (id, suffix);
        wire::write_click_stored(&mut payload, self.signing.0, email_id, link_index, target);
        self.seal(payload)
    }

    /// Verifies an open token and returns its email id.
    ///
    /// # Errors
    /// Any [`TokenError`]: the token is malformed, of the wrong kind, sealed with an unknown key
    /// or altered.
    pub fn open_open(&self, token: &str) -> Result<EmailId, TokenError> {
        let payload = self.verify(token, |k| k == Kind::Open as u8)?;
        wire::read_open(&payload)
    }

    /// Verifies a click token and returns what it carries. An inline target's URL is the
    /// `Location` to answer (a token sealed before destinations were normalised is normalised
    /// here).
    ///
    /// # Errors
    /// As [`KeyRing::open_open`].
    pub fn open_click(&self, token: &str) -> Result<ClickToken, TokenError> {
        let payload = self.verify(token, Kind::is_click)?;
        wire::read_click(&payload)
    }

    fn seal(&self, mut payload: Vec<u8>) -> String {
        let mut mac = self.signing.1.clone();
        mac.update(&payload);
        payload.extend_from_slice(&mac.finalize().into_bytes()[..TAG_LEN]);
        wire::encode(&payload)
    }

    /// Decodes, checks kind and key, verifies the tag in constant time; returns the payload.
    fn verify(&self, token: &str, expected: fn(u8) -> bool) -> Result<Vec<u8>, TokenError> {
        let mut bytes = wire::decode(token)?;
        if bytes.len() < 2 + TAG_LEN {
            return Err(TokenError::Malformed);
        }
        if !expected(bytes[0]) {
            return Err(TokenError::WrongKind);
        }
        let key_id = bytes[1];
        let (_, key) = self
            .verifying
            .iter()
            .find(|(id, _)| *id == key_id)
            .ok_or(TokenError::UnknownKey(key_id))?;
        let tag = bytes.split_off(bytes.len() - TAG_LEN);
        let mut mac = key.clone();
        mac.update(&bytes);
        mac.verify_truncated_left(&tag)
            .map_err(|_| TokenError::BadSignature)?;
        Ok(bytes)
    }
}
