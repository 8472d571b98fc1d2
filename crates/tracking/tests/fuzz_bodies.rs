//! Keeps the `cargo fuzz` targets compiling and runs their bodies on a few seeds: the targets in
//! `fuzz/fuzz_targets/` only call these same functions.

use beacon_tracking::fuzzing;

const SEEDS: &[&[u8]] = &[
    b"",
    b"<a href=\"https://x.com/\">x</a></body>",
    b"<!--[if mso]><v:roundrect href=\"https://x.com/\"><![endif]--><a href=\"https://x.com/\">",
    b"<a href=\"https://x.com/{{id}}\" data-beacon-tag=\"{{a}}\">{{a ?? b}}",
    b"\xff<a href=https://x.com/\xfe>",
    b"<script></body><a href='https://x.com/'></script></body",
    b"https://B\xc3\xbccher.example/a b?q=\xf0\x9f\x98\x80#f",
    b"//cdn.example/x%2Fy?a=%26&amp;b=1",
    b"AwEBogpZAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
];

#[test]
fn rewrite_target_body_runs() {
    for seed in SEEDS {
        fuzzing::rewrite(seed);
    }
}

#[test]
fn token_target_body_runs() {
    for seed in SEEDS {
        fuzzing::open_tokens(seed);
    }
}

#[test]
fn redirect_target_body_runs() {
    for seed in SEEDS {
        fuzzing::redirect(seed);
    }
    let long = format!("https://x.com/{}", "a".repeat(3000));
    fuzzing::redirect(long.as_bytes());
}
