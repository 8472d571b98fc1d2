//! Templates: `/v1/templates` (create, list, get, patch, delete). A template's type decides
//! whether its sends are tracked in marketing-only mode and whether it needs a subscriber.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::extract::{Json as Body, QueryParams, SecretKey};
use super::page::{Page, PageQuery};
use crate::actions::templates as templates_actions;
use crate::error::ApiResult;
use crate::startup::AppState;
use crate::store::templates;
use crate::time::iso;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/templates", get(list).post(create))
        .route(
            "/v1/templates/{id}",
            get(get_one).patch(patch).delete(remove),
        )
}

pub fn view(t: &templates::Template) -> Value {
    json!({
        "id": t.id,
        "name": t.name,
        "subject": t.subject,
        "body": t.body,
        "type": t.kind,
        "createdAt": iso(t.created_at),
        "updatedAt": iso(t.updated_at),
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    name: String,
    subject: String,
    body: String,
    #[serde(rename = "type")]
    kind: Option<String>,
}

#[tracing::instrument(skip_all, fields(project = %project.id))]
async fn create(
    State(state): State<AppState>,
    SecretKey(project): SecretKey,
    Body(req): Body<CreateBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let fields = templates_actions::Fields {
        name: Some(req.name),
        subject: Some(req.subject),
        body: Some(req.body),
        kind: req.kind,
    };
    let template = templates_actions::create(&state.db, &project.id, fields).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "success": true, "data": view(&template) })),
    ))
}

async fn list(
    State(state): State<AppState>,
    SecretKey(project): SecretKey,
    QueryParams(q): QueryParams<PageQuery>,
) -> ApiResult<Json<Page<Value>>> {
    let limit = q.limit()?;
    let rows = templates::list(&state.db, &project.id, q.cursor.as_deref(), limit).await?;
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
    let template = templates_actions::fetch(&state.db, &project.id, &id).await?;
    Ok(Json(json!({ "success": true, "data": view(&template) })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PatchBody {
    name: Option<String>,
    subject: Option<String>,
    body: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
}

#[tracing::instrument(skip_all, fields(project = %project.id, template = %id))]
async fn patch(
    State(state): State<AppState>,
    SecretKey(project): SecretKey,
    Path(id): Path<String>,
    Body(req): Body<PatchBody>,
) -> ApiResult<Json<Value>> {
    let fields = templates_actions::Fields {
        name: req.name,
        subject: req.subject,
        body: req.body,
        kind: req.kind,
    };
    let template = templates_actions::update(&state.db, &project.id, &id, fields).await?;
    Ok(Json(json!({ "success": true, "data": view(&template) })))
}

async fn remove(
    State(state): State<AppState>,
    SecretKey(project): SecretKey,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    templates_actions::delete(&state.db, &project.id, &id).await?;
    Ok(Json(json!({ "success": true })))
}
