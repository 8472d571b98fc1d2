//! Custom tracking domains: `/v1/domains` (add, list, get, verify, remove; the rules are in
//! `actions::domains`), and `GET /tls/ask`, which a reverse proxy with on-demand TLS asks
//! before getting a certificate for a host (docs/OPERATIONS.md).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::extract::{Json as Body, QueryParams, SecretKey};
use super::schema::{Data, Done, done, ok};
use crate::actions::domains as actions;
use crate::domain::Hostname;
use crate::domains::Record;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::startup::AppState;
use crate::store::domains::Domain;
use crate::time::{iso, iso_opt};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/domains", get(list).post(create))
        .route("/v1/domains/{id}", get(get_one).delete(remove))
        .route("/v1/domains/{id}/verify", post(verify))
        .route("/tls/ask", get(ask))
}

/// A project's tracking domain.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DomainView {
    /// When the last check ran (either way), or `null`.
    #[schema(format = DateTime)]
    pub checked_at: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
    /// Since when the checks fail, for a domain verified before (`FAILING`), else `null`.
    #[schema(format = DateTime)]
    pub failing_since: Option<String>,
    /// The domain, lower case.
    pub hostname: String,
    pub id: String,
    /// Whether new emails use it now (`status` is `VERIFIED`).
    pub in_use: bool,
    /// Why the last check failed, naming what was found, or `null`.
    pub last_error: Option<String>,
    /// The records to create: either one verifies the domain (a CNAME to Beacon's host is not
    /// offered when that host is an IP address).
    pub records: Vec<Record>,
    /// `https` or `http`.
    pub scheme: String,
    /// `PENDING` (never verified), `VERIFIED`, or `FAILING` (verified before, the last check
    /// failed: not used for new emails, links already sent keep working).
    pub status: String,
    /// The base URL its emails' links use, e.g. `https://links.example.com`.
    pub url: String,
    /// When a check last passed, or `null`.
    #[schema(format = DateTime)]
    pub verified_at: Option<String>,
}

pub fn view(state: &AppState, d: &Domain) -> DomainView {
    DomainView {
        checked_at: iso_opt(d.checked_at),
        created_at: iso(d.created_at),
        failing_since: iso_opt(d.failing_since),
        hostname: d.hostname.clone(),
        id: d.id.clone(),
        in_use: d.status == "VERIFIED",
        last_error: d.last_error.clone(),
        records: crate::domains::records(d, state.domains.instance_host.as_deref()),
        scheme: d.scheme.clone(),
        status: d.status.clone(),
        url: format!("{}://{}", d.scheme, d.hostname),
        verified_at: iso_opt(d.verified_at),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = DomainCreate)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    /// A hostname of your own, e.g. `links.example.com`: not an IP address, not Beacon's own
    /// host, not another project's.
    hostname: String,
    /// `https` (default) or `http`.
    scheme: Option<String>,
}

/// Adds the project's tracking domain (PENDING until verified; one per project).
#[utoipa::path(post, path = "/v1/domains", tag = "Domains", request_body = CreateBody,
    responses((status = 201, description = "Added, with the DNS records to create", body = Data<DomainView>),
        (status = "default", description = "An error", body = ErrorBody)))]
#[tracing::instrument(skip_all, fields(project = %project.id))]
async fn create(
    State(state): State<AppState>,
    SecretKey(project): SecretKey,
    Body(req): Body<CreateBody>,
) -> ApiResult<(StatusCode, Json<Data<DomainView>>)> {
    let domain = actions::add(&state, &project.id, &req.hostname, req.scheme.as_deref()).await?;
    Ok((StatusCode::CREATED, ok(view(&state, &domain))))
}

/// The project's tracking domains (at most one).
#[utoipa::path(get, path = "/v1/domains", tag = "Domains",
    responses((status = 200, description = "The domains", body = Data<Vec<DomainView>>),
        (status = "default", description = "An error", body = ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    SecretKey(project): SecretKey,
) -> ApiResult<Json<Data<Vec<DomainView>>>> {
    let rows = crate::store::domains::live(&state.db, &project.id).await?;
    Ok(ok(rows.iter().map(|d| view(&state, d)).collect()))
}

#[utoipa::path(get, path = "/v1/domains/{id}", tag = "Domains", params(("id" = String, Path)),
    responses((status = 200, description = "The domain", body = Data<DomainView>),
        (status = "default", description = "An error", body = ErrorBody)))]
async fn get_one(
    State(state): State<AppState>,
    SecretKey(project): SecretKey,
    Path(id): Path<String>,
) -> ApiResult<Json<Data<DomainView>>> {
    let domain = actions::fetch(&state, &project.id, &id).await?;
    Ok(ok(view(&state, &domain)))
}

/// Looks the domain's DNS records up now. The answer is the domain as checked: `VERIFIED`, or
/// its status with `lastError` saying what was found.
#[utoipa::path(post, path = "/v1/domains/{id}/verify", tag = "Domains", params(("id" = String, Path)),
    responses((status = 200, description = "The domain after the check", body = Data<DomainView>),
        (status = "default", description = "An error", body = ErrorBody)))]
#[tracing::instrument(skip_all, fields(project = %project.id, domain = %id))]
async fn verify(
    State(state): State<AppState>,
    SecretKey(project): SecretKey,
    Path(id): Path<String>,
) -> ApiResult<Json<Data<DomainView>>> {
    let domain = actions::verify(&state, &project.id, &id).await?;
    Ok(ok(view(&state, &domain)))
}

/// Stops using the domain in new emails; links already sent under it keep working.
#[utoipa::path(delete, path = "/v1/domains/{id}", tag = "Domains", params(("id" = String, Path)),
    responses((status = 200, description = "Removed", body = Done),
        (status = "default", description = "An error", body = ErrorBody)))]
async fn remove(
    State(state): State<AppState>,
    SecretKey(project): SecretKey,
    Path(id): Path<String>,
) -> ApiResult<Json<Done>> {
    actions::remove(&state, &project.id, &id).await?;
    Ok(done())
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct AskQuery {
    /// The host a TLS client asked for (Caddy sends it as `domain`).
    domain: Option<String>,
}

/// For a reverse proxy's on-demand TLS (Caddy's `ask`): 200 when Beacon serves `domain` (its
/// own public host, or a project's tracking domain verified at least once), else 404.
#[utoipa::path(get, path = "/tls/ask", tag = "Domains", security(()), params(AskQuery),
    responses((status = 200, description = "A certificate may be issued for the domain", body = Done),
        (status = 400, description = "No `domain` parameter", body = ErrorBody),
        (status = 404, description = "Beacon does not serve the domain", body = ErrorBody),
        (status = 500, description = "The store failed", body = ErrorBody)))]
async fn ask(
    State(state): State<AppState>,
    QueryParams(q): QueryParams<AskQuery>,
) -> ApiResult<Json<Done>> {
    let raw = q
        .domain
        .ok_or_else(|| ApiError::bad_request("domain", "give the host as ?domain=…"))?;
    let unknown = || ApiError::NotFound(format!("Beacon serves no domain {raw:?}"));
    let Ok(host) = Hostname::parse(&raw) else {
        return Err(unknown());
    };
    if state.domains.is_own(host.as_str()) {
        return Ok(done());
    }
    match state.domains.serving(&state.db, host.as_str()).await? {
        Some(_) => Ok(done()),
        None => Err(unknown()),
    }
}
