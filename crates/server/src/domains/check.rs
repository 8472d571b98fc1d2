//! What proves a tracking domain is the project's and points at Beacon, and the DNS records a
//! project is asked to create for it.
//!
//! Either record verifies a domain:
//! - a CNAME from the domain to the instance's host (the host of `BEACON_PUBLIC_URL`), which
//!   also sends the domain's traffic to Beacon; not offered when that host is an IP address
//!   or `localhost` (a CNAME names a name, RFC 1034 §3.6.2);
//! - a TXT record at `_beacon.<domain>` holding `beacon-verify=<token>`, the token Beacon made
//!   when the domain was added: proof of control when the domain reaches Beacon another way
//!   (an A record, a load balancer).

use super::dns::{Dns, Lookup};
use crate::store::domains::Domain;

/// One DNS record to create, as a DNS provider's form asks for it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Record {
    /// `CNAME` or `TXT`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The record's full name.
    pub name: String,
    /// Its value.
    pub value: String,
}

/// The TXT record's name for `hostname`.
pub fn txt_name(hostname: &str) -> String {
    format!("_beacon.{hostname}")
}

/// The TXT record's value for a domain's token.
pub fn txt_value(token: &str) -> String {
    format!("beacon-verify={token}")
}

/// The records that verify `domain`: the CNAME (when the instance has a host name) and the TXT.
pub fn records(domain: &Domain, instance_host: Option<&str>) -> Vec<Record> {
    let mut out = Vec::with_capacity(2);
    if let Some(host) = instance_host {
        out.push(Record {
            kind: "CNAME",
            name: domain.hostname.clone(),
            value: host.to_string(),
        });
    }
    out.push(Record {
        kind: "TXT",
        name: txt_name(&domain.hostname),
        value: txt_value(&domain.token),
    });
    out
}

/// Looks the records up. `Ok` when one of them is there; otherwise why not, in words that
/// name what was found (kept as the domain's `lastError`).
pub async fn verify(dns: &Dns, domain: &Domain, instance_host: Option<&str>) -> Result<(), String> {
    let name = txt_name(&domain.hostname);
    // Both lookups at once: a check takes one lookup's time at most (`dns::LOOKUP_BUDGET`).
    let cname = async {
        match instance_host {
            Some(_) => Some(dns.cname(&domain.hostname).await),
            None => None,
        }
    };
    let (cname, txt) = tokio::join!(cname, dns.txt(&name));
    let mut found = Vec::new();
    if let (Some(host), Some(cname)) = (instance_host, cname) {
        match cname {
            Lookup::Found(targets) => {
                if targets.iter().any(|t| same_name(t, host)) {
                    return Ok(());
                }
                found.push(format!(
                    "{} is a CNAME to {}, not to {host}",
                    domain.hostname,
                    targets.join(", ")
                ));
            }
            Lookup::None => found.push(format!("{} has no CNAME record", domain.hostname)),
            Lookup::Failed(e) => found.push(format!("the CNAME lookup failed: {e}")),
        }
    }
    let wanted = txt_value(&domain.token);
    match txt {
        Lookup::Found(texts) => {
            if texts.iter().any(|t| t.trim() == wanted) {
                return Ok(());
            }
            found.push(format!("{name} has no TXT record {wanted:?}"));
        }
        Lookup::None => found.push(format!("{name} has no TXT record")),
        Lookup::Failed(e) => found.push(format!("the TXT lookup failed: {e}")),
    }
    Err(found.join("; "))
}

/// DNS names compare without case and without the root's trailing dot.
fn same_name(a: &str, b: &str) -> bool {
    a.trim_end_matches('.')
        .eq_ignore_ascii_case(b.trim_end_matches('.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_compare_as_dns_does() {
        assert!(same_name("Beacon.Example.com.", "beacon.example.com"));
        assert!(!same_name("beacon.example.com.evil", "beacon.example.com"));
    }
}
