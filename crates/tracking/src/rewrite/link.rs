//! Per-link decisions shared by the one-shot, streaming and compiled paths: is this URL
//! tracked, which index does it get, and what replaces its `href`.

use std::ops::Range;

use super::{LinkInfo, RewriteConfig};
use crate::html;
use crate::token::{EmailId, KeyRing, open_url};

/// Where a link was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LinkKind {
    /// `<a href>` / `<area href>` in the document.
    Html,
    /// A tag inside a `<!--[if mso]>` comment: a VML button or an Outlook-only link.
    Conditional,
}

/// A link element found by the scanner; every range is an absolute byte offset in the input.
#[derive(Debug, Clone)]
pub(crate) struct Site {
    pub kind: LinkKind,
    /// The whole start tag.
    pub tag: Range<usize>,
    /// The raw `href` value (quotes excluded) and its outer range (quotes included).
    pub href_raw: Range<usize>,
    pub href_outer: Range<usize>,
    pub tag_raw: Option<Range<usize>>,
    pub notrack: bool,
    /// Marker attributes to delete, with their leading whitespace; sorted.
    pub removals: Vec<Range<usize>>,
    /// A control attribute (`clicktracking`) whose value holds a `{{…}}`: the decision would
    /// depend on the recipient, so a compiled template falls back to the slow path.
    pub control_has_placeholder: bool,
}

/// The trimmed URL when `url` is absolute `http://` or `https://` with something after `//`.
pub(crate) fn absolute_http(url: &str) -> Option<&str> {
    // The URL parser ignores leading and trailing C0 controls and spaces; so do we.
    let url = url.trim_matches(|c: char| c <= ' ');
    let lower = |n: usize| url.get(..n).map(str::to_ascii_lowercase);
    let rest = if lower(7).as_deref() == Some("http://") {
        &url[7..]
    } else if lower(8).as_deref() == Some("https://") {
        &url[8..]
    } else {
        return None;
    };
    match rest.bytes().next() {
        None | Some(b'/' | b'?' | b'#' | b'\\') => None,
        Some(_) => Some(url),
    }
}

/// The URL to seal for a raw `href` value, or `None` when the link is left as written.
pub(crate) fn tracked_url(raw_href: &str, notrack: bool, config: &RewriteConfig) -> Option<String> {
    if notrack {
        return None;
    }
    let decoded = html::decode_attribute(raw_href);
    let url = absolute_http(&decoded)?;
    (!config.is_excluded(url)).then(|| url.to_string())
}

/// Assigns link indexes in document order and pairs an Outlook VML button with its HTML twin.
#[derive(Debug, Default)]
pub(crate) struct Numbering {
    pub links: Vec<LinkInfo>,
    /// Kind of the last tracked link, while it may still get a twin.
    last: Option<LinkKind>,
}

impl Numbering {
    /// The index for a tracked link, and the tag its token carries. A link whose neighbour of
    /// the other kind (VML ↔ HTML) has the same URL and a compatible tag is that neighbour's
    /// twin and shares its index, tag and therefore its click URL.
    pub fn assign(
        &mut self,
        kind: LinkKind,
        url: String,
        tag: Option<String>,
    ) -> (u32, Option<&str>) {
        let twin = match (self.last, self.links.last()) {
            (Some(last_kind), Some(prev)) => {
                last_kind != kind && prev.url == url && (tag.is_none() || tag == prev.tag)
            }
            _ => false,
        };
        if twin {
            self.last = None;
        } else {
            let index = u32::try_from(self.links.len()).unwrap_or(u32::MAX);
            self.links.push(LinkInfo { index, url, tag });
            self.last = Some(kind);
        }
        let link = self.links.last().expect("just pushed or twinned");
        (link.index, link.tag.as_deref())
    }
}

/// Everything needed to seal one email's links.
pub(crate) struct Sealer<'a> {
    pub config: &'a RewriteConfig,
    pub keyring: &'a KeyRing,
    pub email_id: EmailId,
    pub numbering: Numbering,
}

impl<'a> Sealer<'a> {
    pub fn new(config: &'a RewriteConfig, keyring: &'a KeyRing, email_id: EmailId) -> Self {
        Self {
            config,
            keyring,
            email_id,
            numbering: Numbering::default(),
        }
    }

    /// Writes the new quoted `href` value for a tracked link to `out`.
    pub fn write_href(
        &mut self,
        kind: LinkKind,
        url: String,
        tag: Option<String>,
        out: &mut String,
    ) {
        let (index, _) = self.numbering.assign(kind, url, tag);
        let link = &self.numbering.links[index as usize];
        let token =
            self.keyring
                .seal_click_parts(self.email_id, index, &link.url, link.tag.as_deref());
        // The token is base64url: only the base URL can need escaping.
        out.push('"');
        html::escape_into(self.config.base_url(), out);
        out.push_str("/c/");
        out.push_str(&token);
        out.push('"');
    }

    /// Writes the open pixel.
    pub fn write_pixel(&self, out: &mut String) {
        let src = open_url(
            self.config.base_url(),
            &self.keyring.seal_open(self.email_id),
        );
        out.push_str(r#"<img src=""#);
        html::escape_into(&src, out);
        out.push_str(PIXEL_ATTRS);
    }
}

/// A 1×1 transparent image: empty `alt` so screen readers skip it, no border, and taken out of
/// the flow where `position` is supported (a 1 px block otherwise).
const PIXEL_ATTRS: &str = r#"" width="1" height="1" alt="" border="0" style="display:block;position:absolute;width:1px;height:1px;border:0;margin:0;padding:0;overflow:hidden" />"#;

/// Marker attributes that opt a link out of tracking (Beacon's own, SendGrid's, Amazon SES's).
pub(crate) fn is_notrack_marker(name: &[u8], value: Option<&[u8]>) -> bool {
    name.eq_ignore_ascii_case(b"data-beacon-notrack")
        || name.eq_ignore_ascii_case(b"ses:no-track")
        || (name.eq_ignore_ascii_case(b"clicktracking")
            && value.is_some_and(|v| v.trim_ascii().eq_ignore_ascii_case(b"off")))
}

/// The attribute carrying a link's tag into its click event.
pub(crate) const TAG_ATTR: &[u8] = b"data-beacon-tag";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absolute_http_only() {
        for yes in [
            "http://a",
            "HTTPS://a.b/c",
            " https://x.com ",
            "https://ü.de/ä",
        ] {
            assert!(absolute_http(yes).is_some(), "{yes}");
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
            "//cdn.x/y",
            "http:x",
            "https:\\\\x",
        ] {
            assert!(absolute_http(no).is_none(), "{no}");
        }
    }

    #[test]
    fn twins_share_index() {
        let mut n = Numbering::default();
        assert_eq!(n.assign(LinkKind::Conditional, "u".into(), None).0, 0);
        assert_eq!(n.assign(LinkKind::Html, "u".into(), None).0, 0);
        assert_eq!(n.assign(LinkKind::Html, "u".into(), None).0, 1);
        assert_eq!(n.assign(LinkKind::Html, "u".into(), None).0, 2);
        assert_eq!(n.assign(LinkKind::Conditional, "v".into(), None).0, 3);
        assert_eq!(n.assign(LinkKind::Html, "u".into(), None).0, 4);
        assert_eq!(n.links.len(), 5);
    }
}

/// One change a site makes to the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Edit {
    /// Delete the range (a marker attribute).
    Remove,
    /// The `href` value: replaced by the click URL when the link is tracked.
    Href,
}

impl Site {
    /// The site's edits, in document order.
    pub fn edits(&self) -> Vec<(Range<usize>, Edit)> {
        let mut edits: Vec<_> = self
            .removals
            .iter()
            .map(|r| (r.clone(), Edit::Remove))
            .chain(std::iter::once((self.href_outer.clone(), Edit::Href)))
            .collect();
        edits.sort_by_key(|(r, _)| r.start);
        edits
    }
}
