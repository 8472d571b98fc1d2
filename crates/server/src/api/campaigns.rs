//! Campaigns: `/v1/campaigns` — create and edit a draft, send now or later, cancel, test, and
//! read its statistics. The fan-out itself runs in `crate::campaigns`.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::extract::{Json as Body, QueryParams, SecretKey, parse_json};
use super::page::{Page, PageQuery};
use crate::actions::campaigns::{self as campaigns_actions, Fields};
use crate::error::{ApiError, ApiResult};
use crate::startup::AppState;
use crate::store::campaigns::{self, Campaign};
use crate::time::{iso, iso_opt};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/campaigns", get(list).post(create))
        .route(
            "/v1/campaigns/{id}",
            get(get_one).patch(patch).delete(remove),
        )
        .route("/v1/campaigns/{id}/send", post(send))
        .route("/v1/campaigns/{id}/cancel", post(cancel))
        .route("/v1/campaigns/{id}/test", post(test_send))
        .route(
            "/v1/campaigns/{id}/stats",
            get(super::campaign_stats::stats),
        )
}

pub fn view(c: &Campaign) -> Value {
    json!({
        "id": c.id,
        "name": c.name,
        "subject": c.subject,
        "body": c.body,
        "from": c.from_email,
        "fromName": c.from_name,
        "replyTo": c.reply_to,
        "type": c.kind,
        "audience": serde_json::from_str::<Value>(&c.audience).unwrap_or(Value::Null),
        "status": c.status,
        "scheduledAt": iso_opt(c.scheduled_at),
        "startedAt": iso_opt(c.started_at),
        "finishedAt": iso_opt(c.finished_at),
        "recipients": c.recipients,
        "utm": crate::links::view_campaign_changes(c),
        "createdAt": iso(c.created_at),
        "updatedAt": iso(c.updated_at),
    })
}

async fn create(
    State(state): State<AppState>,
    SecretKey(project): SecretKey,
    Body(f): Body<Fields>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let c = campaigns_actions::create(&state.db, &project.id, f).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "success": true, "data": view(&c) })),
    ))
}

async fn get_one(
    State(state): State<AppState>,
    SecretKey(project): SecretKey,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let c = campaigns_actions::fetch(&state.db, &project.id, &id).await?;
    Ok(Json(json!({ "success": true, "data": view(&c) })))
}

async fn list(
    State(state): State<AppState>,
    SecretKey(project): SecretKey,
    QueryParams(q): QueryParams<PageQuery>,
) -> ApiResult<Json<Page<Value>>> {
    let limit = q.limit()?;
    let rows = campaigns::list(&state.db, &project.id, q.cursor.as_deref(), limit).await?;
    let items = rows.iter().map(view).collect();
    Ok(Json(Page::of_views(items, limit, "id")))
}

async fn patch(
    State(state): State<AppState>,
    SecretKey(project): SecretKey,
    Path(id): Path<String>,
    Body(f): Body<Fields>,
) -> ApiResult<Json<Value>> {
    let c = campaigns_actions::update(&state.db, &project.id, &id, f).await?;
    Ok(Json(json!({ "success": true, "data": view(&c) })))
}

async fn remove(
    State(state): State<AppState>,
    SecretKey(project): SecretKey,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    campaigns_actions::delete(&state.db, &project.id, &id).await?;
    Ok(Json(json!({ "success": true })))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct SendBody {
    scheduled_at: Option<String>,
}

/// `POST /send` with no body sends now; `{"scheduledAt": "<RFC 3339>"}` later.
async fn send(
    State(state): State<AppState>,
    SecretKey(project): SecretKey,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let req: SendBody = if body.iter().all(u8::is_ascii_whitespace) {
        SendBody::default()
    } else {
        parse_json(&body)?
    };
    let at = match req.scheduled_at {
        Some(t) => Some(crate::time::parse(&t).ok_or_else(|| {
            ApiError::invalid(
                "scheduledAt",
                format!("{t:?} is not an RFC 3339 time like 2026-01-31T09:00:00Z"),
            )
        })?),
        None => None,
    };
    let c = campaigns_actions::schedule(&state, &project, &id, at).await?;
    Ok(Json(json!({ "success": true, "data": view(&c) })))
}

async fn cancel(
    State(state): State<AppState>,
    SecretKey(project): SecretKey,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let c = campaigns_actions::cancel(&state.db, &project.id, &id).await?;
    Ok(Json(json!({ "success": true, "data": view(&c) })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TestBody {
    to: String,
}

/// A test send: the campaign's content to one address, never tracked and never counted in the
/// campaign (it carries no campaign id).
async fn test_send(
    State(state): State<AppState>,
    SecretKey(project): SecretKey,
    Path(id): Path<String>,
    Body(req): Body<TestBody>,
) -> ApiResult<Json<Value>> {
    let (email, contact) = campaigns_actions::test_send(&state, &project, &id, &req.to).await?;
    Ok(Json(
        json!({ "success": true, "data": { "email": email, "contact": contact } }),
    ))
}
