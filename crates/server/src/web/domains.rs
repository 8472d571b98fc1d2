//! Settings → Domains: the project's custom tracking domain — add it, see the DNS records to
//! create, verify it, remove it — through the same rules as `/v1/domains`
//! (`actions::domains`). Everyone sees it; owners and admins change it.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;

use super::page::{Errors, Nav, PageError, PageResult, with_status};
use super::session::Empty;
use super::session::{Form, Member};
use crate::actions::domains as actions;
use crate::domains::Record;
use crate::error::ApiError;
use crate::startup::AppState;
use crate::store::domains::{self, Domain};

#[derive(Deserialize)]
pub struct NoticeQuery {
    notice: Option<String>,
}

/// The page's words after a redirect, chosen by a code, never by text from the request.
fn notice(code: Option<&str>) -> &'static str {
    match code {
        Some("added") => "Domain added: create one of the DNS records below, then verify it.",
        Some("checked") => "Checked.",
        Some("removed") => {
            "Domain removed: new emails use Beacon's own address; links already sent keep working."
        }
        _ => "",
    }
}

/// The domain as the page shows it.
pub struct DomainRow {
    pub id: String,
    pub url: String,
    pub status: String,
    pub records: Vec<Record>,
    pub checked_at: String,
    pub verified_at: String,
    pub failing_since: String,
    pub last_error: String,
}

fn row(state: &AppState, d: &Domain) -> DomainRow {
    let time = |ms: Option<i64>| ms.map(crate::time::iso).unwrap_or_default();
    DomainRow {
        id: d.id.clone(),
        url: format!("{}://{}", d.scheme, d.hostname),
        status: d.status.clone(),
        records: crate::domains::records(d, state.domains.instance_host.as_deref()),
        checked_at: time(d.checked_at),
        verified_at: time(d.verified_at),
        failing_since: time(d.failing_since),
        last_error: d.last_error.clone().unwrap_or_default(),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "settings_domains.html")]
struct DomainsPage {
    nav: Nav,
    tab: &'static str,
    notice: &'static str,
    domain: Option<DomainRow>,
    /// The base URL of the project's links today.
    base: String,
    hostname: String,
    scheme: String,
    errors: Errors,
}

async fn page(
    state: &AppState,
    m: &Member,
    notice: &'static str,
    typed: (&str, &str),
    errors: Errors,
) -> PageResult<DomainsPage> {
    let live = domains::live(&state.db, &m.project.id).await?;
    let domain = live.first().map(|d| row(state, d));
    let base = domain
        .as_ref()
        .filter(|d| d.status == "VERIFIED")
        .map_or_else(|| state.public_url.to_string(), |d| d.url.clone());
    Ok(DomainsPage {
        nav: Nav::new(m, "settings"),
        tab: "domains",
        notice,
        domain,
        base,
        hostname: typed.0.to_string(),
        scheme: typed.1.to_string(),
        errors,
    })
}

pub async fn show(
    State(state): State<AppState>,
    m: Member,
    Query(q): Query<NoticeQuery>,
) -> PageResult {
    let notice = notice(q.notice.as_deref());
    Ok(page(&state, &m, notice, ("", "https"), Errors::none())
        .await?
        .into_response())
}

#[derive(Deserialize)]
pub struct AddForm {
    #[serde(default)]
    hostname: String,
    #[serde(default)]
    scheme: String,
}

/// Adds the domain through the same rule as `POST /v1/domains`; a refusal is shown at its field.
pub async fn add(State(state): State<AppState>, m: Member, Form(f): Form<AddForm>) -> PageResult {
    m.require_manager()?;
    match actions::add(&state, &m.project.id, &f.hostname, Some(&f.scheme)).await {
        Ok(_) => Ok(Redirect::to(&m.url("/settings/domains?notice=added")).into_response()),
        Err(e @ ApiError::Internal(_)) => Err(e.into()),
        Err(e) => {
            let typed = (f.hostname.as_str(), f.scheme.as_str());
            let shown = page(&state, &m, "", typed, Errors::from_api(&e)).await?;
            Ok(with_status(e.status(), shown))
        }
    }
}

#[derive(Deserialize)]
pub struct DomainAction {
    did: String,
    action: String,
}

/// `…/verify` checks the DNS records now (`POST /v1/domains/{id}/verify`; the page shows the
/// outcome); `…/remove` removes the domain (`DELETE /v1/domains/{id}`).
pub async fn act(
    State(state): State<AppState>,
    m: Member,
    Path(p): Path<DomainAction>,
    Form(_): Form<Empty>,
) -> PageResult {
    m.require_manager()?;
    let notice = match p.action.as_str() {
        "verify" => {
            actions::verify(&state, &m.project.id, &p.did).await?;
            "checked"
        }
        "remove" => {
            actions::remove(&state, &m.project.id, &p.did).await?;
            "removed"
        }
        _ => return Err(PageError::NotFound),
    };
    let to = m.url(&format!("/settings/domains?notice={notice}"));
    Ok(Redirect::to(&to).into_response())
}
