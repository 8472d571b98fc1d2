//! HTML → plain text for the `text/plain` alternative.

/// Column at which paragraphs are wrapped; 78 is RFC 5322's recommended line length.
const WRAP_WIDTH: usize = 78;

/// Renders HTML as readable plain text for the `text/plain` part of a message.
///
/// Links stay visible: the link text is followed by a footnote marker such as `[1]`, and the
/// footnotes (`[1]: https://…`) are listed at the end, so a reader of the text part can still
/// follow (tracked) links. Images without `alt` text (such as a tracking pixel) are left out.
/// Long URLs are never wrapped, so they stay clickable.
///
/// ```
/// let text = beacon_mail::html_to_text(
///     "<h1>Hi</h1><p>Read <a href=\"https://example.com/post\">the post</a>.</p>",
/// );
/// assert!(text.contains("Hi"));
/// assert!(text.contains("the post"));
/// assert!(text.contains("https://example.com/post"));
/// ```
pub fn html_to_text(html: &str) -> String {
    let rendered = html2text::config::plain()
        .link_footnotes(true)
        .no_link_wrapping()
        // Without this a deeply nested table can make html2text give up (TooNarrow) and we
        // would lose the whole text part; a line that is too wide is the lesser evil.
        .allow_width_overflow()
        .string_from_read(html.as_bytes(), WRAP_WIDTH);
    match rendered {
        Ok(text) => text,
        // html2text only fails on IO from a byte slice (impossible) or width problems (disabled
        // above); an empty alternative still leaves the HTML part intact.
        Err(err) => {
            tracing::warn!(error = %err, "html_to_text failed; sending an empty text part");
            String::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_link_urls_and_drops_pixel() {
        let text = html_to_text(
            "<p>Go <a href=\"https://t.example/c/abc\">here</a></p>\
             <img src=\"https://t.example/o/x.gif\" width=1 height=1>",
        );
        assert!(text.contains("here"), "{text}");
        assert!(text.contains("https://t.example/c/abc"), "{text}");
        assert!(!text.contains("o/x.gif"), "{text}");
    }

    #[test]
    fn empty_and_garbage_input_do_not_panic() {
        assert_eq!(html_to_text("").trim(), "");
        let _ = html_to_text("<<<>>><table><tr><td><table><tr><td>x");
    }
}
