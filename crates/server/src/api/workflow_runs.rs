//! A workflow's executions (each contact's position and history) and its per-step statistics.

use axum::Json;
use axum::extract::{Path, State};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::extract::{QueryParams, SecretKey};
use super::page::{Page, PageQuery};
use super::schema::{Data, ok};
use super::workflows::fetch;
use crate::actions::workflows::{self as actions, WorkflowStats};
use crate::error::{ApiResult, ErrorBody};
use crate::startup::AppState;
use crate::store::workflows::Execution;
use crate::time::{iso, iso_opt};

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
    let rows = actions::executions(&state.db, &w, q.cursor.as_deref(), limit).await?;
    let items = rows
        .into_iter()
        .map(|(e, email, history)| {
            let lines = history
                .into_iter()
                .map(|h| HistoryLine {
                    at: iso(h.created_at),
                    detail: h
                        .detail
                        .as_deref()
                        .and_then(|d| serde_json::from_str(d).ok()),
                    email_id: h.email_id,
                    kind: h.kind,
                    step: h.step_id,
                })
                .collect();
            execution_view(&e, email, lines)
        })
        .collect();
    Ok(Json(Page::new(items, limit, |v| v.id.clone())))
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
    Ok(ok(actions::stats(&state.db, &w).await?))
}
