//! Templates: a subject and body with `{{var}}` placeholders, typed TRANSACTIONAL, MARKETING or
//! HEADLESS (the type decides whether tracking applies in Marketing-only mode).

use super::{Db, now_ms};
use sqlx::AssertSqlSafe;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Template {
    pub id: String,
    pub project_id: String,
    pub name: String,
    pub subject: String,
    pub body: String,
    #[sqlx(rename = "type")]
    pub kind: String,
    pub created_at: i64,
    pub updated_at: i64,
}

const COLUMNS: &str = "id, project_id, name, subject, body, type, created_at, updated_at";

pub async fn insert(db: &Db, t: &Template) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO templates (id, project_id, name, subject, body, type, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&t.id)
    .bind(&t.project_id)
    .bind(&t.name)
    .bind(&t.subject)
    .bind(&t.body)
    .bind(&t.kind)
    .bind(t.created_at)
    .bind(t.updated_at)
    .execute(&db.write)
    .await?;
    Ok(())
}

pub async fn get(db: &Db, project_id: &str, id: &str) -> Result<Option<Template>, sqlx::Error> {
    sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM templates WHERE project_id = $1 AND id = $2"
    )))
    .bind(project_id)
    .bind(id)
    .fetch_optional(&db.read)
    .await
}

pub async fn list(
    db: &Db,
    project_id: &str,
    cursor: Option<&str>,
    limit: i64,
) -> Result<Vec<Template>, sqlx::Error> {
    sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM templates WHERE project_id = $1 AND id > $2 ORDER BY id LIMIT $3"
    )))
    .bind(project_id)
    .bind(cursor.unwrap_or(""))
    .bind(limit)
    .fetch_all(&db.read)
    .await
}

pub async fn update(db: &Db, t: &Template) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE templates SET name = $1, subject = $2, body = $3, type = $4, updated_at = $5 \
         WHERE project_id = $6 AND id = $7",
    )
    .bind(&t.name)
    .bind(&t.subject)
    .bind(&t.body)
    .bind(&t.kind)
    .bind(now_ms())
    .bind(&t.project_id)
    .bind(&t.id)
    .execute(&db.write)
    .await?;
    Ok(())
}

pub async fn delete(db: &Db, project_id: &str, id: &str) -> Result<bool, sqlx::Error> {
    Ok(
        sqlx::query("DELETE FROM templates WHERE project_id = $1 AND id = $2")
            .bind(project_id)
            .bind(id)
            .execute(&db.write)
            .await?
            .rows_affected()
            == 1,
    )
}
