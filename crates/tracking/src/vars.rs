//! Plunk-style `{{key}}` placeholders.
//!
//! Grammar: `{{`, optional whitespace, a key of `[A-Za-z0-9_.-]`, optional whitespace, then
//! optionally `??` and a fallback (any text without `{` or `}`, surrounding whitespace trimmed),
//! then `}}`. Anything else is left exactly as written, including a lone `{{`.
//!
//! A known key is replaced by its value; an unknown key by its fallback, or by nothing. With
//! [`Escape::Html`] both values and fallbacks are HTML-escaped, so no value can change the
//! structure of the document around it. Substitution is one pass: a value containing `{{x}}` is
//! inserted as is.
//!
//! ```
//! use beacon_tracking::vars::{substitute, Escape};
//! use std::collections::HashMap;
//!
//! let vars = HashMap::from([("name".to_string(), "Ada & co".to_string())]);
//! let out = substitute("Hi {{ name }}, {{plan ?? friend}}!{{missing}}", &vars, Escape::Html);
//! assert_eq!(out, "Hi Ada &amp; co, friend!");
//! ```

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::ops::Range;

use crate::html;

/// How substituted text is escaped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Escape {
    /// HTML-escape values (`&`, `<`, `>`, `"`, `'`): for HTML text and attribute values.
    Html,
    /// Insert values verbatim: for plain text and for URLs before they are sealed.
    None,
}

/// A source of values for placeholders.
pub trait Lookup {
    /// The value for `key`, or `None` when the key is unknown.
    fn get(&self, key: &str) -> Option<Cow<'_, str>>;
}

impl<S: std::hash::BuildHasher> Lookup for HashMap<String, String, S> {
    fn get(&self, key: &str) -> Option<Cow<'_, str>> {
        HashMap::get(self, key).map(|v| Cow::Borrowed(v.as_str()))
    }
}

impl Lookup for BTreeMap<String, String> {
    fn get(&self, key: &str) -> Option<Cow<'_, str>> {
        BTreeMap::get(self, key).map(|v| Cow::Borrowed(v.as_str()))
    }
}

impl Lookup for [(&str, &str)] {
    fn get(&self, key: &str) -> Option<Cow<'_, str>> {
        self.iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| Cow::Borrowed(*v))
    }
}

impl<const N: usize> Lookup for [(&str, &str); N] {
    fn get(&self, key: &str) -> Option<Cow<'_, str>> {
        Lookup::get(self.as_slice(), key)
    }
}

impl<T: Lookup + ?Sized> Lookup for &T {
    fn get(&self, key: &str) -> Option<Cow<'_, str>> {
        (**self).get(key)
    }
}

/// No variables: every placeholder becomes its fallback or nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoVars;

impl Lookup for NoVars {
    fn get(&self, _key: &str) -> Option<Cow<'_, str>> {
        None
    }
}

/// A [`Lookup`] from a closure.
///
/// ```
/// use beacon_tracking::vars::{from_fn, substitute, Escape};
/// let vars = from_fn(|key| (key == "id").then(|| "42".to_string()));
/// assert_eq!(substitute("u={{id}}", &vars, Escape::None), "u=42");
/// ```
pub fn from_fn<F: Fn(&str) -> Option<String>>(f: F) -> FnLookup<F> {
    FnLookup(f)
}

/// See [`from_fn`].
#[derive(Debug, Clone, Copy)]
pub struct FnLookup<F>(F);

impl<F: Fn(&str) -> Option<String>> Lookup for FnLookup<F> {
    fn get(&self, key: &str) -> Option<Cow<'_, str>> {
        (self.0)(key).map(Cow::Owned)
    }
}

/// One placeholder found in a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placeholder<'a> {
    /// Byte range of the whole `{{…}}`.
    pub range: Range<usize>,
    /// The key.
    pub key: &'a str,
    /// The fallback after `??`, trimmed.
    pub fallback: Option<&'a str>,
}

impl Placeholder<'_> {
    /// Appends the replacement for this placeholder to `out`.
    pub fn write(&self, vars: &(impl Lookup + ?Sized), escape: Escape, out: &mut String) {
        let value = vars.get(self.key);
        let text = value.as_deref().or(self.fallback).unwrap_or("");
        match escape {
            Escape::Html => html::escape_into(text, out),
            Escape::None => out.push_str(text),
        }
    }
}

/// Every placeholder of `text`, in order, without overlaps.
///
/// ```
/// use beacon_tracking::vars::placeholders;
/// let found: Vec<_> = placeholders("a {{x}} {{ y ?? z }} {{bad key}}").collect();
/// assert_eq!(found.len(), 2);
/// assert_eq!((found[1].key, found[1].fallback), ("y", Some("z")));
/// ```
pub fn placeholders(text: &str) -> impl Iterator<Item = Placeholder<'_>> {
    let mut from = 0;
    // memmem is SIMD-accelerated; `str::find` would dominate the cost of a 60 KB template.
    let finder = memchr::memmem::Finder::new(b"{{");
    std::iter::from_fn(move || {
        while let Some(rel) = finder.find(&text.as_bytes()[from..]) {
            let start = from + rel;
            if let Some(found) = parse_at(text, start) {
                from = found.range.end;
                return Some(found);
            }
            from = start + 1;
        }
        from = text.len();
        None
    })
}

/// Parses a placeholder starting at `start` (which holds `{{`).
fn parse_at(text: &str, start: usize) -> Option<Placeholder<'_>> {
    let body_start = start + 2;
    let close = body_start + text[body_start..].find(['{', '}'])?;
    if !text[close..].starts_with("}}") {
        return None;
    }
    let body = &text[body_start..close];
    let (key, fallback) = match body.split_once("??") {
        Some((key, fallback)) => (key, Some(fallback.trim())),
        None => (body, None),
    };
    let key = key.trim();
    let valid = !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    valid.then_some(Placeholder {
        range: start..close + 2,
        key,
        fallback,
    })
}

/// Replaces every placeholder of `text` (see the [module docs](self)).
#[must_use]
pub fn substitute(text: &str, vars: &(impl Lookup + ?Sized), escape: Escape) -> String {
    let mut out = String::with_capacity(text.len() + 64);
    substitute_into(text, vars, escape, &mut out);
    out
}

/// [`substitute`] appending to `out`.
pub fn substitute_into(
    text: &str,
    vars: &(impl Lookup + ?Sized),
    escape: Escape,
    out: &mut String,
) {
    let mut last = 0;
    for p in placeholders(text) {
        out.push_str(&text[last..p.range.start]);
        p.write(vars, escape, out);
        last = p.range.end;
    }
    out.push_str(&text[last..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grammar_edges() {
        let vars = [("a", "1"), ("b.c", "2")];
        let cases = [
            ("{{a}}", "1"),
            ("{{ a }}", "1"),
            ("{{\n a\t}}", "1"),
            ("{{b.c}}", "2"),
            ("{{a ?? x}}", "1"),
            ("{{z ?? x y }}", "x y"),
            ("{{z??}}", ""),
            ("{{z}}", ""),
            ("{{}}", "{{}}"),
            ("{{a b}}", "{{a b}}"),
            ("{{a", "{{a"),
            ("{{{a}}}", "{1}"),
            ("{{a}", "{{a}"),
            ("{{z ?? {x}}}", "{{z ?? {x}}}"),
            ("x}}{{a}}{{", "x}}1{{"),
        ];
        for (input, want) in cases {
            assert_eq!(substitute(input, &vars, Escape::None), want, "{input}");
        }
    }

    #[test]
    fn html_escape_applies_to_values_and_fallbacks() {
        let vars = [("a", "<b>\"&'")];
        assert_eq!(
            substitute("{{a}}|{{z ?? <i>}}", &vars, Escape::Html),
            "&lt;b&gt;&quot;&amp;&#39;|&lt;i&gt;"
        );
        assert_eq!(substitute("{{a}}", &vars, Escape::None), "<b>\"&'");
    }
}
