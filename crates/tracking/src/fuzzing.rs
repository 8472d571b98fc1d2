//! Fuzz target bodies, compiled by the normal test suite too (`tests/fuzz_bodies.rs`), so the
//! `cargo fuzz` targets under `fuzz/` can never rot.

use crate::links::{UtmSet, destination};
use crate::redirect::follow;
use crate::rewrite::{CompiledTemplate, RewriteConfig, Rewriter, StoredDestination, rewrite_html};
use crate::token::{DestinationId, KeyRing, SigningKey};
use crate::vars::{Escape, substitute};

/// Rewrites arbitrary bytes, one-shot and in chunks; checks that nothing panics, that chunking
/// does not matter and that the compiled path agrees with the slow one.
pub fn rewrite(data: &[u8]) {
    let config = RewriteConfig::builder("https://t.example")
        .build()
        .expect("valid base");
    let ring = KeyRing::new(SigningKey::new(1, [9; 32]), vec![]);
    let split = data.first().map_or(1, |b| usize::from(*b % 64) + 1);
    let mut chunked = Vec::new();
    let mut rw = Rewriter::new(&config, &ring, [3; 16], |b: &[u8]| {
        chunked.extend_from_slice(b)
    });
    for chunk in data.chunks(split) {
        rw.write(chunk);
    }
    let links = rw.end();
    if let Ok(html) = std::str::from_utf8(data) {
        let one = rewrite_html(html, &config, &ring, [3; 16]);
        assert_eq!(one.html.as_bytes(), chunked.as_slice());
        assert_eq!(one.links, links);
        let vars = [("a", "x&y"), ("id", "4 2")];
        let fast = CompiledTemplate::compile(html, &config).render(&ring, [3; 16], &vars);
        let slow = rewrite_html(
            &substitute(html, &vars, Escape::Html),
            &config,
            &ring,
            [3; 16],
        );
        assert_eq!(fast, slow.html);
    }
}

/// Opens arbitrary strings as tokens: never panics.
pub fn open_tokens(data: &[u8]) {
    let ring = KeyRing::new(
        SigningKey::new(1, [9; 32]),
        vec![SigningKey::new(2, [8; 32])],
    );
    let text = String::from_utf8_lossy(data);
    let _ = ring.open_open(&text);
    let _ = ring.open_click(&text);
}

/// The redirect path, token → `Location`, two ways:
/// - the bytes as a token (with a store that has a row for any id): never panics, and any
///   redirect it gives has a `Location` of printable ASCII;
/// - the bytes as an `href`, written into HTML, rewritten (with campaign parameters), its
///   click URL followed: the `Location` is the href's normalised destination with the
///   parameters, and the tracked `href` is under 200 characters.
pub fn redirect(data: &[u8]) {
    let ring = KeyRing::new(SigningKey::new(1, [9; 32]), vec![]);
    let text = String::from_utf8_lossy(data);
    let any_row = |id: &DestinationId| {
        Some(StoredDestination {
            id: *id,
            url: text.to_string(),
            tag: None,
        })
    };
    if let Ok(r) = follow(&ring, &text, any_row) {
        assert!(r.url.bytes().all(|b| b.is_ascii_graphic()), "{:?}", r.url);
    }

    let utm = UtmSet::new([("utm_source", "fuzz"), ("utm_medium", "e mail")]).expect("valid");
    let config = RewriteConfig::builder("https://t.example")
        .utm(utm.clone())
        .pixel(false)
        .build()
        .expect("valid base");
    let html = format!("<a href=\"{}\">x</a>", crate::html::escape(&text));
    let out = rewrite_html(&html, &config, &ring, [3; 16]);
    let Some(want) = destination(&text).filter(|d| !config.is_excluded(d)) else {
        return;
    };
    let Some(href) = out.html.strip_prefix("<a href=\"") else {
        return; // excluded as written (e.g. a never-tracked prefix): left alone
    };
    let href = &href[..href.find('"').expect("closing quote")];
    if !href.starts_with("https://t.example/c/") {
        return;
    }
    assert!(href.len() < 200, "{href}");
    let token = &href["https://t.example/c/".len()..];
    let lookup = |id: &DestinationId| out.stored.iter().find(|s| s.id == *id).cloned();
    let r = follow(&ring, token, lookup).expect("a link we sealed redirects");
    assert_eq!(r.url, utm.apply(&want));
}
