use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

/// A password a user chose: 10 to 1,024 characters (NIST SP 800-63B §5.1.1.2 asks for at least
/// 8 and for long ones to be allowed; 10 leaves room for nothing guessable). Hashing is
/// deliberately slow (argon2id, the crate's defaults: 19 MiB, 2 passes, RFC 9106's second
/// recommended option): call [`Password::hash`] and [`verify`] off the async threads.
pub struct Password(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PasswordError {
    #[error("the password must be at least {MIN_CHARS} characters")]
    TooShort,
    #[error("the password must be at most {MAX_CHARS} characters")]
    TooLong,
}

pub const MIN_CHARS: usize = 10;
pub const MAX_CHARS: usize = 1024;

impl Password {
    pub fn parse(raw: &str) -> Result<Password, PasswordError> {
        let n = raw.chars().count();
        if n < MIN_CHARS {
            Err(PasswordError::TooShort)
        } else if n > MAX_CHARS {
            Err(PasswordError::TooLong)
        } else {
            Ok(Password(raw.to_string()))
        }
    }

    /// The argon2id hash in PHC string form (`$argon2id$v=19$…`), with a fresh random salt.
    pub fn hash(&self) -> anyhow::Result<String> {
        let bytes: [u8; 16] = rand::random();
        let salt = SaltString::encode_b64(&bytes)
            .map_err(|e| anyhow::anyhow!("encoding a password salt: {e}"))?;
        Argon2::default()
            .hash_password(self.0.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| anyhow::anyhow!("hashing a password: {e}"))
    }
}

/// True when `raw` is the password behind `phc`. A malformed stored hash verifies nothing.
pub fn verify(raw: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| {
        Argon2::default()
            .verify_password(raw.as_bytes(), &h)
            .is_ok()
    })
}

/// A hash of no one's password, verified against when the address is unknown, so a sign-in
/// takes as long whether or not the account exists.
pub fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| {
        Password("decoy-password-nobody-has".into())
            .hash()
            .unwrap_or_default()
    })
}

#[cfg(test)]
mod tests {
    use super::{Password, PasswordError, verify};

    #[test]
    fn hashes_verify_only_their_password() {
        assert_eq!(
            Password::parse("short").err(),
            Some(PasswordError::TooShort)
        );
        let hash = Password::parse("correct horse battery")
            .unwrap()
            .hash()
            .unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify("correct horse battery", &hash));
        assert!(!verify("correct horse batterY", &hash));
        assert!(!verify("anything", "not a hash"));
    }
}
