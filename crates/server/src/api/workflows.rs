//! Workflows: `/v1/workflows` (create, list, get, patch, delete), each workflow's executions
//! (position and history per contact) and its per-step statistics.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use rand::Rng;
use serde::Deserialize;
use serde_json::{Value, json};

use super::extract::{Json as Body, QueryParams, SecretKey};
use super::page::{Page, PageQuery};
use crate::error::{ApiError, ApiResult};
use crate::startup::AppState;
use crate::store::workflows::{self, Execution, Workflow, history};
use crate::store::{self, flag, templates};
use crate::time::{iso, iso_opt};
use crate::workflows::definition::{Definition, Step, Trigger};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/workflows", get(list).post(create))
        .route(
            "/v1/workflows/{id}",
            get(get_one).patch(patch).delete(remove),
        )
        .route("/v1/workflows/{id}/executions", get(executions))
        .route("/v1/workflows/{id}/stats", get(stats))
}

fn view(w: &Workflow) -> Value {
    let def: Value = serde_json::from_str(&w.definition).unwrap_or_default();
    json!({
        "id": w.id,
        "name": w.name,
        "trigger": def["trigger"],
        "start": def.get("start").cloned().unwrap_or_else(|| def["steps"][0]["id"].clone()),
        "steps": def["steps"],
        "enabled": w.enabled != 0,
        "allowReentry": w.allow_reentry != 0,
        // Verifies the `X-Beacon-Signature` of this workflow's WEBHOOK requests.
        "secret": w.secret,
        "createdAt": iso(w.created_at),
        "updatedAt": iso(w.updated_at),
    })
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

async fn fetch(state: &AppState, project_id: &str, id: &str) -> ApiResult<Workflow> {
    workflows::get(&state.db, project_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("workflow", id))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct CreateBody {
    name: String,
    trigger: Trigger,
    start: Option<String>,
    steps: Vec<Step>,
    #[serde(default = "yes")]
    enabled: bool,
    #[serde(default)]
    allow_reentry: bool,
}

fn yes() -> bool {
    true
}

#[tracing::instrument(skip_all, fields(project = %project.id))]
async fn create(
    State(state): State<AppState>,
    SecretKey(project): SecretKey,
    Body(req): Body<CreateBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
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
    Ok((
        StatusCode::CREATED,
        Json(json!({ "success": true, "data": view(&w) })),
    ))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

async fn list(
    State(state): State<AppState>,
    SecretKey(project): SecretKey,
    QueryParams(q): QueryParams<PageQuery>,
) -> ApiResult<Json<Page<Value>>> {
    let limit = q.limit()?;
    let rows = workflows::list(&state.db, &project.id, q.cursor.as_deref(), limit).await?;
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
    let w = fetch(&state, &project.id, &id).await?;
    Ok(Json(json!({ "success": true, "data": view(&w) })))
}

/// Every field optional; `steps` replaces all steps (give `start` again if it is not
/// `steps[0]`). Executions already under way go on from their current step id.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct PatchBody {
    name: Option<String>,
    trigger: Option<Trigger>,
    start: Option<String>,
    steps: Option<Vec<Step>>,
    enabled: Option<bool>,
    allow_reentry: Option<bool>,
}

#[tracing::instrument(skip_all, fields(project = %project.id, workflow = %id))]
async fn patch(
    State(state): State<AppState>,
    SecretKey(project): SecretKey,
    Path(id): Path<String>,
    Body(req): Body<PatchBody>,
) -> ApiResult<Json<Value>> {
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
    Ok(Json(json!({ "success": true, "data": view(&w) })))
}

async fn remove(
    State(state): State<AppState>,
    SecretKey(project): SecretKey,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    if !workflows::delete(&state.db, &project.id, &id).await? {
        return Err(ApiError::not_found("workflow", &id));
    }
    Ok(Json(json!({ "success": true })))
}

fn execution_view(e: &Execution, email: Option<&String>, lines: Vec<Value>) -> Value {
    json!({
        "id": e.id,
        "contact": { "id": e.contact_id, "email": email },
        "status": e.status,
        "step": e.step_id,
        "dueAt": iso_opt(e.due_at),
        "waitingFor": if e.status == "WAITING" { e.wait_event.clone() } else { None },
        "attempts": e.attempts,
        "createdAt": iso(e.created_at),
        "updatedAt": iso(e.updated_at),
        "history": lines,
    })
}

async fn executions(
    State(state): State<AppState>,
    SecretKey(project): SecretKey,
    Path(id): Path<String>,
    QueryParams(q): QueryParams<PageQuery>,
) -> ApiResult<Json<Page<Value>>> {
    let limit = q.limit()?;
    let w = fetch(&state, &project.id, &id).await?;
    let rows = workflows::executions(&state.db, &w.id, q.cursor.as_deref(), limit).await?;
    let ids: Vec<String> = rows.iter().map(|e| e.id.clone()).collect();
    let mut lines: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for h in history::for_executions(&state.db, &ids).await? {
        let detail: Option<Value> = h
            .detail
            .as_deref()
            .and_then(|d| serde_json::from_str(d).ok());
        lines
            .entry(h.execution_id.clone())
            .or_default()
            .push(json!({
                "step": h.step_id,
                "kind": h.kind,
                "detail": detail,
                "emailId": h.email_id,
                "at": iso(h.created_at),
            }));
    }
    let mut items = Vec::with_capacity(rows.len());
    for e in &rows {
        let contact = store::contacts::get(&state.db, &project.id, &e.contact_id).await?;
        let email = contact.map(|c| c.email);
        items.push(execution_view(
            e,
            email.as_ref(),
            lines.remove(&e.id).unwrap_or_default(),
        ));
    }
    Ok(Json(Page::of_views(items, limit, "id")))
}

/// Executions by status, and per step: how many executions entered it, and each outcome
/// (`sent`, `skipped`, `yes`, `no`, `timed_out`, …); SEND_EMAIL steps add `opened` and
/// `clicked` (by a person) of the emails they sent.
async fn stats(
    State(state): State<AppState>,
    SecretKey(project): SecretKey,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let w = fetch(&state, &project.id, &id).await?;
    let def: Definition =
        serde_json::from_str(&w.definition).map_err(|e| ApiError::Internal(e.into()))?;
    let mut executions = json!({ "total": 0 });
    let mut total = 0;
    for (status, n) in history::status_counts(&state.db, &w.id).await? {
        total += n;
        executions[status.to_ascii_lowercase()] = json!(n);
    }
    executions["total"] = json!(total);
    let counts = history::step_counts(&state.db, &w.id).await?;
    let emails = history::email_counts(&state.db, &w.id).await?;
    let steps: Vec<Value> = def
        .steps
        .iter()
        .map(|s| {
            let mut v = json!({ "id": s.id(), "type": s.kind(), "entered": 0 });
            for (step, kind, n) in &counts {
                if step.as_deref() == Some(s.id()) {
                    v[kind.as_str()] = json!(n);
                }
            }
            if matches!(s, Step::SendEmail { .. }) {
                let (opened, clicked) = emails
                    .iter()
                    .find(|(step, _, _)| step.as_deref() == Some(s.id()))
                    .map_or((0, 0), |(_, o, c)| (*o, *c));
                v["sent"] = v.get("sent").cloned().unwrap_or(json!(0));
                v["opened"] = json!(opened);
                v["clicked"] = json!(clicked);
            }
            v
        })
        .collect();
    Ok(Json(json!({
        "success": true,
        "data": { "executions": executions, "steps": steps },
    })))
}
