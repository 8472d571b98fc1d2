//! Projects and their API keys.

use rand::Rng;
use sqlx::AssertSqlSafe;

use super::{Db, Tx, new_id, now_ms};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Project {
    pub id: String,
    pub name: String,
    pub secret_key: String,
    pub public_key: String,
    pub tracking_mode: String,
    pub created_at: i64,
    /// Campaign parameters for tracked links: a JSON object, or `None` (see `crate::links`).
    pub utm: Option<String>,
    /// Whether the text part's links are tracked too (0/1).
    pub track_text_links: i64,
    /// The base URL of the project's verified tracking domain (`https://links.example.com`),
    /// read with the row from `tracking_domains`; `None` while it has none that is verified.
    pub tracking_url: Option<String>,
}

/// The verified live tracking domain's base URL of the project row aliased `{table}`: computed
/// with the row, so every send path that reads its project sees the domain (crate::links).
pub(crate) fn tracking_url_column(table: &str) -> String {
    format!(
        "(SELECT d.scheme || '://' || d.hostname FROM tracking_domains d \
         WHERE d.project_id = {table}.id AND d.status = 'VERIFIED' AND d.removed_at IS NULL) \
         AS tracking_url"
    )
}

fn columns() -> String {
    format!(
        "id, name, secret_key, public_key, tracking_mode, created_at, utm, track_text_links, {}",
        tracking_url_column("projects")
    )
}

fn random_key(prefix: &str) -> String {
    let bytes: [u8; 24] = rand::rng().random();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("{prefix}{hex}")
}

pub async fn create(db: &Db, name: &str) -> Result<Project, sqlx::Error> {
    let mut tx = db.begin().await?;
    let project = create_tx(&mut tx, name).await?;
    tx.commit().await?;
    Ok(project)
}

/// Inserts a project with new keys and the ENABLED tracking mode, inside `tx` (so its first
/// membership can be written with it).
pub async fn create_tx(tx: &mut Tx, name: &str) -> Result<Project, sqlx::Error> {
    let project = Project {
        id: new_id(),
        name: name.to_string(),
        secret_key: random_key("sk_"),
        public_key: random_key("pk_"),
        tracking_mode: "ENABLED".to_string(),
        created_at: now_ms(),
        utm: None,
        track_text_links: 0,
        tracking_url: None,
    };
    sqlx::query(
        "INSERT INTO projects (id, name, secret_key, public_key, tracking_mode, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&project.id)
    .bind(&project.name)
    .bind(&project.secret_key)
    .bind(&project.public_key)
    .bind(&project.tracking_mode)
    .bind(project.created_at)
    .execute(&mut **tx)
    .await?;
    Ok(project)
}

/// The project whose secret or public key this is, and which of the two it was.
pub async fn by_key(db: &Db, key: &str) -> Result<Option<(Project, bool)>, sqlx::Error> {
    let project: Option<Project> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {} FROM projects WHERE secret_key = $1 OR public_key = $1",
        columns()
    )))
    .bind(key)
    .fetch_optional(&db.read)
    .await?;
    Ok(project.map(|p| {
        let secret = p.secret_key == key;
        (p, secret)
    }))
}

pub async fn get(db: &Db, id: &str) -> Result<Option<Project>, sqlx::Error> {
    sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {} FROM projects WHERE id = $1",
        columns()
    )))
    .bind(id)
    .fetch_optional(&db.read)
    .await
}

pub async fn list(db: &Db) -> Result<Vec<Project>, sqlx::Error> {
    sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {} FROM projects ORDER BY created_at, id",
        columns()
    )))
    .fetch_all(&db.read)
    .await
}

pub async fn update(db: &Db, id: &str, name: &str, tracking_mode: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE projects SET name = $1, tracking_mode = $2 WHERE id = $3")
        .bind(name)
        .bind(tracking_mode)
        .bind(id)
        .execute(&db.write)
        .await?;
    Ok(())
}

/// Replaces both API keys with new random ones; the old ones stop working with this commit
/// (every request looks its key up in this table).
pub async fn regenerate_keys(db: &Db, id: &str) -> Result<(String, String), sqlx::Error> {
    let (secret, public) = (random_key("sk_"), random_key("pk_"));
    sqlx::query("UPDATE projects SET secret_key = $1, public_key = $2 WHERE id = $3")
        .bind(&secret)
        .bind(&public)
        .bind(id)
        .execute(&db.write)
        .await?;
    Ok((secret, public))
}

/// Deletes a project and everything recorded under it, in one transaction. Tables that refer
/// to the project by a foreign key follow it (ON DELETE CASCADE); the rest are emptied here.
pub async fn delete(db: &Db, id: &str) -> Result<bool, sqlx::Error> {
    let mut tx = db.begin().await?;
    for table in [
        "events",
        "outbox",
        "idempotency_keys",
        "workflow_executions",
        "workflow_templates",
    ] {
        sqlx::query(AssertSqlSafe(format!(
            "DELETE FROM {table} WHERE project_id = $1"
        )))
        .bind(id)
        .execute(&mut *tx)
        .await?;
    }
    let gone = sqlx::query("DELETE FROM projects WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected()
        == 1;
    // After the emails went with the project (their triggers only add to the rollup).
    for table in ["link_stats", "link_clickers"] {
        sqlx::query(AssertSqlSafe(format!(
            "DELETE FROM {table} WHERE project_id = $1"
        )))
        .bind(id)
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query("DELETE FROM event_stats WHERE project_id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM email_stats WHERE project_id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(gone)
}

/// Stores a project's link settings (`crate::links::LinkSettings`, already checked).
pub async fn update_links(
    db: &Db,
    id: &str,
    utm: Option<&str>,
    track_text_links: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE projects SET utm = $1, track_text_links = $2 WHERE id = $3")
        .bind(utm)
        .bind(super::flag(track_text_links))
        .bind(id)
        .execute(&db.write)
        .await?;
    Ok(())
}
