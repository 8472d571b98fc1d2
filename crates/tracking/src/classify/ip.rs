//! IP helpers: Apple's network and truncation for privacy.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::networks::{Scope, network};

/// True for Apple's network in `networks.tsv` (17.0.0.0/8, registered to Apple Inc. at ARIN),
/// where Mail Privacy Protection's proxies fetch images from.
///
/// ```
/// use beacon_tracking::classify::is_apple;
/// assert!(is_apple("17.58.0.1".parse().unwrap()));
/// assert!(!is_apple("18.0.0.1".parse().unwrap()));
/// ```
#[must_use]
pub fn is_apple(ip: IpAddr) -> bool {
    network(ip).is_some_and(|n| n.scope == Scope::Apple)
}

/// Zeroes the host part of an address for storage when the project keeps IPs truncated: a /24
/// for IPv4, a /48 for IPv6 (an IPv4-mapped IPv6 address is truncated as IPv4).
///
/// ```
/// use beacon_tracking::classify::truncate_ip;
/// assert_eq!(truncate_ip("203.0.113.77".parse().unwrap()).to_string(), "203.0.113.0");
/// assert_eq!(truncate_ip("2001:db8:1:2:3::4".parse().unwrap()).to_string(), "2001:db8:1::");
/// ```
#[must_use]
pub fn truncate_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => IpAddr::V4(truncate_v4(v4)),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V6(truncate_v4(v4).to_ipv6_mapped()),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], 0, 0, 0, 0, 0))
            }
        },
    }
}

fn truncate_v4(v4: Ipv4Addr) -> Ipv4Addr {
    let [a, b, c, _] = v4.octets();
    Ipv4Addr::new(a, b, c, 0)
}
