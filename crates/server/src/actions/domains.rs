//! A project's custom tracking domain: adding one, verifying it, removing it (the API's
//! `/v1/domains` and the dashboard's Settings → Domains).
//!
//! - A project has at most one live domain; one hostname belongs to one project at a time: the
//!   first to verify it (adding a name does not hold it, so no one can block a name they do not
//!   control; while two projects ask for one name, only a project's own TXT token verifies it).
//! - A domain is put in emails (links, pixel, unsubscribe page) only while VERIFIED: checked
//!   with a real DNS lookup (`crate::domains::check` says which records count). Until then,
//!   and while a re-check fails (FAILING), new emails use the public URL.
//! - Removing a domain stops its use in new emails; the host keeps serving the project's links
//!   already sent under it until another project claims the hostname.

use rand::Rng;

use crate::domain::{Hostname, HostnameError};
use crate::error::{ApiError, ApiResult};
use crate::startup::AppState;
use crate::store::{self, domains::Domain};

/// A domain as asked for, checked.
#[derive(Debug, Clone)]
pub struct NewDomain {
    pub hostname: Hostname,
    /// `https` or `http`.
    pub scheme: &'static str,
}

/// The one check of a requested domain, for every way in. `scheme`: `https` (the default when
/// `None` or empty) or `http`, any case.
///
/// # Errors
/// A 422 naming the field and saying which rule failed: `scheme` not one of the two;
/// `hostname` empty, not a hostname (RFC 1123 §2.1), an IP address, a URL, Beacon's own host,
/// another project's domain, already this project's, or the project already has one.
pub async fn validate(
    state: &AppState,
    project_id: &str,
    hostname: &str,
    scheme: Option<&str>,
) -> ApiResult<NewDomain> {
    let scheme = match scheme.map(str::trim).unwrap_or("") {
        "" => "https",
        s if s.eq_ignore_ascii_case("https") => "https",
        s if s.eq_ignore_ascii_case("http") => "http",
        _ => {
            return Err(ApiError::invalid(
                "scheme",
                "scheme must be https (the default) or http",
            ));
        }
    };
    let hostname = Hostname::parse(hostname).map_err(|e| {
        let message = match &e {
            HostnameError::IpAddress(_) => format!("not a hostname: {e}"),
            _ => e.to_string(),
        };
        ApiError::invalid("hostname", message)
    })?;
    let host = hostname.as_str();
    if state.domains.is_own(host) {
        return Err(ApiError::invalid(
            "hostname",
            format!(
                "{host} is Beacon's own host (BEACON_PUBLIC_URL): give a domain of your own, \
                 e.g. links.yourcompany.com"
            ),
        ));
    }
    let owners = store::domains::live_owners(&state.db, host).await?;
    if owners.iter().any(|(owner, _)| owner == project_id) {
        return Err(ApiError::invalid(
            "hostname",
            format!("{host} is already this project's tracking domain"),
        ));
    }
    // Another project's domain once it is verified; one merely added does not hold the name
    // (else anyone could block a name they do not control): the first to verify gets it.
    if owners.iter().any(|(_, verified)| *verified) {
        return Err(ApiError::invalid(
            "hostname",
            format!(
                "{host} is the tracking domain of another project: a domain belongs to one project"
            ),
        ));
    }
    if let Some(current) = store::domains::live(&state.db, project_id).await?.first() {
        return Err(ApiError::invalid(
            "hostname",
            format!(
                "the project already has a tracking domain, {}: remove it first",
                current.hostname
            ),
        ));
    }
    Ok(NewDomain { hostname, scheme })
}

/// Adds a PENDING domain with a new TXT token, after [`validate`].
///
/// # Errors
/// [`validate`]'s 422s (also when another request took the hostname meanwhile).
pub async fn add(
    state: &AppState,
    project_id: &str,
    hostname: &str,
    scheme: Option<&str>,
) -> ApiResult<Domain> {
    let new = validate(state, project_id, hostname, scheme).await?;
    let bytes: [u8; 16] = rand::rng().random();
    let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let mut tx = state.db.begin().await?;
    let inserted = store::domains::insert(
        &mut tx,
        project_id,
        new.hostname.as_str(),
        new.scheme,
        &token,
    )
    .await;
    match inserted {
        Ok(domain) => {
            tx.commit().await?;
            state.domains.forget(&domain.hostname);
            tracing::info!(project = %project_id, domain = %domain.hostname, "tracking domain added");
            Ok(domain)
        }
        // A request racing this one took the name (or gave the project a domain) first.
        Err(e) if store::is_unique_violation(&e) => {
            drop(tx);
            validate(state, project_id, new.hostname.as_str(), Some(new.scheme)).await?;
            Err(e.into())
        }
        Err(e) => Err(e.into()),
    }
}

/// One of the project's live domains.
///
/// # Errors
/// 404 when the project has no live domain with that id.
pub async fn fetch(state: &AppState, project_id: &str, id: &str) -> ApiResult<Domain> {
    store::domains::get(&state.db, project_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("tracking domain", id))
}

/// Checks the domain's DNS records now and records the outcome (see [`check`]).
///
/// # Errors
/// 404 as [`fetch`].
pub async fn verify(state: &AppState, project_id: &str, id: &str) -> ApiResult<Domain> {
    let domain = fetch(state, project_id, id).await?;
    Ok(check(state, &domain).await?)
}

/// Looks the domain's records up and stores the outcome: VERIFIED when one is there; else
/// PENDING (never verified) or FAILING (since its first failed check), with the reason.
///
/// # Errors
/// The store failed.
pub async fn check(state: &AppState, domain: &Domain) -> Result<Domain, sqlx::Error> {
    let others: Vec<bool> = store::domains::live_owners(&state.db, &domain.hostname)
        .await?
        .into_iter()
        .filter(|(owner, _)| *owner != domain.project_id)
        .map(|(_, verified)| verified)
        .collect();
    let outcome = if others.iter().any(|verified| *verified) {
        Err(format!(
            "{} is the tracking domain of another project, which verified it first",
            domain.hostname
        ))
    } else {
        // A CNAME says the name points at Beacon, not for which project: while another
        // project also asks for the name, only this project's own TXT token decides.
        let cname = if others.is_empty() {
            state.domains.instance_host.as_deref()
        } else {
            None
        };
        crate::domains::check::verify(&state.domains.dns, domain, cname)
            .await
            .map_err(|why| match cname {
                None if !others.is_empty() => format!(
                    "another project also added {}: only the TXT record verifies it; {why}",
                    domain.hostname
                ),
                _ => why,
            })
    };
    if let Err(why) = &outcome
        && domain.verified_at.is_some()
    {
        tracing::warn!(project = %domain.project_id, domain = %domain.hostname, reason = %why,
            "tracking domain no longer verifies: new emails use the public URL");
    }
    let recorded = match &outcome {
        Ok(()) => Ok(()),
        Err(why) => Err(why.as_str()),
    };
    let stored = match store::domains::record_check(&state.db, &domain.id, recorded).await {
        // Another project's domain of that name was verified meanwhile.
        Err(e) if store::is_unique_violation(&e) => {
            let why = format!(
                "{} is the tracking domain of another project, which verified it first",
                domain.hostname
            );
            store::domains::record_check(&state.db, &domain.id, Err(&why)).await?
        }
        other => other?,
    };
    state.domains.forget(&domain.hostname);
    Ok(stored.unwrap_or_else(|| domain.clone()))
}

/// Removes the project's domain from new emails (links already sent keep working).
///
/// # Errors
/// 404 when the project has no live domain with that id.
pub async fn remove(state: &AppState, project_id: &str, id: &str) -> ApiResult<()> {
    let domain = fetch(state, project_id, id).await?;
    if !store::domains::remove(&state.db, project_id, id).await? {
        return Err(ApiError::not_found("tracking domain", id));
    }
    state.domains.forget(&domain.hostname);
    tracing::info!(project = %project_id, domain = %domain.hostname, "tracking domain removed");
    Ok(())
}
