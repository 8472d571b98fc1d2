//! Custom tracking domains, served: which host a request came to (`host.rs`), DNS
//! verification (`dns.rs`, `check.rs`) and the scheduled re-checks (`schedule.rs`). What a project may add, verify and remove is in `crate::actions::domains`;
//! the rows are in `crate::store::domains`.

pub(crate) mod check;
mod dns;
pub mod host;
pub mod schedule;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub use check::{Record, records, txt_name, txt_value};
pub use dns::{Dns, Lookup};

use crate::store::{self, Db};

/// How long a host's answer (a project, or none) is remembered by this node. Verifying or
/// removing a domain forgets it at once here; other nodes see the change within this time.
const HOST_TTL: Duration = Duration::from_secs(10);
/// Past this many hosts or emails a map starts over.
const CAPACITY: usize = 100_000;

/// What the tracking-domain features share: the resolver, the instance's own host, and the
/// serving caches.
pub struct TrackingDomains {
    pub dns: Dns,
    /// The host of the public URL, lower case, without port; `None` when it is an IP address
    /// or `localhost` (such an instance offers only the TXT record).
    pub instance_host: Option<String>,
    /// The public URL's host as given (name or address), for telling Beacon's own requests.
    own_host: String,
    hosts: Mutex<HashMap<String, (Option<String>, Instant)>>,
    /// Email id → its project: an email never changes project.
    emails: Mutex<HashMap<[u8; 16], String>>,
}

impl TrackingDomains {
    /// `public_url`: the instance's base URL; `dns_server`: `BEACON_DNS_SERVER`.
    ///
    /// # Errors
    /// The resolver cannot be configured (no system configuration and no server given).
    pub fn new(public_url: &str, dns_server: Option<SocketAddr>) -> anyhow::Result<Self> {
        let own_host = url::Url::parse(public_url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
            .unwrap_or_default();
        let named = !own_host.is_empty()
            && own_host.parse::<std::net::IpAddr>().is_err()
            && !own_host.starts_with('[')
            && own_host != "localhost";
        Ok(TrackingDomains {
            dns: Dns::new(dns_server)?,
            instance_host: named.then(|| own_host.clone()),
            own_host,
            hosts: Mutex::default(),
            emails: Mutex::default(),
        })
    }

    /// Whether `host` (any case, no port) is the instance's own public host.
    pub fn is_own(&self, host: &str) -> bool {
        host.eq_ignore_ascii_case(&self.own_host)
    }

    /// The project whose links `host` serves (a domain verified at least once), remembered
    /// for [`HOST_TTL`].
    pub async fn serving(&self, db: &Db, host: &str) -> Result<Option<String>, sqlx::Error> {
        {
            let map = self.hosts.lock().unwrap_or_else(|p| p.into_inner());
            if let Some((project, at)) = map.get(host)
                && at.elapsed() < HOST_TTL
            {
                return Ok(project.clone());
            }
        }
        let project = store::domains::serving(db, host).await?;
        let mut map = self.hosts.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= CAPACITY {
            map.clear();
        }
        map.insert(host.to_string(), (project.clone(), Instant::now()));
        Ok(project)
    }

    /// Forgets what this node remembers of `host` (after it was verified or removed).
    pub fn forget(&self, host: &str) {
        let mut map = self.hosts.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(host);
    }

    /// Whether the email is one of `project`'s (from memory once seen).
    pub async fn email_in(
        &self,
        db: &Db,
        email: [u8; 16],
        project: &str,
    ) -> Result<bool, sqlx::Error> {
        {
            let map = self.emails.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(owner) = map.get(&email) {
                return Ok(owner == project);
            }
        }
        let id = uuid::Uuid::from_bytes(email).to_string();
        let Some(owner) = store::domains::project_of_email(db, &id).await? else {
            return Ok(false);
        };
        let mut map = self.emails.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= CAPACITY {
            map.clear();
        }
        let same = owner == project;
        map.insert(email, owner);
        Ok(same)
    }
}
