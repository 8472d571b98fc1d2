//! The per-recipient fast path: parse a template once, then per recipient only substitute
//! variables and splice sealed tokens.

use std::borrow::Cow;
use std::ops::Range;

use super::link::{Edit, Href, LinkKind, Sealer, Site, decide_href};
use super::scan::{Regions, Scanner};
use super::{RewriteConfig, Rewritten, rewrite_html};
use crate::html;
use crate::token::{EmailId, KeyRing};
use crate::vars::{self, Escape, Lookup};

/// A template parsed once, rendered per recipient.
///
/// `render` gives byte-for-byte what [`rewrite_html`] gives on the template after
/// [`vars::substitute`] with [`Escape::Html`] — values are HTML-escaped in text and attributes,
/// and a link's URL is sealed after substitution, so `https://x.com/?u={{id}}` gets each
/// recipient's id. It is much cheaper: no HTML parsing per recipient.
///
/// When a placeholder sits where its value could change how the document parses (a tag or
/// attribute name, an unquoted value, right after `<`, a `clicktracking` value…) the template
/// is kept *generic* ([`CompiledTemplate::is_fast`] is false) and each render substitutes and
/// rewrites in full: slower, never different.
///
/// ```
/// use beacon_tracking::rewrite::{CompiledTemplate, RewriteConfig, rewrite_html};
/// use beacon_tracking::token::{KeyRing, SigningKey};
/// use beacon_tracking::vars::{substitute, Escape};
///
/// let config = RewriteConfig::builder("https://t.example").build().unwrap();
/// let ring = KeyRing::new(SigningKey::new(1, [0; 32]), vec![]);
/// let html = r#"<p>Hi {{name ?? there}}</p><a href="https://x.com/?u={{id}}">Go</a></body>"#;
/// let template = CompiledTemplate::compile(html, &config);
/// assert!(template.is_fast());
///
/// let vars = [("name", "Ada <3"), ("id", "42")];
/// let out = template.render(&ring, [1; 16], &vars);
/// assert!(out.starts_with("<p>Hi Ada &lt;3</p><a href=\"https://t.example/c/"));
/// let slow = rewrite_html(&substitute(html, &vars, Escape::Html), &config, &ring, [1; 16]);
/// assert_eq!(out, slow.html);
/// ```
#[derive(Debug, Clone)]
pub struct CompiledTemplate {
    config: RewriteConfig,
    source: String,
    /// `None` when the template must be rendered the slow way.
    pieces: Option<Vec<Piece>>,
    /// Bytes of literal text, to size the output buffer.
    literal_len: usize,
}

#[derive(Debug, Clone)]
enum Piece {
    Text(Range<usize>),
    Var {
        key: String,
        fallback: Option<String>,
    },
    Link(Box<Slot>),
    Pixel,
}

/// One link's `href`, decided per recipient.
#[derive(Debug, Clone)]
struct Slot {
    kind: LinkKind,
    notrack: bool,
    /// The raw value (quotes excluded) and the quote character around it, if any.
    raw: String,
    quote: &'static str,
    raw_has_vars: bool,
    tag: Option<String>,
    /// The decision, when the `href` has no variables.
    fixed: Option<Href>,
}

impl CompiledTemplate {
    /// Parses `html` once. Never fails: a template that cannot take the fast path is rendered
    /// the slow way (see the type's docs).
    #[must_use]
    pub fn compile(html: &str, config: &RewriteConfig) -> Self {
        let mut scanner = Scanner::new(true);
        scanner.write(html.as_bytes());
        scanner.end();
        let st = scanner.state.borrow();
        let sites: Vec<Site> = st.sites.iter().cloned().collect();
        let regions = st.regions.as_ref().filter(|_| !st.failed);
        let fast = regions.is_some_and(|r| {
            !sites.iter().any(|s| s.control_has_placeholder)
                && vars::placeholders(html).all(|p| is_safe(&p.range, &Sorted::new(r), html))
        });
        let mut template = Self {
            config: config.clone(),
            source: html.to_string(),
            pieces: None,
            literal_len: html.len(),
        };
        if fast {
            let pixel_at = config
                .adds_pixel()
                .then(|| st.body_end.unwrap_or(html.len()));
            template.pieces = Some(pieces(html, &sites, pixel_at, config));
        }
        template
    }

    /// True when renders take the fast path.
    #[must_use]
    pub fn is_fast(&self) -> bool {
        self.pieces.is_some()
    }

    /// The template source.
    #[must_use]
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Renders for one recipient: variables substituted, links sealed for `email_id`, pixel.
    #[must_use]
    pub fn render(
        &self,
        keyring: &KeyRing,
        email_id: EmailId,
        vars: &(impl Lookup + ?Sized),
    ) -> String {
        self.render_full(keyring, email_id, vars).html
    }

    /// [`CompiledTemplate::render`], also returning the tracked links.
    #[must_use]
    pub fn render_full(
        &self,
        keyring: &KeyRing,
        email_id: EmailId,
        vars: &(impl Lookup + ?Sized),
    ) -> Rewritten {
        let Some(pieces) = &self.pieces else {
            let html = vars::substitute(&self.source, vars, Escape::Html);
            return rewrite_html(&html, &self.config, keyring, email_id);
        };
        let mut sealer = Sealer::new(&self.config, keyring, email_id);
        let mut out = String::with_capacity(self.literal_len + 8192);
        for piece in pieces {
            match piece {
                Piece::Text(r) => out.push_str(&self.source[r.clone()]),
                Piece::Var { key, fallback } => {
                    let value = vars.get(key);
                    let text = value.as_deref().or(fallback.as_deref()).unwrap_or("");
                    html::escape_into(text, &mut out);
                }
                Piece::Link(slot) => slot.render(&mut sealer, vars, &mut out),
                Piece::Pixel => sealer.write_pixel(&mut out),
            }
        }
        Rewritten {
            html: out,
            links: sealer.numbering.links,
            stored: sealer.stored,
            opted_out: sealer.opted_out,
        }
    }

    /// Renders without tracking (the send's policy said no): variables substituted only.
    #[must_use]
    pub fn render_untracked(&self, vars: &(impl Lookup + ?Sized)) -> String {
        vars::substitute(&self.source, vars, Escape::Html)
    }
}

impl Slot {
    fn render(&self, sealer: &mut Sealer<'_>, vars: &(impl Lookup + ?Sized), out: &mut String) {
        let raw: Cow<'_, str> = if self.raw_has_vars {
            Cow::Owned(vars::substitute(&self.raw, vars, Escape::Html))
        } else {
            Cow::Borrowed(&self.raw)
        };
        let href = match &self.fixed {
            Some(fixed) => fixed.clone(),
            None => decide_href(&raw, self.notrack, sealer.config),
        };
        match href {
            Href::Tracked(url) => {
                let tag = self.tag.as_ref().map(|t| {
                    html::decode_attribute(&vars::substitute(t, vars, Escape::Html)).into_owned()
                });
                sealer.write_href(self.kind, url, tag, out);
            }
            other => {
                if let Href::OptedOut(dest) = other {
                    sealer.opt_out(dest);
                }
                out.push_str(self.quote);
                out.push_str(&raw);
                out.push_str(self.quote);
            }
        }
    }
}

/// Splits the template at every edit and placeholder.
fn pieces(
    html: &str,
    sites: &[Site],
    pixel_at: Option<usize>,
    config: &RewriteConfig,
) -> Vec<Piece> {
    let mut out = Vec::new();
    let mut cursor = 0;
    let literal = |out: &mut Vec<Piece>, range: Range<usize>| {
        let text = &html[range.clone()];
        let mut last = 0;
        for p in vars::placeholders(text) {
            if p.range.start > last {
                out.push(Piece::Text(range.start + last..range.start + p.range.start));
            }
            out.push(Piece::Var {
                key: p.key.to_string(),
                fallback: p.fallback.map(str::to_string),
            });
            last = p.range.end;
        }
        if last < text.len() {
            out.push(Piece::Text(range.start + last..range.end));
        }
    };
    let mut pixel_at = pixel_at;
    for site in sites {
        if let Some(at) = pixel_at.filter(|&at| at <= site.tag.start) {
            literal(&mut out, cursor..at);
            out.push(Piece::Pixel);
            cursor = at;
            pixel_at = None;
        }
        for (range, edit) in site.edits() {
            literal(&mut out, cursor..range.start);
            cursor = range.end;
            if edit == Edit::Href {
                out.push(Piece::Link(Box::new(slot(html, site, config))));
            }
        }
    }
    if let Some(at) = pixel_at {
        literal(&mut out, cursor..at);
        out.push(Piece::Pixel);
        cursor = at;
    }
    literal(&mut out, cursor..html.len());
    out
}

fn slot(html: &str, site: &Site, config: &RewriteConfig) -> Slot {
    let raw = html[site.href_raw.clone()].to_string();
    let raw_has_vars = vars::placeholders(&raw).next().is_some();
    let quote = if site.href_outer.len() > site.href_raw.len() {
        if html.as_bytes()[site.href_outer.start] == b'\'' {
            "'"
        } else {
            "\""
        }
    } else {
        ""
    };
    Slot {
        kind: site.kind,
        notrack: site.notrack,
        fixed: (!raw_has_vars).then(|| decide_href(&raw, site.notrack, config)),
        raw,
        quote,
        raw_has_vars,
        tag: site.tag_raw.clone().map(|r| html[r].to_string()),
    }
}

/// Regions sorted for binary search.
struct Sorted {
    text: Vec<Range<usize>>,
    quoted: Vec<Range<usize>>,
    inner_tags: Vec<Range<usize>>,
}

impl Sorted {
    fn new(r: &Regions) -> Self {
        let sort = |v: &Vec<Range<usize>>| {
            let mut v = v.clone();
            v.sort_by_key(|r| r.start);
            v
        };
        // Adjacent text chunks form one run: a placeholder may straddle a chunk boundary.
        let mut text: Vec<Range<usize>> = Vec::new();
        for r in sort(&r.text) {
            match text.last_mut() {
                Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
                _ => text.push(r),
            }
        }
        Self {
            text,
            quoted: sort(&r.quoted),
            inner_tags: sort(&r.inner_tags),
        }
    }
}

/// The span of `spans` (sorted by start, non-nested) starting at or before `r.start`, if it
/// contains `r`.
fn covered(spans: &[Range<usize>], r: &Range<usize>) -> bool {
    let i = spans.partition_point(|s| s.start <= r.start);
    i > 0 && spans[i - 1].end >= r.end
}

/// Whether a placeholder at `r` can be substituted without changing how the document parses.
fn is_safe(r: &Range<usize>, s: &Sorted, html: &str) -> bool {
    if covered(&s.quoted, r) {
        return true;
    }
    let i = s.inner_tags.partition_point(|t| t.start < r.end);
    if i > 0 && s.inner_tags[i - 1].end > r.start {
        return false;
    }
    let before = &html.as_bytes()[..r.start];
    covered(&s.text, r) && !before.ends_with(b"<") && !before.ends_with(b"</")
}
