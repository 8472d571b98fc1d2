//! Published networks of security gateways and Apple's proxies, kept as data in `networks.tsv`
//! (CIDR, product, scope, source, date), and looked up by binary search over sorted, disjoint
//! address ranges: one lookup is ~20 comparisons, cheap enough for every hit.

use std::net::IpAddr;
use std::sync::OnceLock;

use ipnet::IpNet;

/// What a match in `networks.tsv` means (its `scope` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// A gateway's mail-processing network, not people's browsing: a hit from it is a machine.
    Scanner,
    /// The vendor also runs browser isolation or a web proxy there, so people can come from it
    /// too: one weak signal, a machine only with another.
    Isolation,
    /// Apple's own network (Mail Privacy Protection's prefetch).
    Apple,
    /// iCloud Private Relay egress.
    Relay,
}

/// A network of `networks.tsv`: its product and scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Network {
    /// The vendor's product, e.g. `"Mimecast"`.
    pub product: &'static str,
    /// What a match means.
    pub scope: Scope,
}

/// One row as parsed: first and last address (IPv4 as IPv4-mapped IPv6), and the network.
#[derive(Debug, Clone, Copy)]
struct Range {
    first: u128,
    last: u128,
    network: Network,
}

/// Parses `networks.tsv` text: comment and blank lines are skipped; any other line must have
/// the five columns with a valid CIDR and scope, or the error names its line number.
fn parse(text: &'static str) -> Result<Vec<Range>, String> {
    let mut ranges = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let cols: Vec<&'static str> = line.split('\t').map(str::trim).collect();
        let [cidr, product, scope, source, date] = cols[..] else {
            return Err(format!("line {}: expected 5 tab-separated columns", n + 1));
        };
        let net: IpNet = cidr
            .parse()
            .map_err(|e| format!("line {}: {cidr}: {e}", n + 1))?;
        if net.trunc() != net {
            return Err(format!("line {}: {cidr} has host bits set", n + 1));
        }
        let scope = match scope {
            "scanner" => Scope::Scanner,
            "isolation" => Scope::Isolation,
            "apple" => Scope::Apple,
            "relay" => Scope::Relay,
            other => return Err(format!("line {}: unknown scope {other:?}", n + 1)),
        };
        if product.is_empty() || !source.starts_with("https://") || date.len() != 10 {
            return Err(format!(
                "line {}: product, https source and date are required",
                n + 1
            ));
        }
        ranges.push(Range {
            first: key(net.network()),
            last: key(net.broadcast()),
            network: Network { product, scope },
        });
    }
    ranges.sort_by_key(|r| r.first);
    if let Some(w) = ranges.windows(2).find(|w| w[1].first <= w[0].last) {
        return Err(format!(
            "{} and {} overlap",
            w[0].network.product, w[1].network.product
        ));
    }
    Ok(ranges)
}

/// The shipped table; a line the parser refuses empties it (the unit test below keeps the
/// shipped file valid, so that never happens in a release).
fn table() -> &'static [Range] {
    static TABLE: OnceLock<Vec<Range>> = OnceLock::new();
    TABLE.get_or_init(|| parse(include_str!("networks.tsv")).unwrap_or_default())
}

/// One number per address: IPv4 as its IPv4-mapped IPv6 form, so one table holds both.
fn key(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u128::from(v4.to_ipv6_mapped()),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

/// The published network `ip` belongs to, if any (an IPv4-mapped IPv6 address counts as IPv4).
///
/// ```
/// use beacon_tracking::classify::{network, Scope};
/// let mimecast = network("205.139.110.25".parse().unwrap()).unwrap();
/// assert_eq!((mimecast.product, mimecast.scope), ("Mimecast", Scope::Isolation));
/// assert_eq!(network("::ffff:17.58.1.2".parse().unwrap()).unwrap().scope, Scope::Apple);
/// assert_eq!(network("203.0.113.9".parse().unwrap()), None);
/// ```
#[must_use]
pub fn network(ip: IpAddr) -> Option<Network> {
    let k = key(ip);
    let ranges = table();
    let i = ranges.partition_point(|r| r.first <= k);
    let r = ranges.get(i.checked_sub(1)?)?;
    (k <= r.last).then_some(r.network)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_table_parses_and_has_no_overlaps() {
        let ranges = parse(include_str!("networks.tsv")).expect("networks.tsv is valid");
        assert!(ranges.len() >= 30);
        for scope in [Scope::Scanner, Scope::Isolation, Scope::Apple] {
            assert!(ranges.iter().any(|r| r.network.scope == scope), "{scope:?}");
        }
    }

    #[test]
    fn bad_lines_are_named() {
        let bad = [
            (
                "10.0.0.0/8\tX\tscanner\thttps://x\t2026-01-01\n10.1.0.0/16\tY\tscanner\thttps://x\t2026-01-01",
                "overlap",
            ),
            ("10.0.0.1/8\tX\tscanner\thttps://x\t2026-01-01", "host bits"),
            (
                "10.0.0.0/8\tX\tpeople\thttps://x\t2026-01-01",
                "unknown scope",
            ),
            ("10.0.0.0/8\tX\tscanner", "5 tab-separated"),
            ("10.0.0.0/33\tX\tscanner\thttps://x\t2026-01-01", "line 1"),
        ];
        for (text, want) in bad {
            let err = parse(text).unwrap_err();
            assert!(err.contains(want), "{err}");
        }
    }

    #[test]
    fn edges_of_a_range_match_and_neighbours_do_not() {
        let first = network("209.222.80.0".parse().unwrap()).unwrap();
        let last = network("209.222.87.255".parse().unwrap()).unwrap();
        assert_eq!(first, last);
        assert_eq!(first.scope, Scope::Scanner);
        assert_eq!(network("209.222.88.0".parse().unwrap()), None);
        assert_eq!(network("209.222.79.255".parse().unwrap()), None);
        let v6 = network("2a01:111:f400:7c00::1".parse().unwrap()).unwrap();
        assert_eq!(v6.product, "Microsoft Defender for Office 365");
        assert_eq!(network("2a01:111:f401::1".parse().unwrap()), None);
    }
}
