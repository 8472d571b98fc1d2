//! Drives lol_html as a tokenizer only: it finds link elements, conditional comments and the
//! end of `<body>`, and reports their byte positions. The output is built by splicing the
//! original bytes (see `stream` and `template`), so nothing outside a rewritten `href` can change,
//! not even whitespace inside a tag that lol_html would re-serialize.

use std::cell::RefCell;
use std::ops::Range;
use std::rc::Rc;

use lol_html::html_content::{Comment, Element, TextChunk};
use lol_html::{HtmlRewriter, Settings, doc_comments, doc_text, element, end_tag};

use super::link::{LinkKind, Site, TAG_ATTR, is_notrack_marker};
use super::tag::{self, Tag};

/// Extra positions a compiled template needs to prove that substituting variables cannot
/// change how the document parses.
#[derive(Debug, Default)]
pub(crate) struct Regions {
    /// Text chunks and comment bodies.
    pub text: Vec<Range<usize>>,
    /// Quoted attribute values, in any start tag.
    pub quoted: Vec<Range<usize>>,
    /// Start tags found inside conditional comments.
    pub inner_tags: Vec<Range<usize>>,
}

/// What the scanner has learned so far. `buf` holds the input not yet emitted: `buf[0]` is the
/// absolute offset `base`.
#[derive(Debug, Default)]
pub(crate) struct ScanState {
    pub buf: Vec<u8>,
    pub base: usize,
    pub sites: std::collections::VecDeque<Site>,
    /// Start of the last `</body>` end tag seen (see [`ScanState::find_stray_body_ends`]).
    pub body_end: Option<usize>,
    /// Where lol_html matched the body element's end tag.
    matched_body_end: Option<usize>,
    /// Comments not yet emitted, to skip `</body` inside them.
    comments: Vec<Range<usize>>,
    /// Offset up to which the input was searched for `</body`: a `</body` could still start
    /// at or after it, so output is held back there.
    pub searched: usize,
    /// Bytes lol_html has finished with: nothing before this can still produce a site.
    pub progress: usize,
    /// lol_html gave up (it should not; then the rest of the input passes through unchanged).
    pub failed: bool,
    pub regions: Option<Regions>,
}

impl ScanState {
    /// lol_html matches `</body>` against the open `<body>`: a stray second `</body>` later on
    /// (malformed input) is invisible to it. The pixel goes before the *last* one, so the bytes
    /// lol_html has finished with are also searched for `</body` followed by a tag-name end,
    /// outside comments and link tags, after the matched one.
    fn find_stray_body_ends(&mut self) {
        let from = self.searched.max(self.base);
        // Need the byte after `</body` to know it ends the name.
        let to = self.progress.min(self.base + self.buf.len());
        if to < from + 7 {
            return;
        }
        let hay = &self.buf[from - self.base..to - self.base];
        let mut last = None;
        for i in memchr::memmem::find_iter(hay, b"</") {
            let Some(rest) = hay.get(i + 2..i + 7) else {
                break;
            };
            let at = from + i;
            if rest[..4].eq_ignore_ascii_case(b"body")
                && matches!(
                    rest[4],
                    b'\t' | b'\n' | b'\x0c' | b'\r' | b' ' | b'/' | b'>'
                )
                && !self.comments.iter().any(|c| c.contains(&at))
                && !self.sites.iter().any(|s| s.tag.contains(&at))
            {
                last = Some(at);
            }
        }
        // Resume where an unfinished `</body` could still start.
        self.searched = to - 6;
        if let Some(at) = last
            && self.matched_body_end.is_none_or(|m| at >= m)
        {
            self.body_end = Some(at);
        }
        self.comments.retain(|c| c.end > self.searched);
    }

    fn slice(&self, range: Range<usize>) -> &[u8] {
        &self.buf[range.start - self.base..range.end - self.base]
    }
}

pub(crate) type Shared = Rc<RefCell<ScanState>>;
type Sink = Box<dyn FnMut(&[u8])>;

/// A lol_html rewriter wired to a [`ScanState`].
pub(crate) struct Scanner {
    html: Option<HtmlRewriter<'static, Sink>>,
    pub state: Shared,
}

impl Scanner {
    /// `regions`: also collect what a compiled template needs.
    pub fn new(regions: bool) -> Self {
        let state: Shared = Rc::new(RefCell::new(ScanState {
            regions: regions.then(Regions::default),
            ..ScanState::default()
        }));
        let (s1, s2, s3, s4, s5) = (
            state.clone(),
            state.clone(),
            state.clone(),
            state.clone(),
            state.clone(),
        );
        let mut settings = Settings::new()
            .with_strict(false)
            .append_element_content_handler(element!(
                "a[href], area[href]",
                move |el: &mut Element| {
                    on_link(&mut s1.borrow_mut(), el);
                    Ok(())
                }
            ))
            .append_element_content_handler(element!("body", move |el: &mut Element| {
                let s = s2.clone();
                // Void or self-closing bodies have no end tag to find.
                let _ = el.on_end_tag(end_tag!(move |end| {
                    let at = end.source_location().bytes().start;
                    let mut st = s.borrow_mut();
                    st.matched_body_end = Some(at);
                    st.body_end = Some(st.body_end.map_or(at, |b| b.max(at)));
                    Ok(())
                }));
                Ok(())
            }))
            .append_document_content_handler(doc_comments!(move |c: &mut Comment| {
                on_comment(&mut s3.borrow_mut(), c);
                Ok(())
            }));
        if regions {
            settings = settings
                .append_element_content_handler(element!("*", move |el: &mut Element| {
                    on_any_tag(&mut s4.borrow_mut(), el);
                    Ok(())
                }))
                .append_document_content_handler(doc_text!(move |t: &mut TextChunk| {
                    let range = t.source_location().bytes();
                    if let Some(r) = s5.borrow_mut().regions.as_mut() {
                        r.text.push(range);
                    }
                    Ok(())
                }));
        } else {
            drop((s4, s5));
        }
        let progress = state.clone();
        let sink: Sink =
            Box::new(move |chunk: &[u8]| progress.borrow_mut().progress += chunk.len());
        Self {
            html: Some(HtmlRewriter::new(settings, sink)),
            state,
        }
    }

    /// Buffers `chunk` and tokenizes it.
    pub fn write(&mut self, chunk: &[u8]) {
        self.state.borrow_mut().buf.extend_from_slice(chunk);
        if let Some(html) = self.html.as_mut()
            && html.write(chunk).is_err()
        {
            self.fail();
        }
        self.state.borrow_mut().find_stray_body_ends();
    }

    /// Ends the input.
    pub fn end(&mut self) {
        if let Some(html) = self.html.take()
            && html.end().is_err()
        {
            self.fail();
        }
        let mut st = self.state.borrow_mut();
        st.progress = st.base + st.buf.len();
        st.find_stray_body_ends();
    }

    fn fail(&mut self) {
        self.html = None;
        self.state.borrow_mut().failed = true;
    }
}

/// Builds the site for a link start tag `t` located at `at` in the buffer.
fn site(st: &ScanState, t: &Tag, at: usize, kind: LinkKind) -> Option<Site> {
    let src = st.slice(at..at + t.end);
    let href = t.attr(src, "href")?;
    let value = href.value.as_ref()?;
    let shift = |r: &Range<usize>| r.start + at..r.end + at;
    let mut site = Site {
        kind,
        tag: at..at + t.end,
        href_raw: shift(&value.raw),
        href_outer: shift(&value.outer),
        tag_raw: None,
        notrack: false,
        removals: Vec::new(),
        control_has_placeholder: false,
    };
    for a in &t.attrs {
        let name = &src[a.name.clone()];
        let val = a.value.as_ref().map(|v| &src[v.raw.clone()]);
        let marker = is_notrack_marker(name, val);
        if name.eq_ignore_ascii_case(b"clicktracking") && val.is_some_and(|v| contains(v, b"{{")) {
            site.control_has_placeholder = true;
        }
        if marker {
            site.notrack = true;
        } else if name.eq_ignore_ascii_case(TAG_ATTR) {
            if site.tag_raw.is_none() {
                site.tag_raw = Some(a.value.as_ref().map_or(at..at, |v| shift(&v.raw)));
            }
        } else {
            continue;
        }
        site.removals.push(a.lead + at..a.end() + at);
    }
    Some(site)
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn on_link(st: &mut ScanState, el: &Element) {
    let loc = el.source_location().bytes();
    let src = st.slice(loc.clone());
    let t = tag::parse(src, 0, src.len());
    if let Some(site) = site(st, &t, loc.start, LinkKind::Html) {
        st.sites.push_back(site);
    }
}

fn on_any_tag(st: &mut ScanState, el: &Element) {
    let loc = el.source_location().bytes();
    let src = st.slice(loc.clone());
    let t = tag::parse(src, 0, src.len());
    if let Some(r) = st.regions.as_mut() {
        r.quoted.extend(
            t.attrs
                .iter()
                .filter_map(|a| a.value.as_ref().filter(|v| v.quoted))
                .map(|v| v.raw.start + loc.start..v.raw.end + loc.start),
        );
    }
}

/// Length of `<!--[if` : a placeholder must start after it, so no value can turn a plain
/// comment into a conditional one.
const COND_PREFIX: &[u8] = b"<!--[if";

fn on_comment(st: &mut ScanState, c: &Comment) {
    let loc = c.source_location().bytes();
    st.comments.push(loc.clone());
    let src = st.slice(loc.clone());
    let conditional = src.len() >= COND_PREFIX.len()
        && src[..COND_PREFIX.len()].eq_ignore_ascii_case(COND_PREFIX);
    let inner_end = if src.ends_with(b"--!>") {
        src.len() - 4
    } else if src.ends_with(b"-->") {
        src.len() - 3
    } else {
        src.len()
    };
    let tags = if conditional && inner_end > 4 {
        tag::tags_in(src, 4..inner_end)
    } else {
        Vec::new()
    };
    let links: Vec<bool> = tags
        .iter()
        .map(|t| {
            let name = &src[t.name.clone()];
            name.eq_ignore_ascii_case(b"a")
                || name.eq_ignore_ascii_case(b"area")
                || (name.len() > 2 && name[..2].eq_ignore_ascii_case(b"v:"))
        })
        .collect();
    for (t, is_link) in tags.iter().zip(links) {
        let at = loc.start + t.name.start - 1;
        let rebased = rebase(t, t.name.start - 1);
        if is_link && let Some(site) = site(st, &rebased, at, LinkKind::Conditional) {
            st.sites.push_back(site);
        }
    }
    if let Some(r) = st.regions.as_mut() {
        if loc.start + COND_PREFIX.len() < loc.end {
            r.text.push(loc.start + COND_PREFIX.len()..loc.end);
        }
        for t in &tags {
            let start = loc.start + t.name.start - 1;
            r.inner_tags.push(start..loc.start + t.end);
            r.quoted.extend(
                t.attrs
                    .iter()
                    .filter_map(|a| a.value.as_ref().filter(|v| v.quoted))
                    .map(|v| v.raw.start + loc.start..v.raw.end + loc.start),
            );
        }
    }
}

/// Moves a tag's ranges so that they are relative to its own `<` at `offset`.
fn rebase(t: &Tag, offset: usize) -> Tag {
    let m = |r: &Range<usize>| r.start - offset..r.end - offset;
    Tag {
        name: m(&t.name),
        attrs: t
            .attrs
            .iter()
            .map(|a| tag::Attr {
                lead: a.lead - offset,
                name: m(&a.name),
                value: a.value.as_ref().map(|v| tag::AttrValue {
                    raw: m(&v.raw),
                    outer: m(&v.outer),
                    quoted: v.quoted,
                }),
            })
            .collect(),
        end: t.end - offset,
        complete: t.complete,
    }
}
