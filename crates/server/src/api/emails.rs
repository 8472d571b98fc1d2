//! Emails as sent: `GET /v1/emails/{id}`, and the outbox transport's messages.

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::extract::{QueryParams, SecretKey};
use super::page::{Page, PageQuery};
use super::schema::{Data, ok};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::startup::AppState;
use crate::store::{emails, outbox};
use crate::time::{iso, iso_opt};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/emails/{id}", get(get_email))
        .route("/v1/outbox", get(list_outbox))
        .route("/v1/outbox/{email_id}", get(get_outbox))
}

/// Hits of one kind on an email, people and machines apart.
#[derive(Debug, Serialize, ToSchema)]
pub struct Hits {
    pub human: i64,
    pub machine: i64,
}

/// Why an email's bodies are gone, and since when.
#[derive(Debug, Serialize, ToSchema)]
pub struct BodyRemoved {
    /// What removed them: `retention` (`BEACON_BODY_RETENTION_DAYS`).
    pub by: String,
    #[schema(format = DateTime)]
    pub at: String,
}

/// One email (one recipient of one send) with its delivery and engagement state.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EmailView {
    pub attempts: i64,
    /// Set once retention removed the email's HTML, text, attachments and outbox message
    /// (`html` and `text` are then `null`); `null` while they are kept.
    pub body_removed: Option<BodyRemoved>,
    pub campaign_id: Option<String>,
    #[schema(format = DateTime)]
    pub clicked_at: Option<String>,
    pub clicks: Hits,
    /// The contact's id (kept after the contact is deleted).
    pub contact: String,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub delivered_at: Option<String>,
    pub from: String,
    pub from_name: Option<String>,
    /// Custom headers and those Beacon adds (unsubscribe, SES configuration set).
    pub headers: Value,
    /// The HTML exactly as delivered (`null` when it has none).
    pub html: Option<String>,
    pub id: String,
    pub last_error: Option<String>,
    pub open_inferred: bool,
    #[schema(format = DateTime)]
    pub opened_at: Option<String>,
    pub opens: Hits,
    pub provider_message_id: Option<String>,
    pub reply_to: Option<String>,
    #[schema(format = DateTime)]
    pub sent_at: Option<String>,
    /// `TRANSACTIONAL`, `CAMPAIGN` or `WORKFLOW`.
    pub source_type: String,
    /// `PENDING`, `SENDING`, `SENT`, `FAILED`, `DELIVERED`, `OPENED` or `CLICKED`.
    pub status: String,
    pub subject: String,
    pub template_id: Option<String>,
    /// The text part exactly as delivered (`null` when it has none).
    pub text: Option<String>,
    pub to: String,
    /// The tracking decision made at send time.
    pub tracked: bool,
}

pub fn view(e: &emails::Email, bodies: &emails::Bodies) -> EmailView {
    EmailView {
        attempts: e.attempts,
        body_removed: bodies.purged_at.map(|at| BodyRemoved {
            by: "retention".into(),
            at: iso(at),
        }),
        campaign_id: e.campaign_id.clone(),
        clicked_at: iso_opt(e.clicked_at),
        clicks: Hits {
            human: e.clicks,
            machine: e.clicks_machine,
        },
        contact: e.contact_id.clone(),
        created_at: iso(e.created_at),
        delivered_at: iso_opt(e.delivered_at),
        from: e.from_email.clone(),
        from_name: e.from_name.clone(),
        headers: serde_json::from_str(&e.headers).unwrap_or(Value::Null),
        html: bodies.html.clone(),
        id: e.id.clone(),
        last_error: e.last_error.clone(),
        open_inferred: e.open_inferred != 0,
        opened_at: iso_opt(e.opened_at),
        opens: Hits {
            human: e.opens,
            machine: e.opens_machine,
        },
        provider_message_id: e.provider_message_id.clone(),
        reply_to: e.reply_to.clone(),
        sent_at: iso_opt(e.sent_at),
        source_type: e.source_type.clone(),
        status: e.status.clone(),
        subject: e.subject.clone(),
        template_id: e.template_id.clone(),
        text: bodies.text.clone(),
        to: e.to_email.clone(),
        tracked: e.tracked != 0,
    }
}

#[utoipa::path(get, path = "/v1/emails/{id}", tag = "Emails", params(("id" = String, Path)),
    responses((status = 200, description = "The email", body = Data<EmailView>), (status = "default", description = "An error", body = ErrorBody)))]
async fn get_email(
    State(state): State<AppState>,
    SecretKey(project): SecretKey,
    Path(id): Path<String>,
) -> ApiResult<Json<Data<EmailView>>> {
    let found = emails::get(&state.db, &project.id, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("email", &id))?;
    Ok(ok(view(&found.email, &found.bodies)))
}

/// A message the outbox transport kept instead of delivering.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OutboxView {
    #[schema(format = DateTime)]
    pub created_at: String,
    /// The email's id.
    pub email: String,
    /// The whole RFC 5322 message (bytes that are not UTF-8 replaced).
    pub message: String,
    /// The message's length in bytes.
    pub size: usize,
}

fn outbox_view(m: &outbox::OutboxMessage) -> OutboxView {
    OutboxView {
        created_at: iso(m.created_at),
        email: m.email_id.clone(),
        message: String::from_utf8_lossy(&m.raw).into_owned(),
        size: m.raw.len(),
    }
}

/// The outbox transport's messages, newest first (empty with other transports).
#[utoipa::path(get, path = "/v1/outbox", tag = "Emails", params(PageQuery),
    responses((status = 200, description = "A page", body = Page<OutboxView>), (status = "default", description = "An error", body = ErrorBody)))]
async fn list_outbox(
    State(state): State<AppState>,
    SecretKey(project): SecretKey,
    QueryParams(q): QueryParams<PageQuery>,
) -> ApiResult<Json<Page<OutboxView>>> {
    let limit = q.limit()?;
    let rows = outbox::list(&state.db, Some(&project.id), q.cursor.as_deref(), limit).await?;
    let items = rows.iter().map(outbox_view).collect();
    Ok(Json(Page::new(items, limit, |v: &OutboxView| {
        v.email.clone()
    })))
}

/// The raw RFC 5322 message, as `message/rfc822`.
#[utoipa::path(get, path = "/v1/outbox/{email_id}", tag = "Emails", params(("email_id" = String, Path)),
    responses((status = 200, description = "The message as handed over", content_type = "message/rfc822", body = String),
        (status = "default", description = "An error", body = ErrorBody)))]
async fn get_outbox(
    State(state): State<AppState>,
    SecretKey(project): SecretKey,
    Path(email_id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let m = outbox::get(&state.db, &project.id, &email_id)
        .await?
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "no outbox message for email {email_id:?} in this project (retention removes \
                 those of emails older than BEACON_BODY_RETENTION_DAYS)"
            ))
        })?;
    Ok(([(header::CONTENT_TYPE, "message/rfc822")], m.raw))
}
