//! Sending a campaign: the confirmation with the recipient count and the tracking it will get,
//! sending now or at a time, cancelling, and deleting a campaign. Every action goes through
//! `actions::campaigns`, as `/v1/campaigns/{id}/send` and its neighbours do.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;

use super::campaigns::{CampaignPath, audience_words};
use super::page::{Errors, Nav, PageError, PageResult, with_status};
use super::session::{Empty, Form, Member};
use crate::actions::campaigns as actions;
use crate::error::ApiError;
use crate::startup::AppState;
use crate::store::campaigns::Campaign;

#[derive(Template, WebTemplate)]
#[template(path = "campaign_send.html")]
struct SendPage {
    nav: Nav,
    id: String,
    name: String,
    subject: String,
    audience: String,
    recipients: i64,
    tracking: String,
    when: String,
    errors: Errors,
}

async fn send_page(
    state: &AppState,
    m: &Member,
    c: &Campaign,
    when: &str,
    errors: Errors,
) -> PageResult<SendPage> {
    let recipients = actions::audience_size(&state.db, c).await.unwrap_or(0);
    let tracking = actions::tracking_note(state, &m.project, c).unwrap_or_else(|e| e.to_string());
    Ok(SendPage {
        nav: Nav::new(m, "campaigns"),
        id: c.id.clone(),
        name: c.name.clone(),
        subject: c.subject.clone(),
        audience: audience_words(state, c).await,
        recipients,
        tracking,
        when: when.to_string(),
        errors,
    })
}

/// The confirmation before sending: how many people it goes to and whether it is tracked.
pub async fn confirm(
    State(state): State<AppState>,
    m: Member,
    Path(p): Path<CampaignPath>,
) -> PageResult {
    let c = actions::fetch(&state.db, &m.project.id, &p.cid).await?;
    if c.status != "DRAFT" {
        return Ok(Redirect::to(&m.url(&format!("/campaigns/{}", c.id))).into_response());
    }
    Ok(send_page(&state, &m, &c, "", Errors::none())
        .await?
        .into_response())
}

#[derive(Deserialize)]
pub struct SendForm {
    /// Empty: now; else a UTC time `YYYY-MM-DDTHH:MM` (an `<input type=datetime-local>`).
    #[serde(default)]
    when: String,
}

/// Parses the schedule field: empty is now; `2026-12-01T09:00` (UTC) or an RFC 3339 time.
fn parse_when(raw: &str) -> Result<Option<i64>, ApiError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    let as_utc = format!("{raw}:00Z");
    crate::time::parse(raw)
        .or_else(|| crate::time::parse(&as_utc))
        .map(Some)
        .ok_or_else(|| {
            ApiError::invalid(
                "when",
                format!("{raw:?} is not a time like 2026-12-01T09:00 (UTC)"),
            )
        })
}

pub async fn send(
    State(state): State<AppState>,
    m: Member,
    Path(p): Path<CampaignPath>,
    Form(f): Form<SendForm>,
) -> PageResult {
    let outcome = match parse_when(&f.when) {
        Ok(at) => actions::schedule(&state, &m.project, &p.cid, at).await,
        Err(e) => Err(e),
    };
    match outcome {
        Ok(c) => Ok(
            Redirect::to(&m.url(&format!("/campaigns/{}?notice=scheduled", c.id))).into_response(),
        ),
        Err(e @ (ApiError::Internal(_) | ApiError::NotFound(_))) => Err(e.into()),
        Err(e) => {
            let c = actions::fetch(&state.db, &m.project.id, &p.cid).await?;
            let mut errors = Errors::none();
            errors.add(
                if e.field() == Some("when") {
                    "when"
                } else {
                    ""
                },
                &e.to_string(),
            );
            let page = send_page(&state, &m, &c, &f.when, errors).await?;
            Ok(with_status(e.status(), page))
        }
    }
}

pub async fn cancel(
    State(state): State<AppState>,
    m: Member,
    Path(p): Path<CampaignPath>,
    Form(_): Form<Empty>,
) -> PageResult {
    match actions::cancel(&state.db, &m.project.id, &p.cid).await {
        Ok(c) => Ok(
            Redirect::to(&m.url(&format!("/campaigns/{}?notice=cancelled", c.id))).into_response(),
        ),
        Err(ApiError::Conflict(msg)) => Err(PageError::BadRequest(msg)),
        Err(e) => Err(e.into()),
    }
}

pub async fn delete(
    State(state): State<AppState>,
    m: Member,
    Path(p): Path<CampaignPath>,
    Form(_): Form<Empty>,
) -> PageResult {
    match actions::delete(&state.db, &m.project.id, &p.cid).await {
        Ok(()) => Ok(Redirect::to(&m.url("/campaigns?notice=deleted")).into_response()),
        Err(ApiError::Conflict(msg)) => Err(PageError::BadRequest(msg)),
        Err(e) => Err(e.into()),
    }
}
