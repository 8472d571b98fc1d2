//! Unit cases of the rewriter, one behaviour each.

mod support;

use beacon_tracking::rewrite::{CompiledTemplate, LinkInfo, RewriteConfig, Rewriter, rewrite_html};
use beacon_tracking::token::ClickToken;
use beacon_tracking::vars::NoVars;
use support::{BASE, EMAIL, config, ring};

fn rewrite(html: &str) -> String {
    let cfg = RewriteConfig::builder(BASE).pixel(false).build().unwrap();
    rewrite_html(html, &cfg, &ring(), EMAIL).html
}

/// The click token inside the first rewritten `href`.
fn first_click(html: &str) -> ClickToken {
    let start = html.find("/c/").expect("a click URL") + 3;
    let end = start + html[start..].find('"').unwrap();
    ring().open_click(&html[start..end]).unwrap()
}

#[test]
fn left_exactly_as_written() {
    for html in [
        r#"<a href="mailto:a@b.c">x</a>"#,
        r#"<a href="tel:+1">x</a>"#,
        r#"<a href="sms:+1">x</a>"#,
        r##"<a href="#frag">x</a>"##,
        r#"<a href="/rel?x=1">x</a>"#,
        r#"<a href="rel.html">x</a>"#,
        r#"<a href="">x</a>"#,
        r#"<a href>x</a>"#,
        r#"<a href="javascript:alert(1)">x</a>"#,
        r#"<a href="data:text/html,hi">x</a>"#,
        r#"<a href="///cdn.example.com/x">x</a>"#,
        r#"<a href="https://t.example.com/unsubscribe">x</a>"#,
        r#"<a href="https://T.EXAMPLE.COM/preferences?id=1">x</a>"#,
        r#"<a href="https://t.example.com/c/abc">x</a>"#,
        r#"<link href="https://example.com/style.css">"#,
        r#"<img src="https://example.com/i.png">"#,
        r#"<div href="https://example.com/">x</div>"#,
        r#"<!-- <a href="https://example.com/">x</a> -->"#,
        r#"<script>document.write('<a href="https://example.com/">')</script>"#,
    ] {
        assert_eq!(rewrite(html), html);
    }
}

#[test]
fn own_pages_are_excluded_at_path_boundaries_only() {
    let out = rewrite(r#"<a href="https://t.example.com/unsubscribed-page">x</a>"#);
    assert!(out.contains("/c/"), "{out}");
}

#[test]
fn markers_are_removed_and_links_untouched() {
    assert_eq!(
        rewrite(r#"<a data-beacon-notrack href="https://x.com/">x</a>"#),
        r#"<a href="https://x.com/">x</a>"#
    );
    assert_eq!(
        rewrite(r#"<a href="https://x.com/" CLICKTRACKING='Off' class=c>x</a>"#),
        r#"<a href="https://x.com/" class=c>x</a>"#
    );
    assert_eq!(
        rewrite("<a href=\"https://x.com/\"\n  ses:no-track>x</a>"),
        r#"<a href="https://x.com/">x</a>"#
    );
    // clicktracking="on" is not a marker: tracked, attribute kept.
    assert!(
        rewrite(r#"<a href="https://x.com/" clicktracking="on">x</a>"#)
            .contains(r#"clicktracking="on""#)
    );
}

#[test]
fn tag_is_carried_and_removed() {
    let out = rewrite(r#"<a href="https://x.com/" data-beacon-tag="hero&amp;top">x</a>"#);
    assert!(!out.contains("data-beacon-tag"), "{out}");
    assert_eq!(first_click(&out).target.tag(), Some("hero&top"));
}

#[test]
fn href_is_decoded_before_sealing_and_escaped_after() {
    let out = rewrite(r#"<a href="https://x.com/?a=1&amp;b=&#x27;2&#39;&quot;">x</a>"#);
    assert_eq!(
        first_click(&out).target.url(),
        Some("https://x.com/?a=1&b=%272%27%22")
    );
    let cfg = RewriteConfig::builder("https://t.example.com/a&b")
        .build()
        .unwrap();
    let out = rewrite_html(r#"<a href="https://x.com/">x</a>"#, &cfg, &ring(), EMAIL).html;
    assert!(
        out.contains(r#"href="https://t.example.com/a&amp;b/c/"#),
        "{out}"
    );
}

#[test]
fn same_url_gets_distinct_indexes() {
    let out = rewrite_html(
        r#"<a href="https://x.com/">header</a><a href="https://x.com/">footer</a>"#,
        &config(),
        &ring(),
        EMAIL,
    );
    let idx: Vec<u32> = out.links.iter().map(|l| l.index).collect();
    assert_eq!(idx, [0, 1]);
}

#[test]
fn vml_twin_shares_click_url_either_order() {
    let vml = r#"<!--[if mso]><v:roundrect href="https://x.com/b">B</v:roundrect><![endif]-->"#;
    let html_link = r#"<a href="https://x.com/b">B</a>"#;
    for doc in [format!("{vml}{html_link}"), format!("{html_link}{vml}")] {
        let out = rewrite_html(&doc, &config(), &ring(), EMAIL);
        assert_eq!(
            out.links,
            [LinkInfo {
                index: 0,
                url: "https://x.com/b".into(),
                tag: None
            }]
        );
        let urls: Vec<&str> = out
            .html
            .match_indices("/c/")
            .map(|(i, _)| &out.html[i..i + 40])
            .collect();
        assert_eq!(urls.len(), 2);
        assert_eq!(urls[0], urls[1]);
    }
}

#[test]
fn pixel_before_last_body_or_appended() {
    let out = rewrite_html(
        "<body>a</body><p>b</p></BODY ></html>",
        &config(),
        &ring(),
        EMAIL,
    )
    .html;
    assert!(
        out.starts_with("<body>a</body><p>b</p><img src=\"https://t.example.com/o/"),
        "{out}"
    );
    assert!(out.ends_with(" /></BODY ></html>"), "{out}");
    let out = rewrite_html("<p>x</p>", &config(), &ring(), EMAIL).html;
    assert!(out.starts_with("<p>x</p><img ") && out.ends_with(" />"));
    // `</body>` in a comment or an attribute does not count.
    let out = rewrite_html("<body></body><!-- </body> -->", &config(), &ring(), EMAIL).html;
    assert!(out.starts_with("<body><img "), "{out}");
    let pixel = &out[6..out.find("</body>").unwrap()];
    assert!(pixel.contains(r#"width="1" height="1" alt="" border="0""#));
    let token = pixel
        .split("/o/")
        .nth(1)
        .unwrap()
        .split('.')
        .next()
        .unwrap();
    assert_eq!(ring().open_open(token), Ok(EMAIL));
}

#[test]
fn streaming_matches_one_shot_for_every_split() {
    let html = include_str!("fixtures/outlook.in.html");
    let (cfg, keys) = (config(), ring());
    let want = rewrite_html(html, &cfg, &keys, EMAIL);
    for split in 1..40 {
        let mut out = Vec::new();
        let mut rw = Rewriter::new(&cfg, &keys, EMAIL, |b: &[u8]| out.extend_from_slice(b));
        for chunk in html.as_bytes().chunks(split) {
            rw.write(chunk);
        }
        assert_eq!(rw.end(), want.links);
        assert_eq!(String::from_utf8(out).unwrap(), want.html, "split {split}");
    }
}

#[test]
fn invalid_utf8_passes_through() {
    let input = b"<p>\xff\xfe</p><a href=\"https://x.com/\xff\">x</a>";
    let cfg = RewriteConfig::builder(BASE).pixel(false).build().unwrap();
    let keys = ring();
    let mut out = Vec::new();
    let mut rw = Rewriter::new(&cfg, &keys, EMAIL, |b: &[u8]| out.extend_from_slice(b));
    rw.write(input);
    assert!(rw.end().is_empty());
    assert_eq!(out, input);
}

#[test]
fn huge_input_does_not_panic() {
    let mut html = String::from("<a href=\"https://x.com/");
    html.push_str(&"a".repeat(2_000_000));
    html.push_str("\">x</a>");
    html.push_str(&"<div>".repeat(50_000));
    let out = rewrite_html(&html, &config(), &ring(), EMAIL);
    assert_eq!(out.links[0].url.len(), 2_000_000 + 14);
    assert!(out.html.starts_with("<a href=\"https://t.example.com/c/"));
    assert!(out.html.ends_with(" />"), "no body: pixel appended");
}

#[test]
fn config_rejects_bad_base() {
    for bad in ["", "t.example.com", "ftp://x", "https://"] {
        assert!(RewriteConfig::builder(bad).build().is_err(), "{bad}");
    }
}

#[test]
fn compiled_template_unsafe_placeholders_fall_back() {
    for html in [
        r#"<a href={{url}}>x</a>"#,
        r#"<{{tag}}>x"#,
        r#"<p {{attr}}>x</p>"#,
        r#"<a href="https://x.com/" clicktracking="{{ct}}">x</a>"#,
        r#"<!--{{x}}-->"#,
        r#"a <{{x}}"#,
    ] {
        assert!(
            !CompiledTemplate::compile(html, &config()).is_fast(),
            "{html}"
        );
    }
    for html in [
        r#"<p title="{{t}}">{{name}}</p><a href="https://x.com/?id={{id}}">x</a>"#,
        r#"<!--[if mso]><v:rect href="{{url}}"></v:rect><![endif]-->"#,
        r#"<!-- hello {{name}} -->"#,
    ] {
        assert!(
            CompiledTemplate::compile(html, &config()).is_fast(),
            "{html}"
        );
    }
    let t = CompiledTemplate::compile(r#"<a href="https://x.com/">x</a>"#, &config());
    assert_eq!(t.render_untracked(&NoVars), t.source());
}

/// `//host/…` links are tracked as `https:` (an email has no page to be relative to), never
/// resolved against Beacon's own host.
#[test]
fn protocol_relative_links_are_tracked_as_https() {
    let out = rewrite(r#"<a href="//CDN.example.com/x?a=%2F">x</a>"#);
    assert_eq!(
        first_click(&out).target.url(),
        Some("https://cdn.example.com/x?a=%2F")
    );
}
