//! Property tests of link fidelity: for any `href` the `url` crate parses, the redirect's
//! `Location` is that URL's WHATWG serialisation (with campaign parameters when set), whatever
//! its length, and the tracked `href` stays short.

mod support;

use beacon_tracking::html::escape;
use beacon_tracking::links::{UtmSet, destination};
use beacon_tracking::redirect::follow;
use beacon_tracking::rewrite::{RewriteConfig, rewrite_html};
use proptest::prelude::*;
use support::{BASE, EMAIL, ring};
use url::Url;

/// Hrefs as senders write them: any case of scheme, hosts with letters, digits, dots, non-ASCII
/// and ports, then anything at all — spaces, quotes, escapes valid and not, emoji, `#`, `?`.
fn href() -> impl Strategy<Value = String> {
    let scheme = prop::sample::select(vec!["http://", "https://", "HTTPS://", "Http://", "//"]);
    let host = prop_oneof![
        "[a-z0-9]{1,12}(\\.[a-z]{2,6}){1,2}",
        "[a-zäöüß\u{4e2d}\u{6587}]{1,8}\\.(de|com|\u{4e2d}\u{56fd})",
        "[A-Z]{1,6}\\.COM(:[0-9]{1,5})?",
        "[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}",
    ];
    let tail = prop_oneof![
        "(/[ -~]{0,40})?",
        "/[a-z%0-9A-F ?#&=/'\"]{0,40}",
        any::<String>().prop_map(|s| format!("/{s}")),
        "/[a-z]{1,8}".prop_map(|p| format!("{p}/{}", "x".repeat(3000))),
        "\\?[a-z]{1,4}=[\u{1F600}-\u{1F64F}é%26%2F ]{0,10}#[^\u{0}]{0,10}",
    ];
    (" ?", scheme, host, tail, " ?").prop_map(|(a, s, h, t, b)| format!("{a}{s}{h}{t}{b}"))
}

fn utm() -> impl Strategy<Value = UtmSet> {
    prop_oneof![
        Just(UtmSet::default()),
        Just(UtmSet::new([("utm_source", "beacon"), ("utm_campaign", "Spring & ü")]).unwrap()),
    ]
}

/// What a browser would navigate to: `//` links as https, then the WHATWG serialisation.
fn browser(href: &str) -> Option<String> {
    let trimmed = href.trim_matches(|c: char| c <= ' ');
    let absolute = match trimmed.strip_prefix("//") {
        Some(rest) => format!("https://{rest}"),
        None => trimmed.to_string(),
    };
    let url = Url::parse(&absolute).ok()?;
    matches!(url.scheme(), "http" | "https").then(|| url.to_string())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn location_is_the_whatwg_serialisation(href in href(), utm in utm()) {
        let Some(want) = browser(&href) else { return Ok(()) };
        prop_assert_eq!(destination(&href), Some(want.clone()));
        let config = RewriteConfig::builder(BASE).utm(utm.clone()).pixel(false).build().unwrap();
        let html = format!("<p><a href=\"{}\">x</a></p>", escape(&href));
        let out = rewrite_html(&html, &config, &ring(), EMAIL);
        let start = out.html.find("/c/").expect("tracked") + 3;
        let end = start + out.html[start..].find('"').unwrap();
        let href_len = end - out.html.find(BASE).unwrap();
        prop_assert!(href_len < 200, "href of {} characters", href_len);
        let lookup = |id: &_| out.stored.iter().find(|s| s.id == *id).cloned();
        let r = follow(&ring(), &out.html[start..end], lookup).unwrap();
        let want = utm.apply(&want);
        prop_assert_eq!(&r.url, &want);
        // The event's link is the same URL, and applying the rule again changes nothing.
        prop_assert_eq!(&out.links[0].url, &want);
        prop_assert_eq!(destination(&want), Some(want.clone()));
    }

    /// Entity-encoded spellings of the same href land at the same place.
    #[test]
    fn entities_are_decoded_once(href in href()) {
        let Some(want) = browser(&href) else { return Ok(()) };
        let config = RewriteConfig::builder(BASE).pixel(false).build().unwrap();
        let encoded = escape(&href).replace("&amp;", "&#038;").replace('/', "&#x2F;");
        let out = rewrite_html(&format!("<a href='{encoded}'>x</a>"), &config, &ring(), EMAIL);
        prop_assert_eq!(&out.links[0].url, &want);
    }
}

#[test]
fn a_missing_stored_row_never_redirects() {
    let config = RewriteConfig::builder(BASE).build().unwrap();
    let long = format!("https://x.com/{}", "y".repeat(500));
    let out = rewrite_html(
        &format!("<a href=\"{long}\">x</a>"),
        &config,
        &ring(),
        EMAIL,
    );
    let start = out.html.find("/c/").unwrap() + 3;
    let token = &out.html[start..start + out.html[start..].find('"').unwrap()];
    assert!(follow(&ring(), token, |_| None).is_err());
    let mut wrong = out.stored[0].clone();
    wrong.id.0[0] ^= 1;
    assert!(follow(&ring(), token, |_| Some(wrong)).is_err());
    assert_eq!(
        follow(&ring(), token, |_| out.stored.first().cloned())
            .unwrap()
            .url,
        long
    );
}
