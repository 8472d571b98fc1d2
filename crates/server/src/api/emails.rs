//! Emails as sent: `GET /v1/emails/{id}`, and the outbox transport's messages.

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use super::extract::{QueryParams, SecretKey};
use super::page::{Page, PageQuery};
use crate::error::{ApiError, ApiResult};
use crate::startup::AppState;
use crate::store::{emails, outbox};
use crate::time::{iso, iso_opt};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/emails/{id}", get(get_email))
        .route("/v1/outbox", get(list_outbox))
        .route("/v1/outbox/{email_id}", get(get_outbox))
}

pub fn view(e: &emails::Email, bodies: &emails::Bodies) -> Value {
    json!({
        "id": e.id,
        "contact": e.contact_id,
        "to": e.to_email,
        "from": e.from_email,
        "fromName": e.from_name,
        "replyTo": e.reply_to,
        "subject": e.subject,
        "sourceType": e.source_type,
        "templateId": e.template_id,
        "campaignId": e.campaign_id,
        "status": e.status,
        "tracked": e.tracked != 0,
        "attempts": e.attempts,
        "lastError": e.last_error,
        "providerMessageId": e.provider_message_id,
        // Custom headers and those Beacon adds (unsubscribe, SES configuration set).
        "headers": serde_json::from_str::<Value>(&e.headers).unwrap_or(Value::Null),
        "createdAt": iso(e.created_at),
        "sentAt": iso_opt(e.sent_at),
        "deliveredAt": iso_opt(e.delivered_at),
        "openedAt": iso_opt(e.opened_at),
        "openInferred": e.open_inferred != 0,
        "clickedAt": iso_opt(e.clicked_at),
        "opens": { "human": e.opens, "machine": e.opens_machine },
        "clicks": { "human": e.clicks, "machine": e.clicks_machine },
        "html": bodies.html,
        "text": bodies.text,
    })
}

async fn get_email(
    State(state): State<AppState>,
    SecretKey(project): SecretKey,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let found = emails::get(&state.db, &project.id, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("email", &id))?;
    let data = view(&found.email, &found.bodies);
    Ok(Json(json!({ "success": true, "data": data })))
}

fn outbox_view(m: &outbox::OutboxMessage) -> Value {
    json!({
        "email": m.email_id,
        "createdAt": iso(m.created_at),
        "size": m.raw.len(),
        "message": String::from_utf8_lossy(&m.raw),
    })
}

async fn list_outbox(
    State(state): State<AppState>,
    SecretKey(project): SecretKey,
    QueryParams(q): QueryParams<PageQuery>,
) -> ApiResult<Json<Page<Value>>> {
    let limit = q.limit()?;
    let rows = outbox::list(&state.db, Some(&project.id), q.cursor.as_deref(), limit).await?;
    let items = rows.iter().map(outbox_view).collect();
    Ok(Json(Page::of_views(items, limit, "email")))
}

/// The raw RFC 5322 message, as `message/rfc822`.
async fn get_outbox(
    State(state): State<AppState>,
    SecretKey(project): SecretKey,
    Path(email_id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let m = outbox::get(&state.db, &project.id, &email_id)
        .await?
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "no outbox message for email {email_id:?} in this project"
            ))
        })?;
    Ok(([(header::CONTENT_TYPE, "message/rfc822")], m.raw))
}
