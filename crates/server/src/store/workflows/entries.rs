//! The bound on re-entry: how many executions a contact started in a workflow lately, and the
//! one REFUSED execution per period that records the entries turned away (`attempts` counts
//! them), so a workflow that triggers itself ends with a reason anyone can read.

use serde_json::Value;

use super::Workflow;
use crate::store::{Tx, new_id, now_ms};

/// Executions (refused ones aside) the contact started in the workflow at or after `since`
/// (epoch ms). Reads the `(workflow_id, contact_id, created_at)` index (migration 0013).
pub async fn started_since(
    tx: &mut Tx,
    workflow_id: &str,
    contact_id: &str,
    since: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM workflow_executions WHERE workflow_id = $1 AND contact_id = $2 \
         AND created_at >= $3 AND status <> 'REFUSED'",
    )
    .bind(workflow_id)
    .bind(contact_id)
    .bind(since)
    .fetch_one(&mut **tx)
    .await
}

/// Records a refused entry: one more on this period's REFUSED execution, or a new one (with
/// `context`, the triggering event) whose history says why. Returns the new execution's id when
/// one was made, so its history can be written.
pub async fn refuse(
    tx: &mut Tx,
    w: &Workflow,
    contact_id: &str,
    since: i64,
    context: &Value,
) -> Result<Option<String>, sqlx::Error> {
    let now = now_ms();
    let counted = sqlx::query(
        "UPDATE workflow_executions SET attempts = attempts + 1, updated_at = $1 \
         WHERE workflow_id = $2 AND contact_id = $3 AND created_at >= $4 AND status = 'REFUSED'",
    )
    .bind(now)
    .bind(&w.id)
    .bind(contact_id)
    .bind(since)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if counted > 0 {
        return Ok(None);
    }
    let id = new_id();
    sqlx::query(
        "INSERT INTO workflow_executions (id, workflow_id, project_id, contact_id, entry_key, \
         status, attempts, context, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $1, 'REFUSED', 1, $5, $6, $6)",
    )
    .bind(&id)
    .bind(&w.id)
    .bind(&w.project_id)
    .bind(contact_id)
    .bind(context.to_string())
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(Some(id))
}
