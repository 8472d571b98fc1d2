//! Templates: `/v1/templates` (create, list, get, patch, delete). A template's type decides
//! whether its sends are tracked in marketing-only mode and whether it needs a subscriber.

use std::str::FromStr;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use beacon_tracking::policy::TemplateType;
use serde::Deserialize;
use serde_json::{Value, json};

use super::extract::{Json as Body, QueryParams, SecretKey};
use super::page::{Page, PageQuery};
use crate::error::{ApiError, ApiResult};
use crate::startup::AppState;
use crate::store::{self, templates};
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

fn parse_type(raw: &str) -> ApiResult<TemplateType> {
    // The parse error lists the valid names: TRANSACTIONAL, MARKETING, HEADLESS.
    TemplateType::from_str(raw).map_err(|e| ApiError::invalid("type", e.to_string()))
}

pub(super) fn check_name(name: &str) -> ApiResult<()> {
    if name.trim().is_empty() {
        return Err(ApiError::invalid("name", "the name is empty"));
    }
    Ok(())
}

/// The subject becomes a header, so a line break in it could inject other headers.
pub(super) fn check_subject(subject: &str) -> ApiResult<()> {
    if subject.trim().is_empty() {
        return Err(ApiError::invalid("subject", "the subject is empty"));
    }
    if subject.contains(['\r', '\n']) {
        return Err(ApiError::invalid(
            "subject",
            "the subject may not contain line breaks",
        ));
    }
    Ok(())
}

pub(super) fn check_body(body: &str) -> ApiResult<()> {
    if body.trim().is_empty() {
        return Err(ApiError::invalid("body", "the body is empty"));
    }
    Ok(())
}

async fn fetch(state: &AppState, project_id: &str, id: &str) -> ApiResult<templates::Template> {
    templates::get(&state.db, project_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("template", id))
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
    check_name(&req.name)?;
    check_subject(&req.subject)?;
    check_body(&req.body)?;
    let kind = match req.kind.as_deref() {
        Some(raw) => parse_type(raw)?,
        None => TemplateType::Transactional,
    };
    let now = store::now_ms();
    let template = templates::Template {
        id: store::new_id(),
        project_id: project.id.clone(),
        name: req.name,
        subject: req.subject,
        body: req.body,
        kind: kind.as_str().to_string(),
        created_at: now,
        updated_at: now,
    };
    templates::insert(&state.db, &template).await?;
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
    let template = fetch(&state, &project.id, &id).await?;
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
    // Check the whole body before touching anything.
    if let Some(name) = &req.name {
        check_name(name)?;
    }
    if let Some(subject) = &req.subject {
        check_subject(subject)?;
    }
    if let Some(body) = &req.body {
        check_body(body)?;
    }
    let kind = req.kind.as_deref().map(parse_type).transpose()?;
    let mut template = fetch(&state, &project.id, &id).await?;
    if req.name.is_none() && req.subject.is_none() && req.body.is_none() && kind.is_none() {
        return Ok(Json(json!({ "success": true, "data": view(&template) })));
    }
    template.name = req.name.unwrap_or(template.name);
    template.subject = req.subject.unwrap_or(template.subject);
    template.body = req.body.unwrap_or(template.body);
    if let Some(kind) = kind {
        template.kind = kind.as_str().to_string();
    }
    templates::update(&state.db, &template).await?;
    // Read back for the stored `updatedAt`; a concurrent delete makes it a 404.
    let template = fetch(&state, &project.id, &id).await?;
    Ok(Json(json!({ "success": true, "data": view(&template) })))
}

async fn remove(
    State(state): State<AppState>,
    SecretKey(project): SecretKey,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    crate::workflows::ensure_template_unused(&state.db, &project.id, &id).await?;
    if !templates::delete(&state.db, &project.id, &id).await? {
        return Err(ApiError::not_found("template", &id));
    }
    Ok(Json(json!({ "success": true })))
}
