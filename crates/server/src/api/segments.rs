//! Segments: `/v1/segments` (create, list, get, patch, delete), a segment's contacts and its
//! count. The condition grammar is in `crate::segments` and docs/API.md.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::extract::{Json as Body, QueryParams, SecretKey};
use super::page::{Page, PageQuery};
use crate::actions::segments as actions;
use crate::error::ApiResult;
use crate::segments;
use crate::startup::AppState;
use crate::store::{self, segments::Segment};
use crate::time::iso;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/segments", get(list).post(create))
        .route(
            "/v1/segments/{id}",
            get(get_one).patch(patch).delete(remove),
        )
        .route("/v1/segments/{id}/contacts", get(contacts))
        .route("/v1/segments/{id}/count", get(count))
}

fn view(s: &Segment) -> Value {
    json!({
        "id": s.id,
        "name": s.name,
        "condition": serde_json::from_str::<Value>(&s.condition).unwrap_or(Value::Null),
        "createdAt": iso(s.created_at),
        "updatedAt": iso(s.updated_at),
    })
}

async fn fetch(state: &AppState, project_id: &str, id: &str) -> ApiResult<Segment> {
    actions::fetch(&state.db, project_id, id).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    name: String,
    condition: Value,
}

#[tracing::instrument(skip_all, fields(project = %project.id))]
async fn create(
    State(state): State<AppState>,
    SecretKey(project): SecretKey,
    Body(req): Body<CreateBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let segment = actions::create(&state.db, &project.id, &req.name, &req.condition).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "success": true, "data": view(&segment) })),
    ))
}

async fn list(
    State(state): State<AppState>,
    SecretKey(project): SecretKey,
    QueryParams(q): QueryParams<PageQuery>,
) -> ApiResult<Json<Page<Value>>> {
    let limit = q.limit()?;
    let rows = store::segments::list(&state.db, &project.id, q.cursor.as_deref(), limit).await?;
    Ok(Json(Page::of_views(
        rows.iter().map(view).collect(),
        limit,
        "id",
    )))
}

async fn get_one(
    State(state): State<AppState>,
    SecretKey(project): SecretKey,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let segment = fetch(&state, &project.id, &id).await?;
    Ok(Json(json!({ "success": true, "data": view(&segment) })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PatchBody {
    name: Option<String>,
    condition: Option<Value>,
}

#[tracing::instrument(skip_all, fields(project = %project.id, segment = %id))]
async fn patch(
    State(state): State<AppState>,
    SecretKey(project): SecretKey,
    Path(id): Path<String>,
    Body(req): Body<PatchBody>,
) -> ApiResult<Json<Value>> {
    let segment = actions::update(
        &state.db,
        &project.id,
        &id,
        req.name.as_deref(),
        req.condition.as_ref(),
    )
    .await?;
    Ok(Json(json!({ "success": true, "data": view(&segment) })))
}

async fn remove(
    State(state): State<AppState>,
    SecretKey(project): SecretKey,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    actions::delete(&state.db, &project.id, &id).await?;
    Ok(Json(json!({ "success": true })))
}

/// The matching contacts, in id order; the cursor is the last contact's id.
async fn contacts(
    State(state): State<AppState>,
    SecretKey(project): SecretKey,
    Path(id): Path<String>,
    QueryParams(q): QueryParams<PageQuery>,
) -> ApiResult<Json<Page<Value>>> {
    let limit = q.limit()?;
    let cond = segments::stored(&fetch(&state, &project.id, &id).await?)?;
    let rows =
        segments::contacts_page(&state.db, &project.id, &cond, q.cursor.as_deref(), limit).await?;
    Ok(Json(Page::of_views(
        rows.iter().map(super::contacts::view).collect(),
        limit,
        "id",
    )))
}

async fn count(
    State(state): State<AppState>,
    SecretKey(project): SecretKey,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let cond = segments::stored(&fetch(&state, &project.id, &id).await?)?;
    let n = segments::count(&state.db, &project.id, &cond).await?;
    Ok(Json(json!({ "success": true, "data": { "count": n } })))
}
