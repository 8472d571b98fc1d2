//! The plain-text part's links, tracked on request (a project setting), after the HTML part.

use super::link::{Numbering, Sealer};
use super::{RewriteConfig, Rewritten};
use crate::links;
use crate::token::{EmailId, KeyRing};

/// Rewrites the http(s) URLs of a plain-text part through the click redirect, continuing the
/// email's HTML rewrite `parts`: a URL whose destination is one of the HTML part's tracked
/// links gets that link's index and tag (the same click in the statistics), any other gets the
/// next index; new links and stored destinations are added to `parts`.
///
/// Left as written: URLs found in running text whose destination was opted out in the HTML
/// part (`parts.opted_out`) or is never tracked by `config`, and text that does not parse as a
/// URL. URLs are found by [`links::find_urls`] (brackets and trailing punctuation stay outside).
///
/// ```
/// use beacon_tracking::rewrite::{RewriteConfig, rewrite_html, rewrite_text};
/// use beacon_tracking::token::{KeyRing, SigningKey};
///
/// let config = RewriteConfig::builder("https://t.example").build().unwrap();
/// let ring = KeyRing::new(SigningKey::new(1, [0; 32]), vec![]);
/// let html = r#"<a href="https://x.com/a">A</a> <a href="https://x.com/no" data-beacon-notrack>N</a>"#;
/// let mut parts = rewrite_html(html, &config, &ring, [1; 16]);
/// let text = rewrite_text("A [1]\nN [2]\n\n[1]: https://x.com/a\n[2]: https://x.com/no\nMore: <https://y.com/>.",
///                         &config, &ring, [1; 16], &mut parts);
/// assert_eq!(text.matches("https://t.example/c/").count(), 2);
/// assert!(text.contains("[2]: https://x.com/no\n"));
/// assert!(text.contains("More: <https://t.example/c/") && text.ends_with(">."));
/// assert_eq!(parts.links.len(), 2);
/// assert_eq!(parts.links[1].url, "https://y.com/");
/// ```
#[must_use]
pub fn rewrite_text(
    text: &str,
    config: &RewriteConfig,
    keyring: &KeyRing,
    email_id: EmailId,
    parts: &mut Rewritten,
) -> String {
    let mut sealer = Sealer::new(config, keyring, email_id);
    sealer.numbering = Numbering::continuing(std::mem::take(&mut parts.links));
    sealer.stored = std::mem::take(&mut parts.stored);
    sealer.opted_out = std::mem::take(&mut parts.opted_out);
    let mut out = String::with_capacity(text.len() + 512);
    let mut last = 0;
    for range in links::find_urls(text) {
        let found = &text[range.clone()];
        let Some(dest) = links::destination(found) else {
            continue;
        };
        if sealer.opted_out.contains(&dest)
            || config.is_excluded(found)
            || config.is_excluded(&dest)
        {
            continue;
        }
        let url = config.utm().apply(&dest);
        let index = match sealer.numbering.links.iter().find(|l| l.url == url) {
            Some(link) => link.index,
            None => sealer.numbering.push(url),
        };
        out.push_str(&text[last..range.start]);
        out.push_str(&sealer.click_url(index));
        last = range.end;
    }
    out.push_str(&text[last..]);
    parts.links = sealer.numbering.links;
    parts.stored = sealer.stored;
    parts.opted_out = sealer.opted_out;
    out
}
