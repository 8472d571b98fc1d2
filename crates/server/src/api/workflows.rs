//! Workflows: `/v1/workflows` (create, list, get, patch, delete), each workflow's executions
//! (position and history per contact) and its per-step statistics.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use rand::Rng;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::extract::{Json as Body, QueryParams, SecretKey};
use super::page::{Page, PageQuery};
use super::schema::{Data, Done, done, ok};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::startup::AppState;
use crate::store::workflows::{self, Workflow};
use crate::store::{self, flag, templates};
use crate::time::iso;
use crate::workflows::definition::{Definition, Step, Trigger};

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

fn check_name(name: &str) -> ApiResult<()> {
    if name.trim().is_empty() || name.len() > 200 {
        return Err(ApiError::invalid(
            "name",
            "name must be 1 to 200 characters",
        ));
    }
    Ok(())
}

/// Checks the definition, and that each SEND_EMAIL template is one of this project's.
async fn check(state: &AppState, project_id: &str, def: &Definition) -> ApiResult<()> {
    def.check()?;
    for (i, template) in def.templates() {
        if templates::get(&state.db, project_id, template)
            .await?
            .is_none()
        {
            let field = format!("steps[{i}].template");
            return Err(ApiError::invalid(
                &field,
                format!("{field}: no template with id {template:?} in this project"),
            ));
        }
    }
    Ok(())
}

fn stored(def: &Definition) -> ApiResult<String> {
    serde_json::to_string(def).map_err(|e| ApiError::Internal(e.into()))
}

pub(super) async fn fetch(state: &AppState, project_id: &str, id: &str) -> ApiResult<Workflow> {
    workflows::get(&state.db, project_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("workflow", id))
}

#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = WorkflowCreate)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct CreateBody {
    /// 1 to 200 characters.
    name: String,
    trigger: Trigger,
    /// The first step's id; default the first step.
    start: Option<String>,
    steps: Vec<Step>,
    /// `false` stops new entries only. Default `true`.
    #[serde(default = "yes")]
    enabled: bool,
    /// Whether a contact may enter more than once (at most BEACON_WORKFLOW_ENTRY_LIMIT times
    /// a period). Default `false`.
    #[serde(default)]
    allow_reentry: bool,
}

fn yes() -> bool {
    true
}

#[utoipa::path(post, path = "/v1/workflows", tag = "Workflows", request_body = CreateBody,
    responses((status = 201, description = "Created, with its `secret`", body = Data<WorkflowView>), (status = "default", description = "An error", body = ErrorBody)))]
#[tracing::instrument(skip_all, fields(project = %project.id))]
async fn create(
    State(state): State<AppState>,
    SecretKey(project): SecretKey,
    Body(req): Body<CreateBody>,
) -> ApiResult<(StatusCode, Json<Data<WorkflowView>>)> {
    check_name(&req.name)?;
    let def = Definition {
        trigger: req.trigger,
        start: req.start,
        steps: req.steps,
    };
    check(&state, &project.id, &def).await?;
    let secret: [u8; 24] = rand::rng().random();
    let now = store::now_ms();
    let w = Workflow {
        id: store::new_id(),
        project_id: project.id.clone(),
        name: req.name.trim().to_string(),
        trigger_event: def.trigger.event.clone(),
        definition: stored(&def)?,
        enabled: flag(req.enabled),
        allow_reentry: flag(req.allow_reentry),
        secret: format!("whsec_{}", hex(&secret)),
        created_at: now,
        updated_at: now,
    };
    let used: Vec<&str> = def.templates().into_iter().map(|(_, t)| t).collect();
    workflows::insert(&state.db, &w, &used).await?;
    Ok((StatusCode::CREATED, ok(view(&w))))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
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

/// Every field optional; `steps` replaces all steps (give `start` again if it is not
/// `steps[0]`). Executions already under way go on from their current step id.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = WorkflowPatch)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct PatchBody {
    name: Option<String>,
    trigger: Option<Trigger>,
    start: Option<String>,
    steps: Option<Vec<Step>>,
    enabled: Option<bool>,
    allow_reentry: Option<bool>,
}

#[utoipa::path(patch, path = "/v1/workflows/{id}", tag = "Workflows", params(("id" = String, Path)),
    request_body = PatchBody,
    responses((status = 200, description = "The workflow", body = Data<WorkflowView>), (status = "default", description = "An error", body = ErrorBody)))]
#[tracing::instrument(skip_all, fields(project = %project.id, workflow = %id))]
async fn patch(
    State(state): State<AppState>,
    SecretKey(project): SecretKey,
    Path(id): Path<String>,
    Body(req): Body<PatchBody>,
) -> ApiResult<Json<Data<WorkflowView>>> {
    let mut w = fetch(&state, &project.id, &id).await?;
    let mut def: Definition =
        serde_json::from_str(&w.definition).map_err(|e| ApiError::Internal(e.into()))?;
    if let Some(name) = req.name {
        check_name(&name)?;
        w.name = name.trim().to_string();
    }
    if let Some(trigger) = req.trigger {
        def.trigger = trigger;
    }
    if let Some(steps) = req.steps {
        def.steps = steps;
        def.start = None;
    }
    if let Some(start) = req.start {
        def.start = Some(start);
    }
    check(&state, &project.id, &def).await?;
    w.trigger_event = def.trigger.event.clone();
    w.definition = stored(&def)?;
    if let Some(e) = req.enabled {
        w.enabled = flag(e);
    }
    if let Some(r) = req.allow_reentry {
        w.allow_reentry = flag(r);
    }
    w.updated_at = store::now_ms();
    let used: Vec<&str> = def.templates().into_iter().map(|(_, t)| t).collect();
    if !workflows::update(&state.db, &w, &used).await? {
        return Err(ApiError::not_found("workflow", &id));
    }
    Ok(ok(view(&w)))
}

#[utoipa::path(delete, path = "/v1/workflows/{id}", tag = "Workflows", params(("id" = String, Path)),
    responses((status = 200, description = "Deleted", body = Done), (status = "default", description = "An error", body = ErrorBody)))]
async fn remove(
    State(state): State<AppState>,
    SecretKey(project): SecretKey,
    Path(id): Path<String>,
) -> ApiResult<Json<Done>> {
    if !workflows::delete(&state.db, &project.id, &id).await? {
        return Err(ApiError::not_found("workflow", &id));
    }
    Ok(done())
}
