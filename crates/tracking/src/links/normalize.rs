//! A link's destination, normalised as the WHATWG URL Standard does.

use url::Url;

/// The destination of an `href` value (already HTML-decoded), or `None` when Beacon leaves the
/// link as written.
///
/// The rule is the URL a browser would navigate to had the link not been tracked:
/// 1. C0 controls and spaces around the value are removed (the URL parser does the same, and
///    also drops tabs and line breaks inside it);
/// 2. a protocol-relative `//host/…` becomes `https://host/…`: an email has no page of its own
///    to be relative to, and resolving against Beacon's host would send the reader there;
/// 3. the value must then start with `http://` or `https://` (any case) and a host — `https:x`,
///    `https:///x` and `https:\\x`, which browsers would treat differently depending on the
///    page around them, are left alone;
/// 4. it must parse under the WHATWG URL Standard (the `url` crate implements it); a value that
///    does not (a space in the host, a bad port, an invalid international name) is left alone,
///    as a browser could not follow it either;
/// 5. the result is the parsed URL's serialisation: scheme and host lower-cased, the host in
///    punycode, the default port dropped, `.`/`..` segments resolved, spaces, quotes and
///    non-ASCII characters percent-encoded as UTF-8 (each part with its own set: `'` only in a
///    query), and every escape already written kept byte for byte (`%2F` stays `%2F`, `%26`
///    stays `%26`; nothing is encoded twice).
///
/// The result is printable ASCII without spaces, so it can always be a `Location` header.
///
/// ```
/// use beacon_tracking::links::destination;
/// assert_eq!(destination(" https://Bücher.example/ä ö?q=ü#é ").as_deref(),
///            Some("https://xn--bcher-kva.example/%C3%A4%20%C3%B6?q=%C3%BC#%C3%A9"));
/// assert_eq!(destination("//cdn.example/a%2Fb").as_deref(), Some("https://cdn.example/a%2Fb"));
/// assert_eq!(destination("/relative"), None);
/// assert_eq!(destination("mailto:a@example.com"), None);
/// assert_eq!(destination("https://exa mple.com/"), None);
/// ```
#[must_use]
pub fn destination(href: &str) -> Option<String> {
    let href = href.trim_matches(|c: char| c <= ' ');
    let url = match href.strip_prefix("//") {
        Some(rest) if starts_authority(rest) => Url::parse(&format!("https://{rest}")),
        Some(_) => return None,
        None => Url::parse(absolute_http(href)?),
    }
    .ok()?;
    matches!(url.scheme(), "http" | "https").then(|| String::from(url))
}

/// `url` when it is `http://` or `https://` (any case) followed by something that can start a
/// host. Expects a trimmed value.
pub(crate) fn absolute_http(url: &str) -> Option<&str> {
    let lower = |n: usize| url.get(..n).map(str::to_ascii_lowercase);
    let rest = if lower(7).as_deref() == Some("http://") {
        &url[7..]
    } else if lower(8).as_deref() == Some("https://") {
        &url[8..]
    } else {
        return None;
    };
    starts_authority(rest).then_some(url)
}

fn starts_authority(rest: &str) -> bool {
    !matches!(rest.bytes().next(), None | Some(b'/' | b'?' | b'#' | b'\\'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_absolute_http_and_protocol_relative_links() {
        for (href, want) in [
            ("http://a", Some("http://a/")),
            ("HTTPS://A.b/c", Some("https://a.b/c")),
            (" https://x.com ", Some("https://x.com/")),
            ("//cdn.x/y", Some("https://cdn.x/y")),
            ("https://x.com:443/", Some("https://x.com/")),
            ("https://x.com/a/../b/./c", Some("https://x.com/b/c")),
            ("https://x.com/%2F%26%zz%", Some("https://x.com/%2F%26%zz%")),
            ("https://x.com/\t\na b", Some("https://x.com/a%20b")),
            (
                "https://x.com/it's?it's#it's",
                Some("https://x.com/it's?it%27s#it's"),
            ),
        ] {
            assert_eq!(destination(href).as_deref(), want, "{href:?}");
        }
        for no in [
            "",
            "#top",
            "/path",
            "mailto:a@b",
            "tel:1",
            "sms:1",
            "javascript:x",
            "ftp://a",
            "https://",
            "https:///x",
            "///x",
            "//",
            "http:x",
            "https:\\\\x",
            "https://a b/",
            "https://x.com:99999/",
            "https://xn--a.com/",
        ] {
            assert_eq!(destination(no), None, "{no:?}");
        }
    }
}
