use std::fmt;

/// A syntactically valid email address, lower-cased so a contact has one identity.
///
/// The check is deliberately practical rather than RFC 5321-complete: it accepts what mail
/// providers accept and refuses what would break an SMTP envelope or a header (spaces, control
/// characters, angle brackets, a missing or dotless domain).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EmailAddress(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0:?} is not a valid email address")]
pub struct EmailAddressError(pub String);

impl EmailAddress {
    pub fn parse(input: &str) -> Result<EmailAddress, EmailAddressError> {
        let s = input.trim();
        let bad = || EmailAddressError(input.to_string());
        if s.is_empty() || s.len() > 254 {
            return Err(bad());
        }
        let (local, domain) = s.rsplit_once('@').ok_or_else(bad)?;
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.starts_with('.')
            && !local.ends_with('.')
            && local.chars().all(|c| {
                !c.is_control()
                    && !c.is_whitespace()
                    && !matches!(
                        c,
                        '<' | '>' | '@' | ',' | ';' | '"' | '(' | ')' | '[' | ']' | '\\'
                    )
            });
        let domain_ok = domain.contains('.')
            && domain.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_alphanumeric() || c == '-')
            });
        if local_ok && domain_ok {
            Ok(EmailAddress(s.to_lowercase()))
        } else {
            Err(bad())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_addresses() {
        for ok in [
            "a@b.co",
            "First.Last+tag@Example.COM",
            "x@sub.example.org",
            "ü@exämple.de",
        ] {
            assert!(EmailAddress::parse(ok).is_ok(), "{ok}");
        }
        assert_eq!(EmailAddress::parse(" A@B.co ").unwrap().as_str(), "a@b.co");
    }

    #[test]
    fn refuses_what_would_break_an_envelope() {
        for bad in [
            "",
            "plain",
            "@b.co",
            "a@",
            "a@b",
            "a b@c.co",
            "a@b .co",
            "<a@b.co>",
            "a@b.co\r\nBcc: x@y.z",
            "a@-b.co",
            "a@b..co",
            ".a@b.co",
            "a,b@c.co",
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad:?}");
        }
    }
}
