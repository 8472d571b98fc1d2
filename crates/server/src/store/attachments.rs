//! `attachment_sets`: a send request's attachments (the JSON array `/v1/send` accepted), stored
//! once for all its recipients and compressed alone; emails name theirs in `attachment_set_id`.

use std::collections::HashMap;

use super::{Db, Tx, now_ms};
use crate::bodies::codec;
use anyhow::Context;

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
    super::bodies::unpacked(db, "attachment_sets", "packed", ids)
        .await?
        .into_iter()
        .map(|(id, json)| {
            let json = String::from_utf8(json)
                .ok()
                .with_context(|| format!("attachment set {id} is not UTF-8"))?;
            Ok((id, json))
        })
        .collect()
}
