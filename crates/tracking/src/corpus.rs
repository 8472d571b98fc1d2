//! The labelled corpus of hits (`tests/verdicts/corpus.tsv`): opens and clicks as mail clients,
//! image proxies, security gateways, link unfurlers and scripts make them, each labelled human
//! or machine and citing where its signature or behaviour is documented. The server's replay
//! (`beacon::tracking::replay`) sends them through the real endpoints and scores the verdicts.
//!
//! ```
//! let scenarios = beacon_tracking::corpus::parse(beacon_tracking::corpus::CORPUS).unwrap();
//! assert!(scenarios.iter().map(|s| s.hits.len()).sum::<usize>() >= 80);
//! ```

use std::collections::HashMap;

/// The shipped corpus.
pub const CORPUS: &str = include_str!("../tests/verdicts/corpus.tsv");

/// Hits made on one email, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// Its name in the file.
    pub name: String,
    /// Its hits, in file order.
    pub hits: Vec<CorpusHit>,
}

/// One labelled hit.
#[derive(Debug, Clone, PartialEq)]
pub struct CorpusHit {
    /// Seconds after the email's delivery (the first hit of a scenario sets the delivery time;
    /// later ones are made that much later).
    pub at_secs: f64,
    /// `true` for a click, `false` for an open.
    pub click: bool,
    /// `GET` or `HEAD`.
    pub method: String,
    /// The client address (sent as `X-Forwarded-For`), if any.
    pub ip: Option<String>,
    /// The `User-Agent`, if any; `{chrome}` / `{firefox}` stand for the current major version.
    pub user_agent: Option<String>,
    /// A `Sec-Purpose` header value, if any.
    pub purpose: Option<String>,
    /// Clicks: which link of the email (0–3).
    pub link: u32,
    /// `None` for a person; for a machine, the reason Beacon should give.
    pub expect: Option<String>,
    /// Where the signature or behaviour is documented.
    pub source: String,
}

/// Parses the corpus: one tab-separated line per hit (`scenario at_secs kind method ip
/// user_agent purpose link expect source`, `-` for none), `#` comments and blank lines skipped;
/// the error names the line.
pub fn parse(text: &str) -> Result<Vec<Scenario>, String> {
    let mut scenarios: Vec<Scenario> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let at = |e: &str| format!("corpus line {}: {e}", n + 1);
        let cols: Vec<&str> = line.split('\t').collect();
        let [
            name,
            secs,
            kind,
            method,
            ip,
            ua,
            purpose,
            link,
            expect,
            source,
        ] = cols[..]
        else {
            return Err(at("expected 10 tab-separated columns"));
        };
        let opt = |s: &str| (s != "-").then(|| s.to_string());
        let hit = CorpusHit {
            at_secs: secs.parse().map_err(|_| at("at_secs is not a number"))?,
            click: match kind {
                "click" => true,
                "open" => false,
                _ => return Err(at("kind is open or click")),
            },
            method: method.to_string(),
            ip: opt(ip),
            user_agent: opt(ua),
            purpose: opt(purpose),
            link: if link == "-" {
                0
            } else {
                link.parse().map_err(|_| at("link is a number or -"))?
            },
            expect: match expect {
                "human" => None,
                reason => Some(reason.to_string()),
            },
            source: source.to_string(),
        };
        if !hit.source.starts_with("https://") {
            return Err(at("every hit needs an https source"));
        }
        let i = *index.entry(name.to_string()).or_insert_with(|| {
            scenarios.push(Scenario {
                name: name.to_string(),
                hits: Vec::new(),
            });
            scenarios.len() - 1
        });
        scenarios[i].hits.push(hit);
    }
    Ok(scenarios)
}

/// How the verdicts compared with the labels.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Score {
    /// Hits scored.
    pub total: usize,
    /// Hits whose verdict (human or machine) matches the label.
    pub correct: usize,
    /// Labelled human.
    pub humans: usize,
    /// Labelled human, judged machine: must be zero.
    pub humans_flagged: usize,
    /// Labelled machine, judged human.
    pub machines_missed: usize,
    /// Machine verdicts whose reason differs from the label's (still counted correct).
    pub other_reason: usize,
    /// One line per wrong verdict.
    pub mistakes: Vec<String>,
}

impl Score {
    /// Adds one hit: its label and the verdict Beacon recorded (`None` = human).
    pub fn add(&mut self, scenario: &str, hit: &CorpusHit, got: Option<&str>) {
        self.total += 1;
        if hit.expect.is_none() {
            self.humans += 1;
        }
        match (hit.expect.as_deref(), got) {
            (None, None) => self.correct += 1,
            (Some(want), Some(got)) => {
                self.correct += 1;
                if want != got {
                    self.other_reason += 1;
                }
            }
            (None, Some(got)) => {
                self.humans_flagged += 1;
                self.mistakes.push(format!(
                    "{scenario}: a person judged {got} ({})",
                    hit.source
                ));
            }
            (Some(want), None) => {
                self.machines_missed += 1;
                self.mistakes
                    .push(format!("{scenario}: {want} judged human ({})", hit.source));
            }
        }
    }

    /// Correct verdicts over all hits, 0.0–1.0.
    #[must_use]
    pub fn accuracy(&self) -> f64 {
        if self.total == 0 {
            return 0.0;
        }
        self.correct as f64 / self.total as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_corpus_parses_and_is_large_enough() {
        let s = parse(CORPUS).unwrap();
        let hits: Vec<&CorpusHit> = s.iter().flat_map(|s| &s.hits).collect();
        assert!(hits.len() >= 80, "{}", hits.len());
        assert!(hits.iter().any(|h| h.expect.is_none()));
        assert!(hits.iter().any(|h| h.expect.is_some()));
        let reasons = hits.iter().filter_map(|h| h.expect.as_deref());
        for r in reasons {
            assert!(
                crate::classify::REASONS.iter().any(|(name, _)| *name == r),
                "unknown reason {r}"
            );
        }
    }

    #[test]
    fn scoring() {
        let hit = |expect: Option<&str>| CorpusHit {
            at_secs: 0.0,
            click: true,
            method: "GET".into(),
            ip: None,
            user_agent: None,
            purpose: None,
            link: 0,
            expect: expect.map(str::to_string),
            source: "https://x".into(),
        };
        let mut s = Score::default();
        s.add("a", &hit(None), None);
        s.add("b", &hit(Some("too_soon")), Some("click_burst"));
        s.add("c", &hit(None), Some("too_soon"));
        s.add("d", &hit(Some("too_soon")), None);
        assert_eq!(
            (s.total, s.correct, s.humans, s.humans_flagged),
            (4, 2, 2, 1)
        );
        assert_eq!(
            (s.machines_missed, s.other_reason, s.mistakes.len()),
            (1, 1, 2)
        );
        assert!((s.accuracy() - 0.5).abs() < 1e-9);
        assert!(parse("x\t1\topen").unwrap_err().contains("line 1"));
    }
}
