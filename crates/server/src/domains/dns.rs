//! DNS lookups for domain verification (hickory-resolver), against the system's nameservers or
//! the one `BEACON_DNS_SERVER` names (tests run their own; a deployment may use a resolver it
//! trusts). Answers are not cached: a check must see the records as they are now.

use std::net::SocketAddr;
use std::time::Duration;

use hickory_resolver::config::{NameServerConfig, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::{RData, RecordType};
use hickory_resolver::{Resolver, TokioResolver};

/// What a lookup found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// The records' values (CNAME targets, TXT texts).
    Found(Vec<String>),
    /// The name has no such record (or does not exist).
    None,
    /// The lookup itself failed (timeout, refused): nothing is known.
    Failed(String),
}

/// The longest one lookup may take, every try of the resolver's included.
pub const LOOKUP_BUDGET: Duration = Duration::from_secs(4);

pub struct Dns {
    resolver: TokioResolver,
}

impl Dns {
    /// A resolver asking `server` (UDP, then TCP for truncated answers), or the system's
    /// nameservers (`/etc/resolv.conf`) when `None`.
    ///
    /// # Errors
    /// The resolver cannot be built.
    pub fn new(server: Option<SocketAddr>) -> anyhow::Result<Dns> {
        let provider = TokioRuntimeProvider::default();
        let mut builder = match server {
            Some(addr) => {
                let mut ns = NameServerConfig::udp_and_tcp(addr.ip());
                for c in &mut ns.connections {
                    c.port = addr.port();
                }
                Resolver::builder_with_config(ResolverConfig::from_name_servers(vec![ns]), provider)
            }
            // Without a readable /etc/resolv.conf Beacon still starts; every check then fails
            // with the resolver's reason, and the log names the setting.
            None => Resolver::builder(provider.clone()).unwrap_or_else(|e| {
                tracing::warn!(error = %e, "no system DNS configuration: tracking domains cannot \
                    be verified until BEACON_DNS_SERVER is set");
                Resolver::builder_with_config(ResolverConfig::from_name_servers(vec![]), provider)
            }),
        };
        let opts = builder.options_mut();
        // A check must see the records as they are now, not as a cache remembers them.
        opts.cache_size = 0;
        opts.positive_max_ttl = Some(Duration::ZERO);
        opts.negative_max_ttl = Some(Duration::ZERO);
        opts.timeout = Duration::from_secs(3);
        opts.attempts = 1;
        let resolver = builder
            .build()
            .map_err(|e| anyhow::anyhow!("building the DNS resolver: {e}"))?;
        Ok(Dns { resolver })
    }

    /// The CNAME targets of `name`.
    pub async fn cname(&self, name: &str) -> Lookup {
        self.lookup(name, RecordType::CNAME, |data| match data {
            RData::CNAME(target) => Some(target.0.to_ascii()),
            _ => None,
        })
        .await
    }

    /// The TXT texts at `name` (each record's strings joined, as RFC 7208 §3.3 reads them).
    pub async fn txt(&self, name: &str) -> Lookup {
        self.lookup(name, RecordType::TXT, |data| match data {
            RData::TXT(txt) => Some(
                txt.txt_data
                    .iter()
                    .map(|part| String::from_utf8_lossy(part).into_owned())
                    .collect(),
            ),
            _ => None,
        })
        .await
    }

    async fn lookup(
        &self,
        name: &str,
        kind: RecordType,
        value: impl Fn(&RData) -> Option<String>,
    ) -> Lookup {
        // Fully qualified: no search domain of the system's is tried.
        let fqdn = format!("{}.", name.trim_end_matches('.'));
        // The resolver may try more than once (UDP, then TCP; a silent server answers nothing):
        // a person pressing Verify waits for one bounded answer.
        let answer = tokio::time::timeout(LOOKUP_BUDGET, self.resolver.lookup(fqdn.as_str(), kind));
        let Ok(answer) = answer.await else {
            return Lookup::Failed(format!("no answer within {} s", LOOKUP_BUDGET.as_secs()));
        };
        match answer {
            Ok(found) => {
                let values: Vec<String> = found
                    .answers()
                    .iter()
                    .filter_map(|r| value(&r.data))
                    .collect();
                if values.is_empty() {
                    Lookup::None
                } else {
                    Lookup::Found(values)
                }
            }
            Err(e) if e.is_no_records_found() || e.is_nx_domain() => Lookup::None,
            Err(e) => Lookup::Failed(e.to_string()),
        }
    }
}
