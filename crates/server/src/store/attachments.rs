//! `attachment_sets`: a send request's attachments (the JSON array `/v1/send` accepted), stored
//! once for all its recipients and compressed alone; emails name theirs in `attachment_set_id`.

use std::collections::HashMap;

use anyhow::Context;
use sqlx::AssertSqlSafe;

use super::{Db, Tx, now_ms, placeholders};
use crate::bodies::codec;

/// Stores a set (a JSON array as text) under `id` (a [`super::new_id`]).
pub async fn insert(tx: &mut Tx, id: &str, project_id: &str, json: &str) -> anyhow::Result<()> {
    let packed = codec::compress(json.as_bytes(), None)?;
    sqlx::query(
        "INSERT INTO attachment_sets (id, project_id, packed, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(id)
    .bind(project_id)
    .bind(packed)
    .bind(now_ms())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// These sets as JSON text, by id; a set retention removed is left out.
pub async fn read(db: &Db, ids: &[&str]) -> anyhow::Result<HashMap<String, String>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let sql = format!(
        "SELECT id, packed FROM attachment_sets WHERE id IN ({})",
        placeholders(1..=ids.len())
    );
    let mut query = sqlx::query_as::<_, (String, Vec<u8>)>(AssertSqlSafe(sql));
    for id in ids {
        query = query.bind(*id);
    }
    query
        .fetch_all(&db.read)
        .await?
        .into_iter()
        .map(|(id, packed)| {
            let json = codec::decompress(&packed, None)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .with_context(|| format!("attachment set {id} is damaged"))?;
            Ok((id, json))
        })
        .collect()
}
