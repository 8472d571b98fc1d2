//! A byte-exact reader for one start tag, following the HTML tokenizer's tag states.
//!
//! lol_html tells us *where* a start tag is (its source location) but not where each attribute
//! sits inside it, and the rewriter must splice a single attribute value without touching a byte
//! around it. The same reader finds tags inside `<!--[if mso]>` comments, which are opaque text
//! to lol_html.

use std::ops::Range;

/// One attribute of a start tag. Ranges are absolute offsets into the scanned buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Attr {
    /// Start of the whitespace before the name (where removal begins).
    pub lead: usize,
    pub name: Range<usize>,
    pub value: Option<AttrValue>,
}

impl Attr {
    /// End of the attribute, closing quote included.
    pub fn end(&self) -> usize {
        self.value.as_ref().map_or(self.name.end, |v| v.outer.end)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AttrValue {
    /// The raw value, quotes excluded.
    pub raw: Range<usize>,
    /// The value with its quotes, if any.
    pub outer: Range<usize>,
    pub quoted: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Tag {
    pub name: Range<usize>,
    pub attrs: Vec<Attr>,
    /// Offset just after the closing `>` (or the end of input when unterminated).
    pub end: usize,
    pub complete: bool,
}

impl Tag {
    /// The first attribute called `name` (ASCII case-insensitive), as the HTML spec keeps the
    /// first of duplicates.
    pub fn attr(&self, src: &[u8], name: &str) -> Option<&Attr> {
        self.attrs
            .iter()
            .find(|a| src[a.name.clone()].eq_ignore_ascii_case(name.as_bytes()))
    }
}

fn is_space(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | b'\x0c' | b'\r' | b' ')
}

/// Reads the start tag at `src[start]` (which must be `<` followed by an ASCII letter), not
/// looking past `limit`.
pub(crate) fn parse(src: &[u8], start: usize, limit: usize) -> Tag {
    let at = |i: usize| if i < limit { Some(src[i]) } else { None };
    let mut i = start + 1;
    while at(i).is_some_and(|b| !is_space(b) && b != b'/' && b != b'>') {
        i += 1;
    }
    let name = start + 1..i;
    let mut attrs = Vec::new();
    loop {
        let lead = i;
        while at(i).is_some_and(|b| is_space(b) || b == b'/') {
            i += 1;
        }
        match at(i) {
            None => return unterminated(name, attrs, limit),
            Some(b'>') => {
                return Tag {
                    name,
                    attrs,
                    end: i + 1,
                    complete: true,
                };
            }
            Some(_) => {}
        }
        // Attribute name: a leading `=` belongs to the name (tokenizer spec).
        let name_start = i;
        i += 1;
        while at(i).is_some_and(|b| !is_space(b) && !matches!(b, b'/' | b'>' | b'=')) {
            i += 1;
        }
        let attr_name = name_start..i;
        let mut j = i;
        while at(j).is_some_and(is_space) {
            j += 1;
        }
        if at(j) != Some(b'=') {
            attrs.push(Attr {
                lead,
                name: attr_name,
                value: None,
            });
            continue;
        }
        j += 1;
        while at(j).is_some_and(is_space) {
            j += 1;
        }
        let value = match at(j) {
            None => return unterminated(name, attrs, limit),
            // `<a href=>`: an empty value; `>` ends the tag.
            Some(b'>') => AttrValue {
                raw: j..j,
                outer: j..j,
                quoted: false,
            },
            Some(q @ (b'"' | b'\'')) => {
                let Some(close) = src[j + 1..limit].iter().position(|&b| b == q) else {
                    return unterminated(name, attrs, limit);
                };
                let close = j + 1 + close;
                AttrValue {
                    raw: j + 1..close,
                    outer: j..close + 1,
                    quoted: true,
                }
            }
            Some(_) => {
                let mut k = j;
                while at(k).is_some_and(|b| !is_space(b) && b != b'>') {
                    k += 1;
                }
                AttrValue {
                    raw: j..k,
                    outer: j..k,
                    quoted: false,
                }
            }
        };
        i = value.outer.end;
        attrs.push(Attr {
            lead,
            name: attr_name,
            value: Some(value),
        });
    }
}

fn unterminated(name: Range<usize>, attrs: Vec<Attr>, limit: usize) -> Tag {
    Tag {
        name,
        attrs,
        end: limit,
        complete: false,
    }
}

/// Every complete start tag in `src[range]`, for the inside of a conditional comment, where
/// lol_html sees only text. End tags and text between tags are skipped.
pub(crate) fn tags_in(src: &[u8], range: Range<usize>) -> Vec<Tag> {
    let mut tags = Vec::new();
    let mut i = range.start;
    while let Some(pos) = src[i..range.end].iter().position(|&b| b == b'<') {
        let lt = i + pos;
        if src.get(lt + 1).is_some_and(u8::is_ascii_alphabetic) && lt + 1 < range.end {
            let tag = parse(src, lt, range.end);
            if !tag.complete {
                break;
            }
            i = tag.end;
            tags.push(tag);
        } else {
            i = lt + 1;
        }
    }
    tags
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(html: &str) -> Vec<(String, Option<String>)> {
        let tag = parse(html.as_bytes(), 0, html.len());
        assert!(tag.complete, "{html}");
        tag.attrs
            .iter()
            .map(|a| {
                (
                    html[a.name.clone()].to_string(),
                    a.value.as_ref().map(|v| html[v.raw.clone()].to_string()),
                )
            })
            .collect()
    }

    #[test]
    fn reads_attribute_forms() {
        let got = attrs(r#"<a href="x y" data-x='1"2' k=v/ bare =odd title = "t">"#);
        let want = [
            ("href", Some("x y")),
            ("data-x", Some("1\"2")),
            ("k", Some("v/")),
            // Whitespace around `=` is allowed: `bare =odd` is `bare="odd"`.
            ("bare", Some("odd")),
            ("title", Some("t")),
        ];
        let want: Vec<_> = want
            .iter()
            .map(|(n, v)| (n.to_string(), v.map(str::to_string)))
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn empty_and_unterminated() {
        assert_eq!(attrs("<a href=>"), [("href".into(), Some(String::new()))]);
        // A leading `=` belongs to the name.
        assert_eq!(attrs("<a =x>"), [("=x".into(), None)]);
        assert!(!parse(b"<a href=\"x", 0, 10).complete);
        assert!(!parse(b"<a href", 0, 7).complete);
    }

    #[test]
    fn finds_tags_in_comment_text() {
        let src = "<!--[if mso]><v:roundrect href=\"u\">x</v:roundrect><![endif]-->";
        let tags = tags_in(src.as_bytes(), 4..src.len() - 3);
        assert_eq!(tags.len(), 1);
        assert_eq!(&src[tags[0].name.clone()], "v:roundrect");
    }
}
