//! What happened to each execution, step by step; per-step statistics are counted from it.

use serde_json::Value;

use super::super::{Db, Tx, new_id, now_ms};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Entry {
    pub id: String,
    pub execution_id: String,
    pub step_id: Option<String>,
    pub kind: String,
    pub detail: Option<String>,
    pub email_id: Option<String>,
    pub created_at: i64,
}

/// One history line. `kind` is one of: entered, sent, skipped, delayed, waiting, resumed,
/// timed_out, yes, no, updated, webhook, retry, refused, failed, exited, completed.
pub async fn add(
    tx: &mut Tx,
    execution_id: &str,
    workflow_id: &str,
    step_id: Option<&str>,
    kind: &str,
    detail: Option<Value>,
    email_id: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO workflow_history (id, execution_id, workflow_id, step_id, kind, detail, \
         email_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(new_id())
    .bind(execution_id)
    .bind(workflow_id)
    .bind(step_id)
    .bind(kind)
    .bind(detail.map(|d| d.to_string()))
    .bind(email_id)
    .bind(now_ms())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Executions' history lines in order, for a page of executions.
pub async fn for_executions(db: &Db, ids: &[String]) -> Result<Vec<Entry>, sqlx::Error> {
    let mut out = Vec::new();
    for id in ids {
        let mut rows: Vec<Entry> = sqlx::query_as(
            "SELECT id, execution_id, step_id, kind, detail, email_id, created_at \
             FROM workflow_history WHERE execution_id = $1 ORDER BY id",
        )
        .bind(id)
        .fetch_all(&db.read)
        .await?;
        out.append(&mut rows);
    }
    Ok(out)
}

/// (step id, kind, count) over all of a workflow's history.
pub async fn step_counts(
    db: &Db,
    workflow_id: &str,
) -> Result<Vec<(Option<String>, String, i64)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT step_id, kind, COUNT(*) FROM workflow_history WHERE workflow_id = $1 \
         GROUP BY step_id, kind",
    )
    .bind(workflow_id)
    .fetch_all(&db.read)
    .await
}

/// Per SEND_EMAIL step: emails queued, opened and clicked (by a person: the first-open and
/// first-click times are only set by human hits).
pub async fn email_counts(
    db: &Db,
    workflow_id: &str,
) -> Result<Vec<(Option<String>, i64, i64)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT h.step_id, COUNT(e.opened_at), COUNT(e.clicked_at) FROM workflow_history h \
         JOIN emails e ON e.id = h.email_id WHERE h.workflow_id = $1 AND h.kind = 'sent' \
         GROUP BY h.step_id",
    )
    .bind(workflow_id)
    .fetch_all(&db.read)
    .await
}

/// (status, count) of a workflow's executions.
pub async fn status_counts(db: &Db, workflow_id: &str) -> Result<Vec<(String, i64)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT status, COUNT(*) FROM workflow_executions WHERE workflow_id = $1 GROUP BY status",
    )
    .bind(workflow_id)
    .fetch_all(&db.read)
    .await
}
