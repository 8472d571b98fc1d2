//! The outbox transport's storage: each accepted message, byte for byte, compressed against
//! its email's body dictionary (migrations/0017; `raw` holds messages an older Beacon stored
//! until the background repacking compresses them).

use std::sync::Arc;

use anyhow::Context;
use sqlx::AssertSqlSafe;

use super::{Db, Tx, bodies, now_ms};
use crate::bodies::codec;
use crate::bodies::dictionary::Dictionary;

/// A message as it is read: `raw` is the exact message.
#[derive(Debug, Clone)]
pub struct OutboxMessage {
    pub email_id: String,
    pub project_id: String,
    pub raw: Vec<u8>,
    pub created_at: i64,
}

/// A message compressed for storing: one zstd frame, against a dictionary or alone.
#[derive(Debug, Clone)]
pub struct Packed {
    /// Stored (if it is not yet) in the transaction that stores the message.
    pub dictionary: Option<Arc<Dictionary>>,
    pub frame: Vec<u8>,
}

#[derive(sqlx::FromRow)]
struct Row {
    email_id: String,
    project_id: String,
    raw: Vec<u8>,
    dictionary_id: Option<String>,
    packed: Option<Vec<u8>>,
    created_at: i64,
}

const COLUMNS: &str = "email_id, project_id, raw, dictionary_id, packed, created_at";

pub async fn insert(
    tx: &mut Tx,
    project_id: &str,
    email_id: &str,
    message: &Packed,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO outbox (email_id, project_id, raw, dictionary_id, packed, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (email_id) DO UPDATE SET raw = excluded.raw, \
         dictionary_id = excluded.dictionary_id, packed = excluded.packed, \
         created_at = excluded.created_at",
    )
    .bind(email_id)
    .bind(project_id)
    .bind(Vec::<u8>::new())
    .bind(message.dictionary.as_ref().map(|d| d.id.as_str()))
    .bind(message.frame.clone())
    .bind(now_ms())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Rows as read, with their messages decompressed (one query for the dictionaries they need).
async fn decode(db: &Db, rows: Vec<Row>) -> anyhow::Result<Vec<OutboxMessage>> {
    let dictionaries =
        bodies::dictionaries(db, rows.iter().filter_map(|r| r.dictionary_id.as_deref())).await?;
    let mut unpackers = codec::Unpackers::default();
    rows.into_iter()
        .map(|r| {
            let raw = match &r.packed {
                None => r.raw,
                Some(frame) => {
                    let id = r.dictionary_id.as_deref();
                    let dictionary = bodies::needed(&dictionaries, id)?;
                    unpackers
                        .decompress(frame, id, dictionary)
                        .with_context(|| format!("outbox message {}", r.email_id))?
                }
            };
            Ok(OutboxMessage {
                email_id: r.email_id,
                project_id: r.project_id,
                raw,
                created_at: r.created_at,
            })
        })
        .collect()
}

async fn one(db: &Db, row: Option<Row>) -> anyhow::Result<Option<OutboxMessage>> {
    Ok(match row {
        Some(row) => decode(db, vec![row]).await?.pop(),
        None => None,
    })
}

pub async fn get(
    db: &Db,
    project_id: &str,
    email_id: &str,
) -> anyhow::Result<Option<OutboxMessage>> {
    let row = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM outbox WHERE project_id = $1 AND email_id = $2"
    )))
    .bind(project_id)
    .bind(email_id)
    .fetch_optional(&db.read)
    .await?;
    one(db, row).await
}

/// Newest first, before the `cursor` email id.
pub async fn list(
    db: &Db,
    project_id: Option<&str>,
    cursor: Option<&str>,
    limit: i64,
) -> anyhow::Result<Vec<OutboxMessage>> {
    let rows = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM outbox \
         WHERE ($1 = '' OR project_id = $1) AND ($2 = '' OR email_id < $2) \
         ORDER BY email_id DESC LIMIT $3"
    )))
    .bind(project_id.unwrap_or(""))
    .bind(cursor.unwrap_or(""))
    .bind(limit)
    .fetch_all(&db.read)
    .await?;
    decode(db, rows).await
}

/// One message of any project (for the CLI, which speaks for the whole store).
pub async fn get_any(db: &Db, email_id: &str) -> anyhow::Result<Option<OutboxMessage>> {
    let row = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM outbox WHERE email_id = $1"
    )))
    .bind(email_id)
    .fetch_optional(&db.read)
    .await?;
    one(db, row).await
}
