//! Links in running text, for tracking the plain-text part.

use std::ops::Range;

use linkify::{LinkFinder, LinkKind};

/// The byte ranges of the `http://` and `https://` URLs in plain text, in order.
///
/// Punctuation around a URL stays outside it, as a reader means it: `<…>` and `(…)` around
/// it, and a trailing `.`, `,`, `:`, `;`, `!`, `?` or quote; brackets that belong to the URL
/// (balanced inside it, as in `…/Rust_(language)`) stay in. Finding is delegated to the
/// `linkify` crate, which implements these rules; other schemes are skipped.
///
/// ```
/// use beacon_tracking::links::find_urls;
/// let text = "See <https://a.example/x>, (https://b.example/y). Or https://c.example/z!";
/// let found: Vec<&str> = find_urls(text).into_iter().map(|r| &text[r]).collect();
/// assert_eq!(found, ["https://a.example/x", "https://b.example/y", "https://c.example/z"]);
/// ```
#[must_use]
pub fn find_urls(text: &str) -> Vec<Range<usize>> {
    let mut finder = LinkFinder::new();
    finder.kinds(&[LinkKind::Url]);
    finder
        .links(text)
        .filter(|link| {
            let s = link.as_str().as_bytes();
            s.get(..7)
                .is_some_and(|p| p.eq_ignore_ascii_case(b"http://"))
                || s.get(..8)
                    .is_some_and(|p| p.eq_ignore_ascii_case(b"https://"))
        })
        .map(|link| link.start()..link.end())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn urls(text: &str) -> Vec<&str> {
        find_urls(text).into_iter().map(|r| &text[r]).collect()
    }

    #[test]
    fn punctuation_stays_outside() {
        assert_eq!(urls("Go to https://x.com/a."), ["https://x.com/a"]);
        assert_eq!(urls("(see https://x.com/a)"), ["https://x.com/a"]);
        assert_eq!(
            urls("https://en.wikipedia.org/wiki/Rust_(language), ok"),
            ["https://en.wikipedia.org/wiki/Rust_(language)"]
        );
        assert_eq!(
            urls("\"https://x.com/q?a=1&b=2\""),
            ["https://x.com/q?a=1&b=2"]
        );
        assert_eq!(
            urls("[1]: https://x.com/p\n[2]: http://y.com/"),
            ["https://x.com/p", "http://y.com/"]
        );
        assert_eq!(
            urls("mailto:a@b.com ftp://x.com/ https://ü.de/ö"),
            ["https://ü.de/ö"]
        );
        assert!(urls("no links here, nor http:// alone").is_empty());
    }
}
