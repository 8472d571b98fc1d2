//! Where a workflow webhook may connect: public addresses only, unless BEACON_WEBHOOK_ALLOW
//! names the host or range. A webhook's URL is chosen by whoever holds the secret key, so
//! without this Beacon would post (and report the status of) requests to its own loopback,
//! the private network it sits in, or a cloud metadata service (SSRF).
//!
//! The check is made on the addresses a name resolves to, by the resolver the HTTP client
//! connects with (`GuardedResolver`): the client only ever connects to an address that was
//! checked, so a name that resolves to a public address for the check and a private one for the
//! connection (DNS rebinding) cannot slip through. Literal addresses in a URL never reach a
//! resolver and are checked by [`check_literal`]; redirects are never followed.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use ipnet::IpNet;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// BEACON_WEBHOOK_ALLOW: host names (exact, any case) whose every address is allowed, and
/// address ranges allowed whatever name led to them.
#[derive(Debug, Clone, Default)]
pub struct AllowList {
    hosts: Vec<String>,
    nets: Vec<IpNet>,
}

impl AllowList {
    /// Comma-separated entries: a CIDR range (`10.0.0.0/8`, `fd00::/8`), an address (`127.0.0.1`,
    /// `::1`, the range of that one address) or a host name (`hooks.internal`).
    pub fn parse(list: &str) -> anyhow::Result<AllowList> {
        let mut allow = AllowList::default();
        for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            if let Ok(net) = entry.parse::<IpNet>() {
                allow.nets.push(net.trunc());
            } else if let Ok(ip) = entry.trim_matches(['[', ']']).parse::<IpAddr>() {
                allow.nets.push(IpNet::from(ip));
            } else if entry
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
                && !entry.starts_with(['.', '-'])
            {
                allow
                    .hosts
                    .push(entry.trim_end_matches('.').to_ascii_lowercase());
            } else {
                anyhow::bail!(
                    "{entry:?} is not a host name, an IP address or a CIDR range like 10.0.0.0/8"
                );
            }
        }
        Ok(allow)
    }

    pub fn allows_host(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.');
        self.hosts.iter().any(|h| h.eq_ignore_ascii_case(host))
    }

    pub fn allows_ip(&self, ip: IpAddr) -> bool {
        self.nets.iter().any(|n| n.contains(&canonical(ip)))
    }
}

/// An IPv6 address that carries an IPv4 one (mapped `::ffff:a.b.c.d`, the NAT64 prefix
/// `64:ff9b::/96`) is judged as that IPv4 address: that is where a connection to it goes.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return IpAddr::V4(v4);
            }
            let s = v6.segments();
            if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
                let [.., a, b, c, d] = v6.octets();
                return IpAddr::V4(Ipv4Addr::new(a, b, c, d));
            }
            IpAddr::V6(v6)
        }
        v4 => v4,
    }
}

/// Why `ip` is no public address a webhook may reach, or `None` for a public one. Covers the
/// IANA special-purpose registries' ranges that are not globally reachable (RFC 6890 and its
/// updates), cloud metadata services included (`169.254.169.254` is link-local,
/// `fd00:ec2::254` unique-local, `100.100.100.200` shared address space).
pub fn forbidden(ip: IpAddr) -> Option<&'static str> {
    match canonical(ip) {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => forbidden_v6(v6),
    }
}

fn forbidden_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    Some(match (a, b, c) {
        (0, ..) => "an unspecified (\"this network\") address",
        (10, ..) | (172, 16..=31, _) | (192, 168, _) => "a private address",
        (100, 64..=127, _) => "a shared (carrier-grade NAT) address",
        (127, ..) => "a loopback address",
        (169, 254, _) => "a link-local address (cloud metadata services live here)",
        (192, 0, 0) => "an IETF protocol address",
        (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => "a documentation address",
        (192, 88, 99) => "a 6to4 relay address",
        (198, 18..=19, _) => "a benchmarking address",
        (224..=239, ..) => "a multicast address",
        (240..=255, ..) => "a reserved or broadcast address",
        _ => return None,
    })
}

fn forbidden_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let s = ip.segments();
    Some(if ip.is_unspecified() {
        "an unspecified address"
    } else if ip.is_loopback() {
        "a loopback address"
    } else if s[0] & 0xffc0 == 0xfe80 {
        "a link-local address"
    } else if s[0] & 0xfe00 == 0xfc00 {
        "a unique-local (private) address (cloud metadata services live here too)"
    } else if s[0] & 0xff00 == 0xff00 {
        "a multicast address"
    } else if s[0] == 0x2001 && s[1] == 0x0db8 {
        "a documentation address"
    } else if s[0] == 0x2002 {
        // 6to4 carries an IPv4 address; a relay would reach it, so judge that one.
        let [_, _, a, b, c, d, ..] = ip.octets();
        return forbidden_v4(Ipv4Addr::new(a, b, c, d));
    } else if s[0] == 0x2001 && s[1] < 0x0200 {
        "an IETF protocol address (Teredo, ORCHID, …)"
    } else if s[0] == 0x0100 && s[1..4] == [0, 0, 0] {
        "a discard-only address"
    } else if s[0] & 0xe000 != 0x2000 {
        "an address outside the global unicast range"
    } else {
        return None;
    })
}

/// A webhook URL's host when it is a literal address (no resolver sees those): refused when it
/// is not public and not allowed.
pub fn check_literal(url: &reqwest::Url, allow: &AllowList) -> Result<(), String> {
    let ip = match url.host() {
        Some(url::Host::Ipv4(v4)) => IpAddr::V4(v4),
        Some(url::Host::Ipv6(v6)) => IpAddr::V6(v6),
        _ => return Ok(()),
    };
    match forbidden(ip) {
        Some(why) if !allow.allows_ip(ip) => Err(refusal(&ip.to_string(), ip, why)),
        _ => Ok(()),
    }
}

fn refusal(host: &str, ip: IpAddr, why: &str) -> String {
    format!(
        "refused: {host} is {ip}, {why}; webhooks only reach public addresses unless \
         BEACON_WEBHOOK_ALLOW names the host or range"
    )
}

/// The error a refused name resolves to; [`super::webhook::post`] finds it in reqwest's error.
#[derive(Debug)]
pub struct Refused(pub String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

/// Resolves with the system resolver, then keeps only the addresses a webhook may reach; the
/// client connects to nothing else. A name with none left fails with [`Refused`].
pub struct GuardedResolver {
    pub allow: Arc<AllowList>,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow = self.allow.clone();
        Box::pin(async move {
            let host = name.as_str().to_string();
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if allow.allows_host(&host) {
                return Ok(Box::new(found.into_iter()) as Addrs);
            }
            let mut refused = None;
            let kept: Vec<SocketAddr> = found
                .into_iter()
                .filter(|a| match forbidden(a.ip()) {
                    Some(why) if !allow.allows_ip(a.ip()) => {
                        refused.get_or_insert((a.ip(), why));
                        false
                    }
                    _ => true,
                })
                .collect();
            match (kept.is_empty(), refused) {
                (true, Some((ip, why))) => Err(Box::new(Refused(refusal(&host, ip, why))) as _),
                _ => Ok(Box::new(kept.into_iter()) as Addrs),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn private_loopback_link_local_and_metadata_addresses_are_refused() {
        for bad in [
            "127.0.0.1",
            "127.255.0.9",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.100.100.200",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fe80::1",
            "fd00:ec2::254",
            "fc00::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
            "2002:7f00:1::",
            "2001:db8::1",
        ] {
            assert!(forbidden(ip(bad)).is_some(), "{bad} should be refused");
        }
    }

    #[test]
    fn public_addresses_pass() {
        for good in [
            "93.184.215.14",
            "1.1.1.1",
            "172.32.0.1",
            "100.128.0.1",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
            "2002:0808:0808::",
        ] {
            assert_eq!(forbidden(ip(good)), None, "{good} should pass");
        }
    }

    #[test]
    fn the_allow_list_takes_hosts_addresses_and_ranges() {
        let allow = AllowList::parse(" hooks.internal., 127.0.0.1 , 10.0.0.0/8,[::1]").unwrap();
        assert!(allow.allows_host("HOOKS.internal"));
        assert!(!allow.allows_host("other.internal"));
        assert!(allow.allows_ip(ip("127.0.0.1")));
        assert!(!allow.allows_ip(ip("127.0.0.2")));
        assert!(allow.allows_ip(ip("10.200.0.1")));
        assert!(allow.allows_ip(ip("::1")));
        assert!(allow.allows_ip(ip("::ffff:10.0.0.1")));
        assert!(AllowList::parse("bad host").is_err());
        assert!(AllowList::parse("").unwrap().nets.is_empty());
    }

    #[test]
    fn literal_urls_are_checked_without_a_resolver() {
        let none = AllowList::default();
        let url = |s: &str| reqwest::Url::parse(s).unwrap();
        assert!(check_literal(&url("http://169.254.169.254/latest/meta-data/"), &none).is_err());
        assert!(check_literal(&url("http://[::1]:8080/"), &none).is_err());
        assert!(
            check_literal(&url("http://2130706433/"), &none).is_err(),
            "127.0.0.1 as a number"
        );
        assert!(check_literal(&url("https://hooks.example.com/"), &none).is_ok());
        let allow = AllowList::parse("127.0.0.1").unwrap();
        assert!(check_literal(&url("http://127.0.0.1:9/"), &allow).is_ok());
    }
}
