//! Workflows: `/v1/workflows` (create, list, get, patch, delete), each workflow's executions
//! (position and history per contact) and its per-step statistics.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::extract::{Json as Body, QueryParams, SecretKey};
use super::page::{Page, PageQuery};
use super::schema::{Data, Done, done, ok};
use crate::actions::workflows::{self as actions, Changes, NewWorkflow};
use crate::error::{ApiResult, ErrorBody};
use crate::startup::AppState;
use crate::store::workflows::{self, Workflow};
use crate::time::iso;
use crate::workflows::definition::{Step, Trigger};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/workflows", get(list).post(create))
        .route(
            "/v1/workflows/{id}",
            get(get_one).patch(patch).delete(remove),
        )
        .route(
            "/v1/workflows/{id}/executions",
            get(super::workflow_runs::executions),
        )
        .route("/v1/workflows/{id}/stats", get(super::workflow_runs::stats))
}

/// A workflow: its trigger, its steps and how contacts enter it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkflowView {
    pub allow_reentry: bool,
    #[schema(format = DateTime)]
    pub created_at: String,
    pub enabled: bool,
    pub id: String,
    pub name: String,
    /// Verifies the `X-Beacon-Signature` of this workflow's WEBHOOK requests.
    pub secret: String,
    /// The first step's id.
    pub start: Value,
    #[schema(value_type = Vec<Step>)]
    pub steps: Value,
    #[schema(value_type = Trigger)]
    pub trigger: Value,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

fn view(w: &Workflow) -> WorkflowView {
    let def: Value = serde_json::from_str(&w.definition).unwrap_or_default();
    WorkflowView {
        allow_reentry: w.allow_reentry != 0,
        created_at: iso(w.created_at),
        enabled: w.enabled != 0,
        id: w.id.clone(),
        name: w.name.clone(),
        secret: w.secret.clone(),
        start: def
            .get("start")
            .cloned()
            .unwrap_or_else(|| def["steps"][0]["id"].clone()),
        steps: def["steps"].clone(),
        trigger: def["trigger"].clone(),
        updated_at: iso(w.updated_at),
    }
}

pub(super) async fn fetch(state: &AppState, project_id: &str, id: &str) -> ApiResult<Workflow> {
    actions::fetch(&state.db, project_id, id).await
}

#[utoipa::path(post, path = "/v1/workflows", tag = "Workflows", request_body = NewWorkflow,
    responses((status = 201, description = "Created, with its `secret`", body = Data<WorkflowView>), (status = "default", description = "An error", body = ErrorBody)))]
#[tracing::instrument(skip_all, fields(project = %project.id))]
async fn create(
    State(state): State<AppState>,
    SecretKey(project): SecretKey,
    Body(req): Body<NewWorkflow>,
) -> ApiResult<(StatusCode, Json<Data<WorkflowView>>)> {
    let w = actions::create(&state.db, &project.id, req).await?;
    Ok((StatusCode::CREATED, ok(view(&w))))
}

#[utoipa::path(get, path = "/v1/workflows", tag = "Workflows", params(PageQuery),
    responses((status = 200, description = "A page", body = Page<WorkflowView>), (status = "default", description = "An error", body = ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    SecretKey(project): SecretKey,
    QueryParams(q): QueryParams<PageQuery>,
) -> ApiResult<Json<Page<WorkflowView>>> {
    let limit = q.limit()?;
    let rows = workflows::list(&state.db, &project.id, q.cursor.as_deref(), limit).await?;
    Ok(Json(Page::new(
        rows.iter().map(view).collect(),
        limit,
        |v| v.id.clone(),
    )))
}

#[utoipa::path(get, path = "/v1/workflows/{id}", tag = "Workflows", params(("id" = String, Path)),
    responses((status = 200, description = "The workflow", body = Data<WorkflowView>), (status = "default", description = "An error", body = ErrorBody)))]
async fn get_one(
    State(state): State<AppState>,
    SecretKey(project): SecretKey,
    Path(id): Path<String>,
) -> ApiResult<Json<Data<WorkflowView>>> {
    let w = fetch(&state, &project.id, &id).await?;
    Ok(ok(view(&w)))
}

#[utoipa::path(patch, path = "/v1/workflows/{id}", tag = "Workflows", params(("id" = String, Path)),
    request_body = Changes,
    responses((status = 200, description = "The workflow", body = Data<WorkflowView>), (status = "default", description = "An error", body = ErrorBody)))]
#[tracing::instrument(skip_all, fields(project = %project.id, workflow = %id))]
async fn patch(
    State(state): State<AppState>,
    SecretKey(project): SecretKey,
    Path(id): Path<String>,
    Body(req): Body<Changes>,
) -> ApiResult<Json<Data<WorkflowView>>> {
    let w = actions::update(&state.db, &project.id, &id, req).await?;
    Ok(ok(view(&w)))
}

#[utoipa::path(delete, path = "/v1/workflows/{id}", tag = "Workflows", params(("id" = String, Path)),
    responses((status = 200, description = "Deleted", body = Done), (status = "default", description = "An error", body = ErrorBody)))]
async fn remove(
    State(state): State<AppState>,
    SecretKey(project): SecretKey,
    Path(id): Path<String>,
) -> ApiResult<Json<Done>> {
    actions::delete(&state.db, &project.id, &id).await?;
    Ok(done())
}
