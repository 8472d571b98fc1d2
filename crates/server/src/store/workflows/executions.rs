//! Executions: one contact's way through one workflow, and also the engine's timer queue.

use serde_json::{Map, Value};
use sqlx::AssertSqlSafe;

use super::Workflow;
use crate::store::{Backend, Db, Tx, new_id, now_ms};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Execution {
    pub id: String,
    pub workflow_id: String,
    pub project_id: String,
    pub contact_id: String,
    pub status: String,
    pub step_id: Option<String>,
    pub due_at: Option<i64>,
    pub wait_event: Option<String>,
    pub wait_since: Option<i64>,
    pub attempts: i64,
    pub lease: Option<String>,
    pub context: String,
    pub created_at: i64,
    pub updated_at: i64,
}

const EX_COLUMNS: &str = "id, workflow_id, project_id, contact_id, status, step_id, due_at, \
    wait_event, wait_since, attempts, lease, context, created_at, updated_at";

/// Whether the contact ever had an execution of this workflow.
pub async fn has_execution(
    tx: &mut Tx,
    workflow_id: &str,
    contact_id: &str,
) -> Result<bool, sqlx::Error> {
    let found: Option<String> = sqlx::query_scalar(
        "SELECT id FROM workflow_executions WHERE workflow_id = $1 AND contact_id = $2 LIMIT 1",
    )
    .bind(workflow_id)
    .bind(contact_id)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(found.is_some())
}

/// Starts an execution at `step_id`, due now. `once` makes it the contact's only one (the
/// unique entry key holds across nodes); `None` when the contact already had one.
pub async fn start(
    tx: &mut Tx,
    w: &Workflow,
    contact_id: &str,
    step_id: &str,
    context: &Value,
    once: bool,
) -> Result<Option<String>, sqlx::Error> {
    let id = new_id();
    let now = now_ms();
    let entry_key = if once { contact_id } else { id.as_str() };
    let inserted = sqlx::query(
        "INSERT INTO workflow_executions (id, workflow_id, project_id, contact_id, entry_key, \
         status, step_id, due_at, attempts, context, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, 'RUNNING', $6, $7, 0, $8, $7, $7) ON CONFLICT DO NOTHING",
    )
    .bind(&id)
    .bind(&w.id)
    .bind(&w.project_id)
    .bind(contact_id)
    .bind(entry_key)
    .bind(step_id)
    .bind(now)
    .bind(context.to_string())
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok((inserted == 1).then_some(id))
}

/// The contact's executions waiting for `event` and not held by a runner right now.
pub async fn waiting_for(
    tx: &mut Tx,
    project_id: &str,
    contact_id: &str,
    event: &str,
) -> Result<Vec<Execution>, sqlx::Error> {
    sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {EX_COLUMNS} FROM workflow_executions WHERE contact_id = $1 AND wait_event = $2 \
         AND status = 'WAITING' AND project_id = $3 AND (lease_until IS NULL OR lease_until < $4)"
    )))
    .bind(contact_id)
    .bind(event)
    .bind(project_id)
    .bind(now_ms())
    .fetch_all(&mut **tx)
    .await
}

/// The awaited event came: the runner takes it on from here (RESUMED → the step's `next`).
pub async fn resume(tx: &mut Tx, id: &str) -> Result<bool, sqlx::Error> {
    let now = now_ms();
    Ok(sqlx::query(
        "UPDATE workflow_executions SET status = 'RESUMED', due_at = $1, updated_at = $1 \
         WHERE id = $2 AND status = 'WAITING' AND (lease_until IS NULL OR lease_until < $1)",
    )
    .bind(now)
    .bind(id)
    .execute(&mut **tx)
    .await?
    .rows_affected()
        == 1)
}

/// Claims up to `limit` due live executions under a new lease token.
pub async fn claim(db: &Db, limit: i64, lease_ms: i64) -> Result<Vec<Execution>, sqlx::Error> {
    let now = now_ms();
    let lock = match db.backend {
        Backend::Postgres => "FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    let free = "due_at <= $3 AND (lease_until IS NULL OR lease_until < $3)";
    sqlx::query_as(AssertSqlSafe(format!(
        "UPDATE workflow_executions SET lease = $1, lease_until = $2 \
         WHERE {free} AND id IN (SELECT id FROM workflow_executions WHERE {free} \
           ORDER BY due_at LIMIT $4 {lock}) RETURNING {EX_COLUMNS}"
    )))
    .bind(new_id())
    .bind(now + lease_ms)
    .bind(now)
    .bind(limit)
    .fetch_all(&db.write)
    .await
}

/// Where an execution goes next.
#[derive(Debug, Clone, Default)]
pub struct Move {
    pub status: &'static str,
    pub step_id: Option<String>,
    pub due_at: Option<i64>,
    pub wait_event: Option<String>,
    pub wait_since: Option<i64>,
    pub attempts: i64,
    /// Keep the lease: the runner goes straight on with the next step.
    pub keep_lease: bool,
}

/// Moves an execution, only while `lease` is still its lease; false when it is not.
pub async fn advance(tx: &mut Tx, id: &str, lease: &str, m: &Move) -> Result<bool, sqlx::Error> {
    let keep = i64::from(m.keep_lease);
    Ok(sqlx::query(
        "UPDATE workflow_executions SET status = $1, step_id = $2, due_at = $3, wait_event = $4, \
         wait_since = $5, attempts = $6, updated_at = $7, \
         lease = CASE WHEN $8 = 1 THEN lease ELSE NULL END, \
         lease_until = CASE WHEN $8 = 1 THEN lease_until ELSE NULL END \
         WHERE id = $9 AND lease = $10",
    )
    .bind(m.status)
    .bind(&m.step_id)
    .bind(m.due_at)
    .bind(&m.wait_event)
    .bind(m.wait_since)
    .bind(m.attempts)
    .bind(now_ms())
    .bind(keep)
    .bind(id)
    .bind(lease)
    .execute(&mut **tx)
    .await?
    .rows_affected()
        == 1)
}

pub async fn execution(tx: &mut Tx, id: &str) -> Result<Option<Execution>, sqlx::Error> {
    sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {EX_COLUMNS} FROM workflow_executions WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(&mut **tx)
    .await
}

/// The earliest time a live execution can be claimed (due, and its lease if any run out), for
/// the runner's sleep.
pub async fn next_due(db: &Db) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT MIN(CASE WHEN lease_until > due_at THEN lease_until ELSE due_at END) \
         FROM workflow_executions WHERE due_at IS NOT NULL",
    )
    .fetch_one(&db.read)
    .await
}

pub async fn executions(
    db: &Db,
    workflow_id: &str,
    cursor: Option<&str>,
    limit: i64,
) -> Result<Vec<Execution>, sqlx::Error> {
    sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {EX_COLUMNS} FROM workflow_executions WHERE workflow_id = $1 AND id > $2 \
         ORDER BY id LIMIT $3"
    )))
    .bind(workflow_id)
    .bind(cursor.unwrap_or(""))
    .bind(limit)
    .fetch_all(&db.read)
    .await
}

/// Sets `subscribed` and merges `data` (a null removes a key) on a contact, under its row
/// lock, inside the step's transaction. False when the contact is gone.
pub async fn update_contact(
    tx: &mut Tx,
    contact_id: &str,
    data: &Map<String, Value>,
    subscribed: Option<bool>,
) -> Result<bool, sqlx::Error> {
    let now = now_ms();
    // The no-op write takes the row lock first, so a concurrent merge is not lost.
    let found = sqlx::query("UPDATE contacts SET updated_at = $1 WHERE id = $2")
        .bind(now)
        .bind(contact_id)
        .execute(&mut **tx)
        .await?
        .rows_affected();
    if found == 0 {
        return Ok(false);
    }
    let (raw, was): (String, i64) =
        sqlx::query_as("SELECT data, subscribed FROM contacts WHERE id = $1")
            .bind(contact_id)
            .fetch_one(&mut **tx)
            .await?;
    let mut merged: Map<String, Value> = serde_json::from_str(&raw).unwrap_or_default();
    for (k, v) in data {
        if v.is_null() {
            merged.remove(k);
        } else {
            merged.insert(k.clone(), v.clone());
        }
    }
    sqlx::query("UPDATE contacts SET data = $1, subscribed = $2 WHERE id = $3")
        .bind(Value::Object(merged).to_string())
        .bind(subscribed.map_or(was, i64::from))
        .bind(contact_id)
        .execute(&mut **tx)
        .await?;
    Ok(true)
}
