//! Fixture pairs: `fixtures/NAME.in.html` rewritten with the fixed test key must equal
//! `fixtures/NAME.out.html`. Run with `BLESS=1` to regenerate the expected files after an
//! intended change, then review the diff.

mod support;

use std::fs;
use std::path::Path;

use beacon_tracking::rewrite::rewrite_html;

#[test]
fn fixtures_match() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut count = 0;
    for entry in fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        let Some(stem) = name.strip_suffix(".in.html") else {
            continue;
        };
        let input = fs::read_to_string(&path).unwrap();
        let out = rewrite_html(&input, &support::config(), &support::ring(), support::EMAIL);
        let mut got = out.html;
        got.push_str("\n<!-- links:\n");
        for l in &out.links {
            got.push_str(&format!("{} {:?} {}\n", l.index, l.tag, l.url));
        }
        got.push_str("-->\n");
        let expected_path = dir.join(format!("{stem}.out.html"));
        if std::env::var_os("BLESS").is_some() {
            fs::write(&expected_path, &got).unwrap();
        }
        let expected = fs::read_to_string(&expected_path)
            .unwrap_or_else(|_| panic!("missing {expected_path:?}: run with BLESS=1"));
        assert_eq!(got, expected, "fixture {stem}");
        count += 1;
    }
    assert!(count >= 5, "fixtures found: {count}");
}
