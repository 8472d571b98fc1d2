//! Campaign parameters (`utm_source`, `utm_medium`, `utm_campaign`, …) added to tracked links.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

/// Everything but RFC 3986's unreserved characters is percent-encoded in names and values.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Why a parameter set was refused. Each names the parameter.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UtmError {
    /// A name is empty, too long or holds characters outside `A–Z a–z 0–9 _ . -`.
    #[error("parameter name {0:?} must be 1 to 64 characters of A-Z, a-z, 0-9, _, . and -")]
    Name(String),
    /// A name appears twice (compared case-insensitively).
    #[error("parameter {0:?} is given twice")]
    Duplicate(String),
    /// A value is empty, longer than 200 bytes, or holds control characters.
    #[error("the value of {0:?} must be 1 to 200 bytes without control characters")]
    Value(String),
    /// More than [`UtmSet::MAX`] parameters.
    #[error("at most {} parameters", UtmSet::MAX)]
    TooMany,
}

/// An ordered, validated set of query parameters to add to tracked links' destinations.
///
/// [`UtmSet::apply`] adds them to a normalised destination: before any `#fragment`, after a `?`
/// (or an `&` when there is a query already), names and values percent-encoded, and never a
/// parameter the author already set in that link (names compared case-insensitively after
/// percent-decoding).
///
/// ```
/// use beacon_tracking::links::UtmSet;
/// let utm = UtmSet::new([("utm_source", "beacon"), ("utm_campaign", "Spring sale")]).unwrap();
/// assert_eq!(utm.apply("https://x.com/p#top"),
///            "https://x.com/p?utm_source=beacon&utm_campaign=Spring%20sale#top");
/// assert_eq!(utm.apply("https://x.com/?a=1&utm_source=news"),
///            "https://x.com/?a=1&utm_source=news&utm_campaign=Spring%20sale");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UtmSet {
    params: Vec<(String, String)>,
}

impl UtmSet {
    /// The most parameters a set may hold.
    pub const MAX: usize = 20;

    /// Checks and keeps `pairs` in order.
    ///
    /// # Errors
    /// [`UtmError`] naming the first bad parameter.
    pub fn new<N: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (N, V)>,
    ) -> Result<Self, UtmError> {
        let mut params: Vec<(String, String)> = Vec::new();
        for (name, value) in pairs {
            let (name, value) = (name.into(), value.into());
            let name_ok = (1..=64).contains(&name.len())
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
            if !name_ok {
                return Err(UtmError::Name(name));
            }
            if params.iter().any(|(n, _)| n.eq_ignore_ascii_case(&name)) {
                return Err(UtmError::Duplicate(name));
            }
            if !(1..=200).contains(&value.len()) || value.chars().any(char::is_control) {
                return Err(UtmError::Value(name));
            }
            params.push((name, value));
        }
        if params.len() > Self::MAX {
            return Err(UtmError::TooMany);
        }
        Ok(Self { params })
    }

    /// True when the set adds nothing.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.params.is_empty()
    }

    /// The parameters, in order.
    #[must_use]
    pub fn params(&self) -> &[(String, String)] {
        &self.params
    }

    /// `url` (a normalised destination, see [`super::destination`]) with the parameters it
    /// does not already have.
    #[must_use]
    pub fn apply(&self, url: &str) -> String {
        if self.params.is_empty() {
            return url.to_string();
        }
        let (head, fragment) = match url.find('#') {
            Some(at) => url.split_at(at),
            None => (url, ""),
        };
        let query = head.find('?').map(|at| &head[at + 1..]);
        let present = |name: &str| {
            query.is_some_and(|q| {
                q.split('&').any(|pair| {
                    let key = pair.split('=').next().unwrap_or_default().replace('+', " ");
                    percent_decode_str(&key)
                        .decode_utf8_lossy()
                        .eq_ignore_ascii_case(name)
                })
            })
        };
        let mut out = String::with_capacity(url.len() + 64);
        out.push_str(head);
        let mut sep = match query {
            None => "?",
            Some(q) if q.is_empty() || q.ends_with('&') => "",
            Some(_) => "&",
        };
        for (name, value) in self.params.iter().filter(|(n, _)| !present(n)) {
            out.push_str(sep);
            out.extend(utf8_percent_encode(name, COMPONENT));
            out.push('=');
            out.extend(utf8_percent_encode(value, COMPONENT));
            sep = "&";
        }
        out.push_str(fragment);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(pairs: &[(&str, &str)]) -> UtmSet {
        UtmSet::new(pairs.iter().copied()).unwrap()
    }

    #[test]
    fn joins_and_skips_as_the_author_wrote() {
        let utm = set(&[("utm_source", "b"), ("utm_medium", "e-mail & more/ü")]);
        let enc = "utm_source=b&utm_medium=e-mail%20%26%20more%2F%C3%BC";
        for (url, want) in [
            ("https://x.com/", format!("https://x.com/?{enc}")),
            ("https://x.com/?", format!("https://x.com/?{enc}")),
            ("https://x.com/?a=1&", format!("https://x.com/?a=1&{enc}")),
            (
                "https://x.com/?a=1#f?g",
                format!("https://x.com/?a=1&{enc}#f?g"),
            ),
            ("https://x.com/#", format!("https://x.com/?{enc}#")),
            (
                "https://x.com/?UTM_Source=z",
                "https://x.com/?UTM_Source=z&utm_medium=e-mail%20%26%20more%2F%C3%BC".into(),
            ),
            (
                "https://x.com/?utm%5Fsource=z&utm_medium",
                "https://x.com/?utm%5Fsource=z&utm_medium".into(),
            ),
        ] {
            assert_eq!(utm.apply(url), want, "{url}");
        }
        assert_eq!(
            UtmSet::default().apply("https://x.com/#a"),
            "https://x.com/#a"
        );
    }

    #[test]
    fn refuses_bad_sets() {
        assert_eq!(UtmSet::new([("", "x")]), Err(UtmError::Name(String::new())));
        assert_eq!(
            UtmSet::new([("a b", "x")]),
            Err(UtmError::Name("a b".into()))
        );
        assert_eq!(UtmSet::new([("a", "")]), Err(UtmError::Value("a".into())));
        assert_eq!(
            UtmSet::new([("a", "x\ny")]),
            Err(UtmError::Value("a".into()))
        );
        assert_eq!(
            UtmSet::new([("a", "1"), ("A", "2")]),
            Err(UtmError::Duplicate("A".into()))
        );
        let many: Vec<_> = (0..21).map(|i| (format!("p{i}"), "v")).collect();
        assert_eq!(UtmSet::new(many), Err(UtmError::TooMany));
    }
}
