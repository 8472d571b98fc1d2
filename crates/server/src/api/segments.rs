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
use crate::error::{ApiError, ApiResult};
use crate::segments::{self, Condition};
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

fn check_name(name: &str) -> ApiResult<()> {
    if name.trim().is_empty() {
        return Err(ApiError::invalid("name", "the name is empty"));
    }
    Ok(())
}

/// Parses the condition and checks its campaign / template ids belong to the project.
async fn condition(state: &AppState, project_id: &str, raw: &Value) -> ApiResult<Condition> {
    let cond = Condition::parse(raw)?;
    cond.check_refs(&state.db, project_id).await?;
    Ok(cond)
}

async fn fetch(state: &AppState, project_id: &str, id: &str) -> ApiResult<Segment> {
    store::segments::get(&state.db, project_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("segment", id))
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
    check_name(&req.name)?;
    let cond = condition(&state, &project.id, &req.condition).await?;
    let now = store::now_ms();
    let segment = Segment {
        id: store::new_id(),
        project_id: project.id.clone(),
        name: req.name,
        condition: cond.json().to_string(),
        created_at: now,
        updated_at: now,
    };
    store::segments::insert(&state.db, &segment).await?;
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
    // Another project's id is a 404 before any validation says anything about it.
    fetch(&state, &project.id, &id).await?;
    if let Some(name) = &req.name {
        check_name(name)?;
    }
    let cond = match &req.condition {
        Some(raw) => Some(
            condition(&state, &project.id, raw)
                .await?
                .json()
                .to_string(),
        ),
        None => None,
    };
    if req.name.is_some() || cond.is_some() {
        let found = store::segments::update(
            &state.db,
            &project.id,
            &id,
            req.name.as_deref(),
            cond.as_deref(),
        )
        .await?;
        if !found {
            return Err(ApiError::not_found("segment", &id));
        }
    }
    let segment = fetch(&state, &project.id, &id).await?;
    Ok(Json(json!({ "success": true, "data": view(&segment) })))
}

async fn remove(
    State(state): State<AppState>,
    SecretKey(project): SecretKey,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    // A campaign still to go out would find its audience gone.
    if let Some(c) = store::campaigns::pending_for_segment(&state.db, &project.id, &id).await? {
        return Err(ApiError::Conflict(format!(
            "segment {id} is the audience of campaign {:?} ({}), which is {}; cancel or change it first",
            c.name, c.id, c.status
        )));
    }
    if !store::segments::delete(&state.db, &project.id, &id).await? {
        return Err(ApiError::not_found("segment", &id));
    }
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
