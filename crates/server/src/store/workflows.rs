//! Workflows, their executions and history, and the engine's view of pending events.
//!
//! Executions are also the engine's timer queue: a live one is due at `due_at` and is claimed
//! under a lease (a random token plus an expiry) exactly like queued emails; every later write
//! of the claimant checks the token, so a worker that lost its lease changes nothing.

pub mod entries;
pub mod executions;
pub mod history;

// Callers name executions' functions through this module, beside the workflows' own.
pub use executions::*;

use sqlx::AssertSqlSafe;

use super::{Backend, Db, Tx};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Workflow {
    pub id: String,
    pub project_id: String,
    pub name: String,
    pub trigger_event: String,
    pub definition: String,
    pub enabled: i64,
    pub allow_reentry: i64,
    pub secret: String,
    pub created_at: i64,
    pub updated_at: i64,
}

const WF_COLUMNS: &str = "id, project_id, name, trigger_event, definition, enabled, \
    allow_reentry, secret, created_at, updated_at";

async fn set_templates(tx: &mut Tx, w: &Workflow, templates: &[&str]) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM workflow_templates WHERE workflow_id = $1")
        .bind(&w.id)
        .execute(&mut **tx)
        .await?;
    for t in templates {
        sqlx::query(
            "INSERT INTO workflow_templates (workflow_id, project_id, template_id) \
             VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        )
        .bind(&w.id)
        .bind(&w.project_id)
        .bind(t)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

pub async fn insert(db: &Db, w: &Workflow, templates: &[&str]) -> Result<(), sqlx::Error> {
    let mut tx = db.begin().await?;
    sqlx::query(AssertSqlSafe(format!(
        "INSERT INTO workflows ({WF_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
    )))
    .bind(&w.id)
    .bind(&w.project_id)
    .bind(&w.name)
    .bind(&w.trigger_event)
    .bind(&w.definition)
    .bind(w.enabled)
    .bind(w.allow_reentry)
    .bind(&w.secret)
    .bind(w.created_at)
    .bind(w.updated_at)
    .execute(&mut *tx)
    .await?;
    set_templates(&mut tx, w, templates).await?;
    tx.commit().await
}

/// Stores a changed workflow; false when it was deleted meanwhile.
pub async fn update(db: &Db, w: &Workflow, templates: &[&str]) -> Result<bool, sqlx::Error> {
    let mut tx = db.begin().await?;
    let found = sqlx::query(
        "UPDATE workflows SET name = $1, trigger_event = $2, definition = $3, enabled = $4, \
         allow_reentry = $5, updated_at = $6 WHERE project_id = $7 AND id = $8",
    )
    .bind(&w.name)
    .bind(&w.trigger_event)
    .bind(&w.definition)
    .bind(w.enabled)
    .bind(w.allow_reentry)
    .bind(w.updated_at)
    .bind(&w.project_id)
    .bind(&w.id)
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    if found {
        set_templates(&mut tx, w, templates).await?;
    }
    tx.commit().await?;
    Ok(found)
}

pub async fn get(db: &Db, project_id: &str, id: &str) -> Result<Option<Workflow>, sqlx::Error> {
    sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {WF_COLUMNS} FROM workflows WHERE project_id = $1 AND id = $2"
    )))
    .bind(project_id)
    .bind(id)
    .fetch_optional(&db.read)
    .await
}

pub async fn by_id(db: &Db, id: &str) -> Result<Option<Workflow>, sqlx::Error> {
    sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {WF_COLUMNS} FROM workflows WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(&db.read)
    .await
}

pub async fn list(
    db: &Db,
    project_id: &str,
    cursor: Option<&str>,
    limit: i64,
) -> Result<Vec<Workflow>, sqlx::Error> {
    sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {WF_COLUMNS} FROM workflows WHERE project_id = $1 AND id > $2 ORDER BY id LIMIT $3"
    )))
    .bind(project_id)
    .bind(cursor.unwrap_or(""))
    .bind(limit)
    .fetch_all(&db.read)
    .await
}

/// Every workflow of a project, read inside the engine's transaction.
pub async fn for_project(tx: &mut Tx, project_id: &str) -> Result<Vec<Workflow>, sqlx::Error> {
    sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {WF_COLUMNS} FROM workflows WHERE project_id = $1"
    )))
    .bind(project_id)
    .fetch_all(&mut **tx)
    .await
}

/// Deletes a workflow with its executions and history (cascade).
pub async fn delete(db: &Db, project_id: &str, id: &str) -> Result<bool, sqlx::Error> {
    Ok(
        sqlx::query("DELETE FROM workflows WHERE project_id = $1 AND id = $2")
            .bind(project_id)
            .bind(id)
            .execute(&db.write)
            .await?
            .rows_affected()
            == 1,
    )
}

/// A workflow (id, name) that sends `template_id`, if any.
pub async fn using_template(
    db: &Db,
    project_id: &str,
    template_id: &str,
) -> Result<Option<(String, String)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT w.id, w.name FROM workflow_templates t JOIN workflows w ON w.id = t.workflow_id \
         WHERE t.project_id = $1 AND t.template_id = $2 ORDER BY w.id LIMIT 1",
    )
    .bind(project_id)
    .bind(template_id)
    .fetch_optional(&db.read)
    .await
}

// ---- events waiting for the engine ----

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PendingEvent {
    pub id: String,
    pub project_id: String,
    pub contact_id: String,
    pub name: String,
    pub data: String,
    pub created_at: i64,
    pub machine: Option<String>,
    pub campaign_id: Option<String>,
    pub template_id: Option<String>,
    pub link_url: Option<String>,
    pub link_tag: Option<String>,
}

/// The oldest events the engine has not seen, locked for this transaction. On PostgreSQL
/// `SKIP LOCKED` lets several nodes take different batches; on SQLite the transaction holds
/// the single writer connection, so nobody else can take them.
pub async fn pending_events(
    tx: &mut Tx,
    backend: Backend,
    limit: i64,
) -> Result<Vec<PendingEvent>, sqlx::Error> {
    let lock = match backend {
        Backend::Postgres => "FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    sqlx::query_as(AssertSqlSafe(format!(
        "SELECT id, project_id, contact_id, name, data, created_at, machine, campaign_id, \
         template_id, link_url, link_tag FROM events WHERE workflow_state = 0 \
         ORDER BY created_at LIMIT $1 {lock}"
    )))
    .bind(limit)
    .fetch_all(&mut **tx)
    .await
}

/// Whether an event named `name` on the contact, from `since` to `until`, is still waiting for
/// the intake (a wait must not time out on an event that came in time but is not yet seen).
pub async fn event_pending(
    db: &Db,
    contact_id: &str,
    name: &str,
    since: i64,
    until: i64,
) -> Result<bool, sqlx::Error> {
    let found: Option<String> = sqlx::query_scalar(
        "SELECT id FROM events WHERE contact_id = $1 AND created_at >= $2 AND created_at <= $3 \
         AND name = $4 AND workflow_state = 0 LIMIT 1",
    )
    .bind(contact_id)
    .bind(since)
    .bind(until)
    .bind(name)
    .fetch_optional(&db.read)
    .await?;
    Ok(found.is_some())
}

pub async fn events_done(tx: &mut Tx, ids: &[&str]) -> Result<(), sqlx::Error> {
    for chunk in ids.chunks(200) {
        let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "UPDATE events SET workflow_state = 1 WHERE id IN ({})",
            marks.join(", ")
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for id in chunk {
            q = q.bind(*id);
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}
