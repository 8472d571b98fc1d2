//! Property tests of the rewriter: never panics, byte-identical outside rewritten parts,
//! chunking does not matter, the compiled path equals substitute-then-rewrite.

mod support;

use beacon_tracking::html::escape;
use beacon_tracking::links::destination;
use beacon_tracking::redirect::follow;
use beacon_tracking::rewrite::{
    CompiledTemplate, RewriteConfig, Rewriter, Rewritten, rewrite_html,
};
use beacon_tracking::vars::{Escape, substitute};
use proptest::prelude::*;
use support::{BASE, EMAIL, config, ring};

fn url() -> impl Strategy<Value = String> {
    prop_oneof![
        "https?://[a-z]{1,8}\\.(com|de)/([ -~]{0,24}[!-~])?",
        "https://ü[a-z]{1,4}\\.jp/[^\"\\x00-\\x20]{0,8}",
        Just("mailto:a@b.c".to_string()),
        Just("#top".to_string()),
        Just("/relative".to_string()),
        Just(format!("{BASE}/unsubscribe?x=1")),
        any::<String>(),
    ]
    // Tracked links come back normalised (`links::destination`, property-tested on its own in
    // `tests/destinations.rs`); written in that form here, `restore` can put them back.
    .prop_map(|u| destination(&u).unwrap_or(u))
}

/// Structural pieces, links written canonically (`href="escape(url)"`), and noise.
fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[a-z<>/!&#;= \"'\n-]{0,10}",
        1 => any::<String>().prop_map(|s| s.chars().take(12).collect()),
        2 => prop::sample::select(vec![
            "<p>", "</p>", "<body>", "</body>", "<html>", "</html>", "<!--", "-->",
            "<!--[if mso]>", "<![endif]-->", "<script>", "</script>", "<br/>", "<style>",
            "</style>", "<img alt=\"x\">", "<table><tr><td>", "<![CDATA[", "<!DOCTYPE html>",
        ]).prop_map(str::to_string),
        3 => (url(), prop::sample::select(vec!["a", "area", "v:roundrect", "A"]), any::<bool>())
            .prop_map(|(u, tag, tagged)| {
                // Only links that will be tracked carry a tag, so `restore` can put it back.
                let tagged = tagged && u.starts_with("http") && !u.starts_with(BASE);
                let extra = if tagged { " data-beacon-tag=\"t&amp;1\"" } else { "" };
                format!("<{tag} class=\"c\" href=\"{}\"{extra}>x</{tag}>", escape(&u))
            }),
    ]
}

fn document() -> impl Strategy<Value = String> {
    prop::collection::vec(fragment(), 0..30).prop_map(|v| v.concat())
}

/// Puts the original `href` back in place of every click URL (long destinations from their
/// stored start), drops the pixel and the tag attributes, which must give the input back byte
/// for byte.
fn restore(rewritten: &Rewritten) -> String {
    let pixel_start = "<img src=\"https://t.example.com/o/";
    let mut out = String::new();
    let mut rest = rewritten.html.as_str();
    let click = format!("\"{BASE}/c/");
    loop {
        let next_click = rest.find(&click);
        let next_pixel = rest.find(pixel_start);
        match (next_click, next_pixel) {
            (Some(c), p) if p.is_none_or(|p| c < p) => {
                out.push_str(&rest[..c]);
                let tail = &rest[c + click.len()..];
                let end = tail.find('"').unwrap();
                let stored = |id: &_| rewritten.stored.iter().find(|s| s.id == *id).cloned();
                let link = follow(&ring(), &tail[..end], stored).unwrap();
                out.push('"');
                out.push_str(&escape(&link.url));
                out.push('"');
                if link.tag.is_some() {
                    out.push_str(" data-beacon-tag=\"t&amp;1\"");
                }
                rest = &tail[end + 1..];
            }
            (_, Some(p)) => {
                out.push_str(&rest[..p]);
                let end = rest[p..].find(" />").unwrap() + 3;
                rest = &rest[p + end..];
            }
            _ => break,
        }
    }
    out.push_str(rest);
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_text_never_panics_and_passes_through(input in any::<String>()) {
        let cfg = RewriteConfig::builder(BASE).pixel(false).build().unwrap();
        let out = rewrite_html(&input, &cfg, &ring(), EMAIL);
        if out.links.is_empty() && !input.contains("data-beacon") && !input.contains("no-track") {
            prop_assert_eq!(out.html, input);
        }
    }

    #[test]
    fn unchanged_outside_rewritten_parts(doc in document()) {
        let out = rewrite_html(&doc, &config(), &ring(), EMAIL);
        prop_assert_eq!(out.html.matches("/o/").count() - doc.matches("/o/").count(), 1);
        prop_assert_eq!(restore(&out), doc);
    }

    #[test]
    fn chunking_does_not_matter(doc in document(), sizes in prop::collection::vec(1usize..50, 1..20)) {
        let (cfg, keys) = (config(), ring());
        let want = rewrite_html(&doc, &cfg, &keys, EMAIL);
        let mut out = Vec::new();
        let mut rw = Rewriter::new(&cfg, &keys, EMAIL, |b: &[u8]| out.extend_from_slice(b));
        let bytes = doc.as_bytes();
        let (mut at, mut i) = (0, 0);
        while at < bytes.len() {
            let n = sizes[i % sizes.len()].min(bytes.len() - at);
            rw.write(&bytes[at..at + n]);
            at += n;
            i += 1;
        }
        prop_assert_eq!(rw.end(), want.links);
        prop_assert_eq!(String::from_utf8(out).unwrap(), want.html);
    }

    #[test]
    fn compiled_equals_substitute_then_rewrite(
        parts in prop::collection::vec(prop_oneof![
            3 => fragment(),
            2 => prop::sample::select(vec![
                "{{name}}", "{{ name ?? friend }}", "{{missing}}", "{{missing ?? a&b}}",
                "<p title=\"{{name}}\">", "<a href=\"https://x.com/?u={{id}}&amp;n={{name}}\">x</a>",
                "<a href=\"{{url}}\" data-beacon-tag=\"{{name}}\">x</a>", "<a href={{url}}>x</a>",
                "<{{name}}>", "<p {{name}}>", "<!--[if mso]><v:rect href=\"{{url}}\"/><![endif]-->",
                "<a href=\"https://x.com/\" clicktracking=\"{{name}}\">", "<!--{{name}}-->", "<{{url}}",
                "{{url}}", "</{{name}}",
            ]).prop_map(str::to_string),
        ], 0..25),
        name in prop_oneof![Just("Ada".to_string()), Just("a b=c".to_string()), any::<String>()],
        id in prop_oneof![Just("42".to_string()), any::<String>()],
        url in url(),
    ) {
        let template = parts.concat();
        let vars = [("name", name.as_str()), ("id", id.as_str()), ("url", url.as_str())];
        let (cfg, keys) = (config(), ring());
        let compiled = CompiledTemplate::compile(&template, &cfg);
        let fast = compiled.render_full(&keys, EMAIL, &vars);
        let slow = rewrite_html(&substitute(&template, &vars, Escape::Html), &cfg, &keys, EMAIL);
        prop_assert_eq!(fast, slow);
    }
}
