//! The outbox transport's storage: each accepted message, byte for byte.

use super::{Db, Tx, now_ms};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OutboxMessage {
    pub email_id: String,
    pub project_id: String,
    pub raw: Vec<u8>,
    pub created_at: i64,
}

pub async fn insert(
    tx: &mut Tx,
    project_id: &str,
    email_id: &str,
    raw: &[u8],
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO outbox (email_id, project_id, raw, created_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (email_id) DO UPDATE SET raw = excluded.raw, created_at = excluded.created_at",
    )
    .bind(email_id)
    .bind(project_id)
    .bind(raw.to_vec())
    .bind(now_ms())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn get(
    db: &Db,
    project_id: &str,
    email_id: &str,
) -> Result<Option<OutboxMessage>, sqlx::Error> {
    sqlx::query_as(
        "SELECT email_id, project_id, raw, created_at FROM outbox WHERE project_id = $1 AND email_id = $2",
    )
    .bind(project_id)
    .bind(email_id)
    .fetch_optional(&db.read)
    .await
}

/// Newest first, before the `cursor` email id.
pub async fn list(
    db: &Db,
    project_id: Option<&str>,
    cursor: Option<&str>,
    limit: i64,
) -> Result<Vec<OutboxMessage>, sqlx::Error> {
    sqlx::query_as(
        "SELECT email_id, project_id, raw, created_at FROM outbox \
         WHERE ($1 = '' OR project_id = $1) AND ($2 = '' OR email_id < $2) \
         ORDER BY email_id DESC LIMIT $3",
    )
    .bind(project_id.unwrap_or(""))
    .bind(cursor.unwrap_or(""))
    .bind(limit)
    .fetch_all(&db.read)
    .await
}

/// One message of any project (for the CLI, which speaks for the whole store).
pub async fn get_any(db: &Db, email_id: &str) -> Result<Option<OutboxMessage>, sqlx::Error> {
    sqlx::query_as("SELECT email_id, project_id, raw, created_at FROM outbox WHERE email_id = $1")
        .bind(email_id)
        .fetch_optional(&db.read)
        .await
}
