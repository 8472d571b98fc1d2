//! A workflow's executions (each contact's position and history) and its per-step statistics.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::extract::{QueryParams, SecretKey};
use super::page::{Page, PageQuery};
use super::schema::{Data, ok};
use super::workflows::fetch;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::startup::AppState;
use crate::store;
use crate::store::workflows::{self, Execution, history};
use crate::time::{iso, iso_opt};
use crate::workflows::definition::{Definition, Step};

/// Who an execution is for; `email` is `null` once the contact is deleted.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExecutionContact {
    pub id: String,
    pub email: Option<String>,
}

/// One line of an execution's history.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HistoryLine {
    #[schema(format = DateTime)]
    pub at: String,
    pub detail: Option<Value>,
    pub email_id: Option<String>,
    /// entered, sent, skipped, delayed, waiting, resumed, timed_out, yes, no, updated,
    /// webhook, retry, refused, failed, exited, completed.
    pub kind: String,
    pub step: Option<String>,
}

/// One contact's way through the workflow.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionView {
    /// Step attempts so far; on a REFUSED execution, the entries refused in its period.
    pub attempts: i64,
    pub contact: ExecutionContact,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub due_at: Option<String>,
    pub history: Vec<HistoryLine>,
    pub id: String,
    /// RUNNING, DELAYED, WAITING, RESUMED, COMPLETED, EXITED, FAILED or REFUSED.
    pub status: String,
    pub step: Option<String>,
    #[schema(format = DateTime)]
    pub updated_at: String,
    /// The awaited event while WAITING.
    pub waiting_for: Option<String>,
}

fn execution_view(e: &Execution, email: Option<String>, lines: Vec<HistoryLine>) -> ExecutionView {
    ExecutionView {
        attempts: e.attempts,
        contact: ExecutionContact {
            id: e.contact_id.clone(),
            email,
        },
        created_at: iso(e.created_at),
        due_at: iso_opt(e.due_at),
        history: lines,
        id: e.id.clone(),
        status: e.status.clone(),
        step: e.step_id.clone(),
        updated_at: iso(e.updated_at),
        waiting_for: (e.status == "WAITING")
            .then(|| e.wait_event.clone())
            .flatten(),
    }
}

/// The workflow's executions, oldest first, each with its history.
#[utoipa::path(get, path = "/v1/workflows/{id}/executions", tag = "Workflows",
    params(("id" = String, Path), PageQuery),
    responses((status = 200, description = "A page", body = Page<ExecutionView>), (status = "default", description = "An error", body = ErrorBody)))]
pub(super) async fn executions(
    State(state): State<AppState>,
    SecretKey(project): SecretKey,
    Path(id): Path<String>,
    QueryParams(q): QueryParams<PageQuery>,
) -> ApiResult<Json<Page<ExecutionView>>> {
    let limit = q.limit()?;
    let w = fetch(&state, &project.id, &id).await?;
    let rows = workflows::executions(&state.db, &w.id, q.cursor.as_deref(), limit).await?;
    let ids: Vec<String> = rows.iter().map(|e| e.id.clone()).collect();
    let mut lines: BTreeMap<String, Vec<HistoryLine>> = BTreeMap::new();
    for h in history::for_executions(&state.db, &ids).await? {
        let detail: Option<Value> = h
            .detail
            .as_deref()
            .and_then(|d| serde_json::from_str(d).ok());
        lines
            .entry(h.execution_id.clone())
            .or_default()
            .push(HistoryLine {
                at: iso(h.created_at),
                detail,
                email_id: h.email_id.clone(),
                kind: h.kind.clone(),
                step: h.step_id.clone(),
            });
    }
    let mut items = Vec::with_capacity(rows.len());
    for e in &rows {
        let contact = store::contacts::get(&state.db, &project.id, &e.contact_id).await?;
        let email = contact.map(|c| c.email);
        items.push(execution_view(
            e,
            email,
            lines.remove(&e.id).unwrap_or_default(),
        ));
    }
    Ok(Json(Page::new(items, limit, |v| v.id.clone())))
}

/// One step's statistics: `entered` and a count per outcome (`sent`, `skipped`, `yes`, `no`,
/// `timed_out`, `retry`, …); SEND_EMAIL steps add `opened` and `clicked`.
#[derive(Debug, Serialize, ToSchema)]
pub struct StepStats {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(flatten)]
    pub counts: BTreeMap<String, i64>,
}

/// `GET /v1/workflows/{id}/stats`.
#[derive(Debug, Serialize, ToSchema)]
pub struct WorkflowStats {
    /// Executions by status (lower case) and `total`.
    pub executions: BTreeMap<String, i64>,
    pub steps: Vec<StepStats>,
}

/// Executions by status, and per step: how many executions entered it, and each outcome
/// (`sent`, `skipped`, `yes`, `no`, `timed_out`, …); SEND_EMAIL steps add `opened` and
/// `clicked` (by a person) of the emails they sent.
#[utoipa::path(get, path = "/v1/workflows/{id}/stats", tag = "Workflows", params(("id" = String, Path)),
    responses((status = 200, description = "Executions by status, and per step", body = Data<WorkflowStats>),
        (status = "default", description = "An error", body = ErrorBody)))]
pub(super) async fn stats(
    State(state): State<AppState>,
    SecretKey(project): SecretKey,
    Path(id): Path<String>,
) -> ApiResult<Json<Data<WorkflowStats>>> {
    let w = fetch(&state, &project.id, &id).await?;
    let def: Definition =
        serde_json::from_str(&w.definition).map_err(|e| ApiError::Internal(e.into()))?;
    let mut executions = BTreeMap::new();
    let mut total = 0;
    for (status, n) in history::status_counts(&state.db, &w.id).await? {
        total += n;
        executions.insert(status.to_ascii_lowercase(), n);
    }
    executions.insert("total".to_string(), total);
    let counts = history::step_counts(&state.db, &w.id).await?;
    let emails = history::email_counts(&state.db, &w.id).await?;
    let steps: Vec<StepStats> = def
        .steps
        .iter()
        .map(|s| {
            let mut counts_of = BTreeMap::from([("entered".to_string(), 0)]);
            for (step, kind, n) in &counts {
                if step.as_deref() == Some(s.id()) {
                    counts_of.insert(kind.clone(), *n);
                }
            }
            if matches!(s, Step::SendEmail { .. }) {
                let (opened, clicked) = emails
                    .iter()
                    .find(|(step, _, _)| step.as_deref() == Some(s.id()))
                    .map_or((0, 0), |(_, o, c)| (*o, *c));
                counts_of.entry("sent".to_string()).or_insert(0);
                counts_of.insert("opened".to_string(), opened);
                counts_of.insert("clicked".to_string(), clicked);
            }
            StepStats {
                id: s.id().to_string(),
                kind: s.kind().to_string(),
                counts: counts_of,
            }
        })
        .collect();
    Ok(ok(WorkflowStats { executions, steps }))
}
