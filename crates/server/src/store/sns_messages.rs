//! Amazon SNS delivers at least once: the `MessageId`s already processed, so the same
//! notification twice changes nothing the second time.

use super::{Db, Tx};

/// How long a processed id is remembered. Notifications older than this are refused
/// (`ses::events`), so a pruned id can never be replayed; SNS gives up retrying within hours.
pub const REMEMBER_MS: i64 = 7 * 24 * 3600 * 1000;

/// True when `message_id` was processed already.
pub async fn seen(db: &Db, message_id: &str) -> Result<bool, sqlx::Error> {
    let row: Option<(i64,)> = sqlx::query_as("SELECT 1 FROM sns_messages WHERE message_id = $1")
        .bind(message_id)
        .fetch_optional(&db.read)
        .await?;
    Ok(row.is_some())
}

/// Records `message_id` as processed; false when another request got there first (the caller
/// then rolls back whatever it did in `tx`).
pub async fn remember(
    tx: &mut Tx,
    message_id: &str,
    topic_arn: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO sns_messages (message_id, topic_arn, received_at) VALUES ($1, $2, $3) \
         ON CONFLICT (message_id) DO NOTHING",
    )
    .bind(message_id)
    .bind(topic_arn)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Drops ids remembered before `before` (epoch ms).
pub async fn prune(db: &Db, before: i64) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("DELETE FROM sns_messages WHERE received_at < $1")
        .bind(before)
        .execute(&db.write)
        .await?;
    Ok(done.rows_affected())
}
