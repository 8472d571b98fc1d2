//! Showing a delivered email without recording anything: the open pixel is taken out and every
//! tracked link points straight at its destination, so a preview (in a dashboard, a support
//! tool) can be loaded and clicked through without an open or a click.
//!
//! Which URLs are Beacon's is the caller's to judge ([`Fate`]): tokens are verified with the
//! caller's keys, and a deployment may have served its links from several hosts over time.

use lol_html::{RewriteStrSettings, element, rewrite_str};

use crate::html::decode_attribute;

/// What becomes of an element that points at `url` (an `href`, `src` or `background`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fate {
    /// Not Beacon's: left as written.
    Keep,
    /// A tracking pixel: an element that loads it (`src`) is removed, any other attribute
    /// that names it is dropped.
    Remove,
    /// A tracked link: points at this destination instead.
    Replace(String),
}

/// The HTML with every URL that `judge` (given the URL with character references decoded)
/// says is tracking removed or replaced. Everything else is passed through as written.
/// HTML that cannot be rewritten (lol_html refuses it) gives an empty string: showing
/// nothing is safe, showing the tracked original is not.
///
/// ```
/// use beacon_tracking::preview::{Fate, neutralise};
/// let html = r#"<a href="https://t.test/c/abc">Go</a><img src="https://t.test/o/xyz.gif">"#;
/// let out = neutralise(html, |url| match url {
///     "https://t.test/c/abc" => Fate::Replace("https://example.com/?a=1&b=2".into()),
///     "https://t.test/o/xyz.gif" => Fate::Remove,
///     _ => Fate::Keep,
/// });
/// assert_eq!(out, r#"<a href="https://example.com/?a=1&amp;b=2">Go</a>"#);
/// ```
#[must_use]
pub fn neutralise(html: &str, judge: impl Fn(&str) -> Fate) -> String {
    let handler = |el: &mut lol_html::html_content::Element<'_, '_>| {
        for attr in ["href", "src", "background"] {
            let Some(raw) = el.get_attribute(attr) else {
                continue;
            };
            match judge(decode_attribute(raw.trim()).as_ref()) {
                Fate::Keep => {}
                Fate::Remove if attr == "src" => {
                    el.remove();
                    return Ok(());
                }
                Fate::Remove => el.remove_attribute(attr),
                Fate::Replace(url) => {
                    // set_attribute escapes quotes but not `&`, which a browser could read as
                    // the start of a character reference.
                    el.set_attribute(attr, &url.replace('&', "&amp;"))?;
                }
            }
        }
        Ok(())
    };
    let settings = RewriteStrSettings::new()
        .append_element_content_handler(element!("[href], [src], [background]", handler));
    rewrite_str(html, settings).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::{Fate, neutralise};

    #[test]
    fn only_what_the_judge_names_changes() {
        let html = "<table background=\"https://track.test/o/p.gif\"><tr><td>\
                    <a href=\"https://track.test/c/1\" title=x>one</a>\
                    <a href=\"https://elsewhere.test/?a=1&amp;b=2\">two</a>\
                    <img src=\"https://cdn.test/logo.png\" alt=\"\"></td></tr></table>";
        let out = neutralise(html, |url| {
            if url.contains("/o/") {
                Fate::Remove
            } else if url == "https://track.test/c/1" {
                Fate::Replace("https://dest.test/\"quoted\"".into())
            } else {
                Fate::Keep
            }
        });
        assert!(!out.contains("track.test"), "{out}");
        assert!(out.starts_with("<table><tr>"), "the table stays: {out}");
        assert!(
            out.contains("href=\"https://dest.test/&quot;quoted&quot;\""),
            "{out}"
        );
        assert!(out.contains("href=\"https://elsewhere.test/?a=1&amp;b=2\""));
        assert!(out.contains("src=\"https://cdn.test/logo.png\""));
    }
}
