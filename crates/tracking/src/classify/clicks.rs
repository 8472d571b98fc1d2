//! Verdicts that need an email's other clicks: bursts (a scanner following every link at once)
//! and re-checks (a gateway fetching a link again seconds after a person's click). The server
//! judges them where it applies hits to the store, over every recorded click of the email in the
//! window, so clicks answered by different nodes count together and earlier clicks are
//! corrected once a later one reveals them.
//!
//! A click's *client fingerprint* ([`fingerprint`]) stands for its network and its kind of
//! client without keeping either: two keyed hashes that are equal only for the same /24 (IPv6:
//! /48) or the same kind of client, on the same email.

use std::net::IpAddr;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::agents::client_kind;
use super::networks::{Scope, network};
use super::{ClassifyConfig, MachineReason, truncate_ip};

/// The window a burst's clicks fall in.
pub const BURST_WINDOW_MS: i64 = 2_000;

/// One click of an email, as recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Click<'a> {
    /// When it was answered, Unix milliseconds.
    pub at_ms: i64,
    /// The link's index in the email.
    pub link: u32,
    /// Its [`fingerprint`], if known.
    pub client: Option<&'a str>,
    /// Already judged a machine's.
    pub machine: bool,
}

/// The client fingerprint of a hit on `email_id` from `ip` with `user_agent`: 16 hex digits
/// (network, kind of client), then `v` when `ip` is in a gateway's published network.
/// `key` is the server's secret, so the hashes cannot be reversed by trying every network.
///
/// ```
/// use beacon_tracking::classify::fingerprint;
/// let a = fingerprint(b"k", "e1", "198.51.100.7".parse().unwrap(), Some("Mozilla/5.0 (Windows NT 10.0) Chrome/126.0"));
/// let b = fingerprint(b"k", "e1", "198.51.100.200".parse().unwrap(), Some("Mozilla/5.0 (Windows NT 10.0) Chrome/127.0"));
/// assert_eq!(a, b); // same /24, same kind of client
/// assert_eq!(a.len(), 16);
/// assert!(fingerprint(b"k", "e1", "205.139.110.9".parse().unwrap(), None).ends_with('v'));
/// ```
#[must_use]
pub fn fingerprint(key: &[u8], email_id: &str, ip: IpAddr, user_agent: Option<&str>) -> String {
    let (app, os) = client_kind(user_agent.unwrap_or_default());
    let net = truncate_ip(ip).to_string();
    let mut out = format!(
        "{}{}",
        hash8(key, &[email_id, "net", &net]),
        hash8(key, &[email_id, "kind", app, os])
    );
    if network(ip).is_some_and(|n| matches!(n.scope, Scope::Scanner | Scope::Isolation)) {
        out.push('v');
    }
    out
}

fn hash8(key: &[u8], parts: &[&str]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    for p in parts {
        mac.update(p.as_bytes());
        mac.update(&[0]);
    }
    let tag = mac.finalize().into_bytes();
    tag[..4].iter().map(|b| format!("{b:02x}")).collect()
}

struct Parts<'a> {
    net: &'a str,
    kind: &'a str,
    vendor: bool,
}

fn parts(client: Option<&str>) -> Option<Parts<'_>> {
    let c = client?;
    (c.len() >= 16 && c.is_char_boundary(8) && c.is_char_boundary(16)).then(|| Parts {
        net: &c[..8],
        kind: &c[8..16],
        vendor: c[16..].contains('v'),
    })
}

/// Judges an email's clicks, given in time order: for each, the machine reason it gets now, or
/// `None` when it keeps its verdict (clicks already judged machine are never given a new one).
///
/// - `click_burst`: at least `cfg.burst_clicks + 1` clicks within [`BURST_WINDOW_MS`] — every
///   click of such a window, the first ones too.
/// - `gateway_recheck`: two fetches of the same link within `cfg.recheck_secs`, the earlier one
///   a person's: the later one when it comes from another network *and* another kind of client;
///   when exactly one of the two comes from a gateway's published network, that one (a
///   gateway's click-time check can arrive just before the person it lets through).
///
/// ```
/// use beacon_tracking::classify::{judge_clicks, Click, ClassifyConfig, MachineReason};
/// let c = |at_ms, link| Click { at_ms, link, client: None, machine: false };
/// let v = judge_clicks(&[c(0, 0), c(400, 1), c(800, 2)], &ClassifyConfig::default());
/// assert_eq!(v, [Some(MachineReason::ClickBurst); 3]);
/// let two = judge_clicks(&[c(0, 0), c(5_000, 1)], &ClassifyConfig::default());
/// assert_eq!(two, [None, None]);
/// ```
#[must_use]
pub fn judge_clicks(clicks: &[Click<'_>], cfg: &ClassifyConfig) -> Vec<Option<MachineReason>> {
    let mut out = vec![None; clicks.len()];
    let mut machine: Vec<bool> = clicks.iter().map(|c| c.machine).collect();
    if cfg.burst_clicks > 0 {
        let need = cfg.burst_clicks as usize + 1;
        for i in 0..clicks.len() {
            let end = clicks[i..].partition_point(|c| c.at_ms - clicks[i].at_ms < BURST_WINDOW_MS);
            if end >= need {
                for j in i..i + end {
                    if !machine[j] {
                        machine[j] = true;
                        out[j] = Some(MachineReason::ClickBurst);
                    }
                }
            }
        }
    }
    // Re-checks: only pairs of clicks still human on the same link, looking back no further than
    // the window (clicks are in time order), so an email scanned hundreds of times costs little.
    let recheck_ms = (cfg.recheck_secs * 1000.0) as i64;
    for later in 0..clicks.len() {
        let b = &clicks[later];
        let Some(pb) = parts(b.client).filter(|_| !machine[later]) else {
            continue;
        };
        for earlier in (0..later).rev() {
            let a = &clicks[earlier];
            if b.at_ms - a.at_ms > recheck_ms {
                break;
            }
            if a.link != b.link || machine[earlier] {
                continue;
            }
            let Some(pa) = parts(a.client) else {
                continue;
            };
            let flagged = match (pa.vendor, pb.vendor) {
                (true, false) => Some(earlier),
                (false, true) => Some(later),
                _ => (pa.net != pb.net && pa.kind != pb.kind).then_some(later),
            };
            if let Some(i) = flagged {
                machine[i] = true;
                out[i] = Some(MachineReason::GatewayRecheck);
                if i == later {
                    break;
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn click(at_ms: i64, link: u32, client: &str) -> Click<'_> {
        Click {
            at_ms,
            link,
            client: Some(client),
            machine: false,
        }
    }

    const PHONE: &str = "aaaaaaaa11111111";
    const DESK: &str = "bbbbbbbb22222222";
    const SAME_NET_OTHER_APP: &str = "aaaaaaaa33333333";
    const GATEWAY: &str = "cccccccc11111111v";

    #[test]
    fn a_burst_is_machine_from_its_first_click() {
        let cfg = ClassifyConfig::default();
        let v = judge_clicks(
            &[
                click(0, 0, PHONE),
                click(900, 1, PHONE),
                click(1_999, 2, PHONE),
                click(9_000, 0, PHONE),
            ],
            &cfg,
        );
        assert_eq!(v[..3], [Some(MachineReason::ClickBurst); 3]);
        assert_eq!(v[3], None);
        // Two clicks a second apart (a double click) stay human; so does 3 spread over 2 s.
        assert_eq!(
            judge_clicks(&[click(0, 0, PHONE), click(300, 0, PHONE)], &cfg),
            [None, None]
        );
        assert_eq!(
            judge_clicks(
                &[
                    click(0, 0, PHONE),
                    click(1_000, 1, PHONE),
                    click(2_000, 2, PHONE)
                ],
                &cfg
            ),
            [None, None, None]
        );
        let off = ClassifyConfig::default().burst_clicks(0);
        assert_eq!(
            judge_clicks(
                &[click(0, 0, PHONE), click(1, 1, PHONE), click(2, 2, PHONE)],
                &off
            ),
            [None; 3]
        );
    }

    #[test]
    fn already_machine_clicks_count_in_a_burst_but_are_not_relabelled() {
        let mut first = click(0, 0, PHONE);
        first.machine = true;
        let v = judge_clicks(
            &[first, click(100, 1, PHONE), click(200, 2, PHONE)],
            &ClassifyConfig::default(),
        );
        assert_eq!(
            v,
            [
                None,
                Some(MachineReason::ClickBurst),
                Some(MachineReason::ClickBurst)
            ]
        );
    }

    #[test]
    fn a_second_fetch_from_elsewhere_by_another_client_is_a_recheck() {
        let cfg = ClassifyConfig::default();
        let r = Some(MachineReason::GatewayRecheck);
        assert_eq!(
            judge_clicks(&[click(0, 3, PHONE), click(6_000, 3, DESK)], &cfg),
            [None, r]
        );
        // Same network (a person's second device at home), or the same kind of client: human.
        assert_eq!(
            judge_clicks(
                &[click(0, 3, PHONE), click(6_000, 3, SAME_NET_OTHER_APP)],
                &cfg
            ),
            [None, None]
        );
        // Another link, or too late: human.
        assert_eq!(
            judge_clicks(&[click(0, 3, PHONE), click(6_000, 4, DESK)], &cfg),
            [None, None]
        );
        assert_eq!(
            judge_clicks(&[click(0, 3, PHONE), click(31_000, 3, DESK)], &cfg),
            [None, None]
        );
        // A gateway's network first: the gateway is the machine, the person after it is not.
        assert_eq!(
            judge_clicks(&[click(0, 3, GATEWAY), click(800, 3, DESK)], &cfg),
            [r, None]
        );
        assert_eq!(
            judge_clicks(&[click(0, 3, DESK), click(800, 3, GATEWAY)], &cfg),
            [None, r]
        );
        // Unknown fingerprints decide nothing.
        let bare = Click {
            client: None,
            ..click(6_000, 3, DESK)
        };
        assert_eq!(
            judge_clicks(&[click(0, 3, PHONE), bare], &cfg),
            [None, None]
        );
    }

    #[test]
    fn fingerprints_differ_by_email_and_key() {
        let ip = "198.51.100.7".parse().unwrap();
        let ua = Some("Mozilla/5.0 (Windows NT 10.0) Chrome/126.0");
        assert_ne!(
            fingerprint(b"k", "e1", ip, ua),
            fingerprint(b"k", "e2", ip, ua)
        );
        assert_ne!(
            fingerprint(b"k", "e1", ip, ua),
            fingerprint(b"j", "e1", ip, ua)
        );
        let other_net = fingerprint(b"k", "e1", "198.51.101.7".parse().unwrap(), ua);
        assert_ne!(other_net[..8], fingerprint(b"k", "e1", ip, ua)[..8]);
        assert_eq!(other_net[8..], fingerprint(b"k", "e1", ip, ua)[8..]);
    }
}
