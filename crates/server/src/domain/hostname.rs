use std::fmt;
use std::net::IpAddr;

/// A DNS hostname a project may use for its tracking links: ASCII, lower-cased, no trailing
/// dot, no port, at least two labels.
///
/// Rules (RFC 1035 §2.3.1 as relaxed by RFC 1123 §2.1): at most 253 characters; labels of 1 to
/// 63 letters, digits and hyphens, neither starting nor ending with a hyphen; the last label
/// not all digits (RFC 3696 §2), so nothing that reads as an IPv4 address passes. Names under
/// `localhost` are refused (RFC 6761 §6.3: they always mean this machine). Internationalised
/// names are given in their ASCII (`xn--`) form.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Hostname(String);

/// Why a value is not a [`Hostname`]; each message says what to give instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HostnameError {
    #[error("give a hostname, e.g. links.example.com")]
    Empty,
    #[error(
        "{0:?} is an IP address: give a hostname (e.g. links.example.com) whose DNS points at Beacon"
    )]
    IpAddress(String),
    #[error(
        "{0:?} is a URL: give the hostname alone (e.g. links.example.com); the scheme is the `scheme` field"
    )]
    Url(String),
    #[error("{0:?} is not a hostname: {1}")]
    Invalid(String, &'static str),
}

impl Hostname {
    /// Parses user input: surrounding space and one trailing dot are dropped, letters are
    /// lower-cased.
    ///
    /// # Errors
    /// [`HostnameError`] naming what is wrong (empty, an IP address, a URL, or which rule).
    pub fn parse(input: &str) -> Result<Hostname, HostnameError> {
        let raw = input.trim();
        if raw.is_empty() {
            return Err(HostnameError::Empty);
        }
        let bare = raw.trim_start_matches('[').trim_end_matches(']');
        if bare.parse::<IpAddr>().is_ok() {
            return Err(HostnameError::IpAddress(raw.to_string()));
        }
        if raw.contains("://") || raw.contains('/') {
            return Err(HostnameError::Url(raw.to_string()));
        }
        let bad = |why| Err(HostnameError::Invalid(raw.to_string(), why));
        if !raw.is_ascii() {
            return bad("write an internationalised name in its ASCII form (xn--…)");
        }
        if raw.contains(':') {
            return bad("no port: Beacon's links use the scheme's own port");
        }
        let name = raw.strip_suffix('.').unwrap_or(raw).to_ascii_lowercase();
        if name.len() > 253 {
            return bad("longer than 253 characters");
        }
        let labels: Vec<&str> = name.split('.').collect();
        if labels.len() < 2 {
            return bad("give a full name with a dot, e.g. links.example.com");
        }
        for label in &labels {
            if label.is_empty() || label.len() > 63 {
                return bad("each part between dots must be 1 to 63 characters");
            }
            if !label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            {
                return bad("only letters, digits, hyphens and dots are allowed");
            }
            if label.starts_with('-') || label.ends_with('-') {
                return bad("a part may not start or end with a hyphen");
            }
        }
        let last = labels[labels.len() - 1];
        if last.bytes().all(|b| b.is_ascii_digit()) {
            return bad("the last part may not be all digits");
        }
        if last == "localhost" {
            return bad("names under localhost always mean this machine");
        }
        Ok(Hostname(name))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Hostname {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostnames_are_normalised() {
        assert_eq!(
            Hostname::parse(" Links.Example.COM. ").unwrap().as_str(),
            "links.example.com"
        );
        assert_eq!(
            Hostname::parse("xn--bcher-kva.example").unwrap().as_str(),
            "xn--bcher-kva.example"
        );
    }

    #[test]
    fn bad_input_says_what_is_wrong() {
        for ip in ["10.0.0.1", "::1", "[2001:db8::1]"] {
            assert!(
                matches!(Hostname::parse(ip), Err(HostnameError::IpAddress(_))),
                "{ip}"
            );
        }
        assert!(matches!(
            Hostname::parse("https://links.example.com"),
            Err(HostnameError::Url(_))
        ));
        assert_eq!(Hostname::parse(""), Err(HostnameError::Empty));
        for bad in [
            "localhost",
            "a.localhost",
            "links",
            "links.example.com:443",
            "-a.example.com",
            "a_b.example.com",
            "a..example.com",
            "1.2.3.4.5",
            "bücher.example",
            "a b.example",
            &format!("{}.example", "a".repeat(64)),
            &format!("{}example", "a.".repeat(127)),
        ] {
            assert!(
                matches!(Hostname::parse(bad), Err(HostnameError::Invalid(..))),
                "{bad}"
            );
        }
    }
}
