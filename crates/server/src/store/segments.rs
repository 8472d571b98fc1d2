//! Segments: a named condition over a project's contacts (evaluated by `crate::segments`).

use sqlx::AssertSqlSafe;

use super::{Db, now_ms};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Segment {
    pub id: String,
    pub project_id: String,
    pub name: String,
    /// The condition JSON as given, validated before it was stored.
    pub condition: String,
    pub created_at: i64,
    pub updated_at: i64,
}

const COLUMNS: &str = "id, project_id, name, condition, created_at, updated_at";

pub async fn insert(db: &Db, s: &Segment) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO segments (id, project_id, name, condition, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&s.id)
    .bind(&s.project_id)
    .bind(&s.name)
    .bind(&s.condition)
    .bind(s.created_at)
    .bind(s.updated_at)
    .execute(&db.write)
    .await?;
    Ok(())
}

pub async fn get(db: &Db, project_id: &str, id: &str) -> Result<Option<Segment>, sqlx::Error> {
    sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM segments WHERE project_id = $1 AND id = $2"
    )))
    .bind(project_id)
    .bind(id)
    .fetch_optional(&db.read)
    .await
}

/// A page of segments in id (creation) order, after the `cursor` id.
pub async fn list(
    db: &Db,
    project_id: &str,
    cursor: Option<&str>,
    limit: i64,
) -> Result<Vec<Segment>, sqlx::Error> {
    sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM segments WHERE project_id = $1 AND id > $2 ORDER BY id LIMIT $3"
    )))
    .bind(project_id)
    .bind(cursor.unwrap_or(""))
    .bind(limit)
    .fetch_all(&db.read)
    .await
}

/// Renames and/or replaces the condition; false when the segment does not exist.
pub async fn update(
    db: &Db,
    project_id: &str,
    id: &str,
    name: Option<&str>,
    condition: Option<&str>,
) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query(
        "UPDATE segments SET name = COALESCE($1, name), condition = COALESCE($2, condition), \
         updated_at = $3 WHERE project_id = $4 AND id = $5",
    )
    .bind(name)
    .bind(condition)
    .bind(now_ms())
    .bind(project_id)
    .bind(id)
    .execute(&db.write)
    .await?
    .rows_affected()
        == 1)
}

pub async fn delete(db: &Db, project_id: &str, id: &str) -> Result<bool, sqlx::Error> {
    Ok(
        sqlx::query("DELETE FROM segments WHERE project_id = $1 AND id = $2")
            .bind(project_id)
            .bind(id)
            .execute(&db.write)
            .await?
            .rows_affected()
            == 1,
    )
}
