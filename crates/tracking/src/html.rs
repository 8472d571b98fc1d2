//! The two HTML text transforms this crate needs: decoding character references in an
//! attribute value, and escaping text for an attribute value or a text node.
//!
//! lol_html hands out attribute values raw (`&amp;` still encoded) and its `set_attribute`
//! escapes `"` but not `&`; the rewriter therefore does both directions itself.

use std::borrow::Cow;

/// Named references decoded in attribute values. The full HTML table has 2,231 names; URLs use
/// a handful, and an unknown name is left exactly as written (a browser would decode it: see the
/// crate README's limitations). `legacy` names are also recognised without the `;`.
const NAMED: &[(&str, &str, bool)] = &[
    ("amp", "&", true),
    ("lt", "<", true),
    ("gt", ">", true),
    ("quot", "\"", true),
    ("nbsp", "\u{a0}", true),
    ("copy", "\u{a9}", true),
    ("reg", "\u{ae}", true),
    ("apos", "'", false),
    ("sol", "/", false),
    ("colon", ":", false),
    ("quest", "?", false),
    ("equals", "=", false),
    ("num", "#", false),
    ("percnt", "%", false),
    ("plus", "+", false),
    ("comma", ",", false),
    ("period", ".", false),
    ("excl", "!", false),
    ("dollar", "$", false),
    ("ast", "*", false),
    ("lowbar", "_", false),
    ("commat", "@", false),
    ("semi", ";", false),
    ("lpar", "(", false),
    ("rpar", ")", false),
    ("lsqb", "[", false),
    ("rsqb", "]", false),
    ("lcub", "{", false),
    ("rcub", "}", false),
    ("verbar", "|", false),
    ("grave", "`", false),
    ("Hat", "^", false),
    ("tilde", "\u{2dc}", false),
];

/// Windows-1252 code points that numeric references 0x80–0x9F map to (HTML spec, "numeric
/// character reference end state").
const C1: [u32; 32] = [
    0x20AC, 0x81, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039,
    0x0152, 0x8D, 0x017D, 0x8F, 0x90, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
    0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x9D, 0x017E, 0x0178,
];

/// Decodes character references in a raw attribute value, following the HTML rules for
/// attribute values: numeric references with or without `;`, and named references from a small
/// table (legacy names without `;` only when not followed by `=` or an alphanumeric).
///
/// ```
/// use beacon_tracking::html::decode_attribute;
/// assert_eq!(decode_attribute("https://x.com/?a=1&amp;b=2&#38;c=&#x33;"), "https://x.com/?a=1&b=2&c=3");
/// assert_eq!(decode_attribute("?a=1&copy=2"), "?a=1&copy=2"); // legacy rule: not a reference
/// ```
#[must_use]
pub fn decode_attribute(raw: &str) -> Cow<'_, str> {
    if !raw.contains('&') {
        return Cow::Borrowed(raw);
    }
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        match reference(after) {
            Some((text, used)) => {
                out.push_str(&text);
                rest = &after[used..];
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// Parses the reference after a `&`: its text and how many bytes of `after` it used.
fn reference(after: &str) -> Option<(Cow<'static, str>, usize)> {
    let bytes = after.as_bytes();
    if bytes.first() == Some(&b'#') {
        return numeric(after);
    }
    let name_len = bytes
        .iter()
        .take_while(|b| b.is_ascii_alphanumeric())
        .count();
    let name = &after[..name_len];
    let (_, text, legacy) = NAMED.iter().find(|(n, _, _)| *n == name)?;
    if bytes.get(name_len) == Some(&b';') {
        return Some((Cow::Borrowed(text), name_len + 1));
    }
    // Without `;`: only legacy names, and never before `=` (the name is a longer identifier
    // otherwise, which `name_len` already covers).
    (*legacy && bytes.get(name_len) != Some(&b'=')).then_some((Cow::Borrowed(*text), name_len))
}

fn numeric(after: &str) -> Option<(Cow<'static, str>, usize)> {
    let bytes = after.as_bytes();
    let (radix, start) = match bytes.get(1) {
        Some(b'x' | b'X') => (16, 2),
        _ => (10, 1),
    };
    let digits = bytes[start..]
        .iter()
        .take_while(|b| (b.is_ascii_digit()) || (radix == 16 && b.is_ascii_hexdigit()))
        .count();
    if digits == 0 {
        return None;
    }
    let mut used = start + digits;
    // Saturate: any overflowing value is out of range and becomes U+FFFD anyway.
    let value = after[start..used].chars().fold(0u32, |acc, c| {
        acc.saturating_mul(radix)
            .saturating_add(c.to_digit(radix).unwrap_or(0))
    });
    if bytes.get(used) == Some(&b';') {
        used += 1;
    }
    let code = match value {
        0x80..=0x9F => C1[(value - 0x80) as usize],
        _ => value,
    };
    let c = match code {
        0 | 0xD800..=0xDFFF => '\u{FFFD}',
        _ => char::from_u32(code).unwrap_or('\u{FFFD}'),
    };
    Some((Cow::Owned(c.to_string()), used))
}

/// Escapes text for a double-quoted attribute value or a text node: `&`, `<`, `>`, `"`, `'`.
///
/// ```
/// use beacon_tracking::html::escape;
/// assert_eq!(escape(r#"a&b<"c">'"#), "a&amp;b&lt;&quot;c&quot;&gt;&#39;");
/// ```
#[must_use]
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.contains(['&', '<', '>', '"', '\'']) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    escape_into(text, &mut out);
    Cow::Owned(out)
}

/// [`escape`] appending to `out`.
pub fn escape_into(text: &str, out: &mut String) {
    let mut last = 0;
    for (i, b) in text.bytes().enumerate() {
        let rep = match b {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            b'\'' => "&#39;",
            _ => continue,
        };
        out.push_str(&text[last..i]);
        out.push_str(rep);
        last = i + 1;
    }
    out.push_str(&text[last..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_edge_cases() {
        assert_eq!(decode_attribute("&#0;"), "\u{FFFD}");
        assert_eq!(decode_attribute("&#x110000;"), "\u{FFFD}");
        assert_eq!(decode_attribute("&#xD800;"), "\u{FFFD}");
        assert_eq!(decode_attribute("&#128;"), "\u{20AC}");
        assert_eq!(decode_attribute("&#99999999999999999999;"), "\u{FFFD}");
        assert_eq!(decode_attribute("&#;"), "&#;");
        assert_eq!(decode_attribute("&#x;"), "&#x;");
        assert_eq!(decode_attribute("&#65x"), "Ax");
    }

    #[test]
    fn named_edge_cases() {
        assert_eq!(decode_attribute("&amp"), "&");
        assert_eq!(decode_attribute("&amp=1"), "&amp=1");
        assert_eq!(decode_attribute("&ampx"), "&ampx");
        assert_eq!(decode_attribute("&apos"), "&apos");
        assert_eq!(decode_attribute("&apos;"), "'");
        assert_eq!(decode_attribute("&unknown;"), "&unknown;");
        assert_eq!(decode_attribute("a&&amp;b"), "a&&b");
        assert_eq!(decode_attribute("é&amp;ü"), "é&ü");
    }

    #[test]
    fn escape_then_decode_round_trips() {
        let s = "https://x.com/?a=1&b=\"2\"&c=<'3'>&amp;";
        assert_eq!(decode_attribute(&escape(s)), s);
    }
}
