//! Remembered answers for `Idempotency-Key`: the same key gets the same answer, once.

use super::{Db, Tx, now_ms};

pub struct Remembered {
    pub request_hash: String,
    pub response: String,
}

pub async fn find(db: &Db, project_id: &str, key: &str) -> Result<Option<Remembered>, sqlx::Error> {
    let row: Option<(String, String)> = sqlx::query_as(
        "SELECT request_hash, response FROM idempotency_keys WHERE project_id = $1 AND key = $2",
    )
    .bind(project_id)
    .bind(key)
    .fetch_optional(&db.read)
    .await?;
    Ok(row.map(|(request_hash, response)| Remembered {
        request_hash,
        response,
    }))
}

/// Records the answer in the same transaction as the work it describes, so either both exist
/// or neither. A concurrent twin fails here on the primary key and rolls its work back.
pub async fn remember(
    tx: &mut Tx,
    project_id: &str,
    key: &str,
    request_hash: &str,
    response: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO idempotency_keys (project_id, key, request_hash, response, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(project_id)
    .bind(key)
    .bind(request_hash)
    .bind(response)
    .bind(now_ms())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Forgets answers older than `before` (epoch ms). Keys are kept for at least a day, long
/// enough for any client's retries.
pub async fn purge(db: &Db, before: i64) -> Result<u64, sqlx::Error> {
    Ok(
        sqlx::query("DELETE FROM idempotency_keys WHERE created_at < $1")
            .bind(before)
            .execute(&db.write)
            .await?
            .rows_affected(),
    )
}
