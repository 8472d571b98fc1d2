//! Per-link decisions shared by the one-shot, streaming and compiled paths: is this URL
//! tracked, which index does it get, and what replaces its `href`.

use std::ops::Range;

use super::{LinkInfo, RewriteConfig, StoredDestination};
use crate::token::{DestinationId, EmailId, KeyRing, inline_click_len, open_url, stored_click_len};
use crate::{html, links};

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

/// What a link's `href` comes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Href {
    /// Tracked: the final destination (normalised, campaign parameters added).
    Tracked(String),
    /// An http(s) link left as written because it is opted out or never tracked: its normalised
    /// destination (the text part leaves the same link alone).
    OptedOut(String),
    /// Not an http(s) link Beacon could follow: left as written.
    Other,
}

/// Decides a raw `href` value (as written in the HTML, entities and all).
pub(crate) fn decide_href(raw_href: &str, notrack: bool, config: &RewriteConfig) -> Href {
    let decoded = html::decode_attribute(raw_href);
    let Some(dest) = links::destination(&decoded) else {
        return Href::Other;
    };
    // Never-tracked prefixes are compared with the URL as written and as normalised, so
    // neither a default port nor an upper-case host slips an unsubscribe link into tracking.
    let written = decoded.trim_matches(|c: char| c <= ' ');
    if notrack || config.is_excluded(written) || config.is_excluded(&dest) {
        Href::OptedOut(dest)
    } else {
        Href::Tracked(config.utm().apply(&dest))
    }
}

/// Assigns link indexes in document order and pairs an Outlook VML button with its HTML twin.
#[derive(Debug, Default)]
pub(crate) struct Numbering {
    pub links: Vec<LinkInfo>,
    /// Kind of the last tracked link, while it may still get a twin.
    last: Option<LinkKind>,
}

impl Numbering {
    /// Numbering that goes on after `links` (the text part after the HTML part).
    pub fn continuing(links: Vec<LinkInfo>) -> Self {
        Self { links, last: None }
    }

    /// A new link at the next index, never a twin; its index.
    pub fn push(&mut self, url: String) -> u32 {
        let index = u32::try_from(self.links.len()).unwrap_or(u32::MAX);
        self.links.push(LinkInfo {
            index,
            url,
            tag: None,
        });
        self.last = None;
        index
    }

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

/// Everything needed to seal one email's links, and what sealing them produced.
pub(crate) struct Sealer<'a> {
    pub config: &'a RewriteConfig,
    pub keyring: &'a KeyRing,
    pub email_id: EmailId,
    pub numbering: Numbering,
    /// Destinations too long to seal inline, each once.
    pub stored: Vec<StoredDestination>,
    /// Destinations of opted-out links, each once.
    pub opted_out: Vec<String>,
    /// The config's base URL, HTML-escaped once for every `href`.
    escaped_base: std::borrow::Cow<'a, str>,
}

impl<'a> Sealer<'a> {
    pub fn new(config: &'a RewriteConfig, keyring: &'a KeyRing, email_id: EmailId) -> Self {
        Self {
            config,
            keyring,
            email_id,
            numbering: Numbering::default(),
            stored: Vec::new(),
            opted_out: Vec::new(),
            escaped_base: html::escape(config.base_url()),
        }
    }

    /// Notes a link left as written because it is opted out.
    pub fn opt_out(&mut self, dest: String) {
        if !self.opted_out.contains(&dest) {
            self.opted_out.push(dest);
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
        let token = self.click_token(index);
        // The base was escaped once; a token is base64url and never needs it.
        out.push('"');
        out.push_str(&self.escaped_base);
        out.push_str("/c/");
        out.push_str(&token);
        out.push('"');
    }

    /// The click URL of the tracked link `index` (see [`Sealer::click_token`]).
    pub fn click_url(&mut self, index: u32) -> String {
        crate::token::click_url(self.config.base_url(), &self.click_token(index))
    }

    /// The click token of the tracked link `index`: its destination sealed inline when the
    /// URL stays within the config's `max_href`, otherwise its start stored and referenced by
    /// id, the rest sealed (see [`StoredDestination`]).
    fn click_token(&mut self, index: u32) -> String {
        let link = &self.numbering.links[index as usize];
        // The base is the only part of the URL that can need HTML escaping.
        let base_len = self.escaped_base.len() + "/c/".len();
        let max = self.config.max_href();
        let tag = link.tag.as_deref();
        if base_len + inline_click_len(index, &link.url, tag) <= max {
            return self
                .keyring
                .seal_click_parts(self.email_id, index, &link.url, tag);
        }
        let mut room = (max.saturating_sub(base_len) * 3 / 4).saturating_sub(50);
        while room > 0 && base_len + stored_click_len(index, room) > max {
            room -= 1;
        }
        let (start, rest) = link.url.split_at(cut(&link.url, room));
        let id = DestinationId::of(start, tag);
        if self.stored.iter().all(|s| s.id != id) {
            self.stored.push(StoredDestination {
                id,
                url: start.to_string(),
                tag: link.tag.clone(),
            });
        }
        self.keyring
            .seal_click_stored(self.email_id, index, id, rest)
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

/// Where to cut a long destination into a stored start and a sealed rest: the earliest `/`,
/// `?`, `&`, `=` or `#` after the host from which the rest fits in `room` bytes, or the end.
fn cut(url: &str, room: usize) -> usize {
    let path = url
        .find("://")
        .and_then(|s| url[s + 3..].find('/').map(|p| s + 3 + p))
        .unwrap_or(url.len());
    url.char_indices()
        .filter(|&(i, c)| i >= path && matches!(c, '/' | '?' | '&' | '=' | '#'))
        .map(|(i, _)| i)
        .find(|&i| url.len() - i <= room)
        .unwrap_or(url.len())
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
    fn hrefs_are_decided_on_their_destination() {
        let config = RewriteConfig::builder("https://t.example:443")
            .utm(links::UtmSet::new([("utm_source", "b")]).unwrap())
            .build()
            .unwrap();
        let tracked = |s: &str| Href::Tracked(s.to_string());
        let out = |s: &str| Href::OptedOut(s.to_string());
        for (raw, notrack, want) in [
            (
                "https://x.com/a&amp;b",
                false,
                tracked("https://x.com/a&b?utm_source=b"),
            ),
            ("https://x.com/#f", true, out("https://x.com/#f")),
            (
                "https://t.example:443/unsubscribe/x",
                false,
                out("https://t.example/unsubscribe/x"),
            ),
            (
                "HTTPS://T.EXAMPLE/unsubscribe",
                false,
                out("https://t.example/unsubscribe"),
            ),
            (
                "https://t.example/c/abc",
                false,
                out("https://t.example/c/abc"),
            ),
            ("mailto:a@b.c", false, Href::Other),
            ("https://a b/", false, Href::Other),
        ] {
            assert_eq!(decide_href(raw, notrack, &config), want, "{raw}");
        }
    }

    #[test]
    fn long_destinations_are_cut_where_recipients_differ_least() {
        let long = format!("https://x.com/r?ids={}", "1,".repeat(500));
        assert_eq!(cut(&format!("{long}&u=42"), 20), long.len());
        assert_eq!(cut(&format!("{long}&u=4242"), 20), long.len());
        assert_eq!(cut(&long, 20), long.len(), "nothing fits: all stored");
        assert_eq!(cut("https://x.com/a/b", 100), "https://x.com".len());
        assert_eq!(cut("https://x.com", 100), "https://x.com".len());
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
