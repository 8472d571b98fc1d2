//! `maintenance_cursors`: where each background job over the whole store (repacking old
//! bodies, retention) got to, so a restart resumes there instead of starting over.

use super::Db;

/// The job's saved position (`None` before its first batch).
pub async fn cursor(db: &Db, job: &str) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT position FROM maintenance_cursors WHERE name = $1")
        .bind(job)
        .fetch_optional(&db.read)
        .await
}

/// Saves the job's position.
pub async fn save(db: &Db, job: &str, position: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO maintenance_cursors (name, position) VALUES ($1, $2) \
         ON CONFLICT (name) DO UPDATE SET position = excluded.position",
    )
    .bind(job)
    .bind(position)
    .execute(&db.write)
    .await?;
    Ok(())
}
