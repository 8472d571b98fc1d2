//! The streaming rewriter and the one-shot [`rewrite_html`] built on it.

use super::link::{Edit, Href, Sealer, Site, decide_href};
use super::scan::{ScanState, Scanner};
use super::{LinkInfo, RewriteConfig, Rewritten};
use crate::html;
use crate::token::{EmailId, KeyRing};

/// Rewrites one email's HTML fed in chunks of any size, writing output as soon as it is final.
///
/// Output is identical whatever the chunking. Input is held back only while lol_html may still
/// be inside a tag, and from the last `</body>` seen (where the pixel will go) to the end.
/// Invalid UTF-8 passes through untouched (a link whose `href` is not UTF-8 is not tracked).
///
/// ```
/// use beacon_tracking::rewrite::{RewriteConfig, Rewriter};
/// use beacon_tracking::token::{KeyRing, SigningKey};
///
/// let config = RewriteConfig::builder("https://t.example").build().unwrap();
/// let ring = KeyRing::new(SigningKey::new(1, [0; 32]), vec![]);
/// let mut out = Vec::new();
/// let mut rw = Rewriter::new(&config, &ring, [1; 16], |bytes: &[u8]| out.extend_from_slice(bytes));
/// for chunk in [&b"<p><a hr"[..], b"ef=\"https://example.com/\">x</a></p></bo", b"dy>"] {
///     rw.write(chunk);
/// }
/// let links = rw.end();
/// assert_eq!(links[0].url, "https://example.com/");
/// let html = String::from_utf8(out).unwrap();
/// assert!(html.starts_with("<p><a href=\"https://t.example/c/"));
/// assert!(html.ends_with("/></body>"));
/// ```
pub struct Rewriter<'a, O: FnMut(&[u8])> {
    scanner: Scanner,
    sealer: Sealer<'a>,
    committed: usize,
    out: O,
    scratch: String,
}

impl<O: FnMut(&[u8])> std::fmt::Debug for Rewriter<'_, O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rewriter")
            .field("committed", &self.committed)
            .finish_non_exhaustive()
    }
}

impl<'a, O: FnMut(&[u8])> Rewriter<'a, O> {
    /// A rewriter for the email `email_id`, writing to `out`.
    pub fn new(config: &'a RewriteConfig, keyring: &'a KeyRing, email_id: EmailId, out: O) -> Self {
        Self {
            scanner: Scanner::new(false),
            sealer: Sealer::new(config, keyring, email_id),
            committed: 0,
            out,
            scratch: String::new(),
        }
    }

    /// Feeds the next chunk of input.
    pub fn write(&mut self, chunk: &[u8]) {
        self.scanner.write(chunk);
        let limit = {
            let st = self.scanner.state.borrow();
            let mut limit = if st.failed {
                st.base + st.buf.len()
            } else {
                st.progress
            };
            if self.sealer.config.adds_pixel() {
                // Not past a `</body` whose end is not known yet, nor past the last `</body>`.
                limit = limit
                    .min(st.searched)
                    .min(st.body_end.unwrap_or(usize::MAX));
            }
            limit
        };
        self.emit_until(limit);
    }

    /// Ends the input, writes the rest (and the pixel) and returns the tracked links.
    pub fn end(self) -> Vec<LinkInfo> {
        self.finish().links
    }

    /// [`Rewriter::end`], also returning the stored and opted-out destinations (the output
    /// went to the sink, so the result's `html` is empty).
    pub fn finish(mut self) -> Rewritten {
        self.scanner.end();
        let (end, body_end) = {
            let st = self.scanner.state.borrow();
            (st.base + st.buf.len(), st.body_end)
        };
        if self.sealer.config.adds_pixel() {
            let at = body_end.unwrap_or(end);
            self.emit_until(at);
            self.scratch.clear();
            self.sealer.write_pixel(&mut self.scratch);
            (self.out)(self.scratch.as_bytes());
        }
        self.emit_until(end);
        let sealer = self.sealer;
        Rewritten {
            html: String::new(),
            links: sealer.numbering.links,
            stored: sealer.stored,
            opted_out: sealer.opted_out,
        }
    }

    /// Writes the input up to the absolute offset `limit`, applying the edits of every site
    /// that ends before it.
    fn emit_until(&mut self, limit: usize) {
        let state = self.scanner.state.clone();
        let mut st = state.borrow_mut();
        let mut limit = limit.max(self.committed);
        while let Some(site) = st.sites.front() {
            if site.tag.start >= limit {
                break;
            }
            if site.tag.end > limit {
                // Cannot happen (a tag is reported before lol_html passes it); be safe anyway.
                limit = site.tag.start.max(self.committed);
                break;
            }
            let site = st.sites.pop_front().expect("front exists");
            if site.tag.start >= self.committed {
                self.apply(&st, &site);
            }
        }
        self.copy(&st, limit);
        let drop_len = self.committed - st.base;
        st.buf.drain(..drop_len);
        st.base = self.committed;
    }

    fn apply(&mut self, st: &ScanState, site: &Site) {
        let text = |r: &std::ops::Range<usize>| {
            std::str::from_utf8(&st.buf[r.start - st.base..r.end - st.base]).ok()
        };
        let href = text(&site.href_raw).map_or(Href::Other, |raw| {
            decide_href(raw, site.notrack, self.sealer.config)
        });
        let url = match href {
            Href::Tracked(url) => Some(url),
            Href::OptedOut(dest) => {
                self.sealer.opt_out(dest);
                None
            }
            Href::Other => None,
        };
        for (range, edit) in site.edits() {
            match edit {
                Edit::Href => {
                    let Some(url) = url.clone() else { continue };
                    let tag = site
                        .tag_raw
                        .as_ref()
                        .and_then(text)
                        .map(|t| html::decode_attribute(t).into_owned());
                    self.copy(st, range.start);
                    self.scratch.clear();
                    self.sealer
                        .write_href(site.kind, url, tag, &mut self.scratch);
                    (self.out)(self.scratch.as_bytes());
                }
                Edit::Remove => self.copy(st, range.start),
            }
            self.committed = range.end;
        }
    }

    /// Copies input from `committed` to `to`.
    fn copy(&mut self, st: &ScanState, to: usize) {
        if to > self.committed {
            (self.out)(&st.buf[self.committed - st.base..to - st.base]);
            self.committed = to;
        }
    }
}

/// Rewrites a whole HTML part at once: links sealed for `email_id`, pixel added (if configured).
///
/// Everything that is not a rewritten `href`, a removed marker attribute or the pixel comes out
/// byte-identical. The text part of an email is not this function's business: leave it as is.
///
/// ```
/// use beacon_tracking::rewrite::{RewriteConfig, rewrite_html};
/// use beacon_tracking::token::{KeyRing, SigningKey};
///
/// let config = RewriteConfig::builder("https://t.example").build().unwrap();
/// let ring = KeyRing::new(SigningKey::new(1, [0; 32]), vec![]);
/// let html = r#"<a href="https://example.com/?a=1&amp;b=2" data-beacon-tag="cta">Go</a>
/// <a href="mailto:hi@example.com">Mail</a>"#;
/// let out = rewrite_html(html, &config, &ring, [7; 16]);
/// assert_eq!(out.links.len(), 1);
/// assert_eq!(out.links[0].url, "https://example.com/?a=1&b=2");
/// assert_eq!(out.links[0].tag.as_deref(), Some("cta"));
/// assert!(out.html.contains(r#"<a href="mailto:hi@example.com">Mail</a>"#));
/// assert!(!out.html.contains("data-beacon-tag"));
/// ```
#[must_use]
pub fn rewrite_html(
    html: &str,
    config: &RewriteConfig,
    keyring: &KeyRing,
    email_id: EmailId,
) -> Rewritten {
    let mut out = Vec::with_capacity(html.len() + 4096);
    let mut rw = Rewriter::new(config, keyring, email_id, |b: &[u8]| {
        out.extend_from_slice(b)
    });
    rw.write(html.as_bytes());
    let mut rewritten = rw.finish();
    // Edits only replace whole ASCII-delimited ranges of valid UTF-8 input.
    rewritten.html = String::from_utf8(out)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
    rewritten
}
