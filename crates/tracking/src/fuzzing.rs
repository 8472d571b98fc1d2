//! Fuzz target bodies, compiled by the normal test suite too (`tests/fuzz_bodies.rs`), so the
//! `cargo fuzz` targets under `fuzz/` can never rot.

use crate::rewrite::{CompiledTemplate, RewriteConfig, Rewriter, rewrite_html};
use crate::token::{KeyRing, SigningKey};
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
