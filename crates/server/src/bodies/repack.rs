//! Bodies and outbox messages an older Beacon stored in plain text, compressed in place in the
//! background (migrations/0017 only adds the columns, so an upgrade starts at once on a large
//! database). Rows are walked in id order from a saved cursor (`store::maintenance`), so a
//! restart resumes where it stopped; each batch is read on the read pool, compressed off the
//! async threads, and written in one short transaction, then the job pauses: sends and
//! tracking keep the writer. Until a row is repacked it is read as it is.
//!
//! The emails of one campaign are compressed against the first of them met (its bodies become
//! the dictionary), as new campaigns are against their prepared body; other emails alone.
//! On SQLite the freed pages are reused by later writes (`VACUUM` gives them back to the disk).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::codec;
use super::dictionary::BodyPacker;
use crate::store::emails::Bodies;
use crate::store::{Db, bodies, maintenance};

/// Rows per batch: a legacy newsletter row is ~130 KB, so a batch writes ~2.5 MB.
const BATCH: i64 = 20;
const PAUSE: Duration = Duration::from_millis(20);

const BODIES: &str = "repack.bodies";
const OUTBOX: &str = "repack.outbox";
/// The cursor once a table is done: rows written since are compressed already.
const DONE: &str = "\u{10FFFF}";

/// Starts repacking; the task ends when both tables are done, or when `stop` turns true.
pub fn spawn(db: &Db, mut stop: watch::Receiver<bool>) -> JoinHandle<()> {
    let db = db.clone();
    tokio::spawn(async move {
        let mut campaigns = HashMap::new();
        loop {
            let result = match repack_bodies(&db, &mut campaigns).await {
                Ok(0) => repack_outbox(&db).await,
                other => other,
            };
            let pause = match result {
                Ok(0) => return,
                Ok(_) => PAUSE,
                Err(e) => {
                    tracing::error!(error = format!("{e:#}"), "repacking stored bodies failed");
                    Duration::from_secs(30)
                }
            };
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = stop.changed() => return,
            }
        }
    })
}

type Legacy = (
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
);

/// One batch of `email_bodies`; returns how many rows it repacked (0: the table is done).
pub async fn repack_bodies(
    db: &Db,
    campaigns: &mut HashMap<String, Arc<BodyPacker>>,
) -> anyhow::Result<usize> {
    let after = maintenance::cursor(db, BODIES).await?.unwrap_or_default();
    if after == DONE {
        return Ok(0);
    }
    let rows: Vec<Legacy> = sqlx::query_as(
        "SELECT b.email_id, b.html, b.text, e.campaign_id, e.project_id FROM email_bodies b \
         JOIN emails e ON e.id = b.email_id \
         WHERE b.email_id > $1 AND b.packed IS NULL AND b.purged_at IS NULL \
         ORDER BY b.email_id LIMIT $2",
    )
    .bind(&after)
    .bind(BATCH)
    .fetch_all(&db.read)
    .await?;
    let Some(last) = rows.last().map(|r| r.0.clone()) else {
        maintenance::save(db, BODIES, DONE).await?;
        return Ok(0);
    };
    let count = rows.len();
    // A campaign's packer is kept across batches (a few at a time).
    if campaigns.len() > 16 {
        campaigns.clear();
    }
    let known = campaigns.clone();
    let (packed, fresh) = tokio::task::spawn_blocking(move || pack_all(rows, known)).await??;
    let mut tx = db.begin().await?;
    for packer in fresh.values() {
        if let Some(d) = packer.dictionary() {
            bodies::insert_dictionary(&mut tx, db.backend, d).await?;
        }
    }
    for (email_id, dictionary_id, frame) in packed {
        sqlx::query(
            "UPDATE email_bodies SET packed = $1, dictionary_id = $2, html = NULL, text = NULL \
             WHERE email_id = $3 AND packed IS NULL AND purged_at IS NULL",
        )
        .bind(frame)
        .bind(dictionary_id)
        .bind(email_id)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    campaigns.extend(fresh);
    maintenance::save(db, BODIES, &last).await?;
    Ok(count)
}

type Packed = Vec<(String, Option<String>, Vec<u8>)>;

/// Compresses a batch; returns the frames and the campaign packers it made.
fn pack_all(
    rows: Vec<Legacy>,
    known: HashMap<String, Arc<BodyPacker>>,
) -> anyhow::Result<(Packed, HashMap<String, Arc<BodyPacker>>)> {
    let alone = BodyPacker::alone()?;
    let mut fresh: HashMap<String, Arc<BodyPacker>> = HashMap::new();
    let mut out = Vec::with_capacity(rows.len());
    for (email_id, html, text, campaign, project) in rows {
        let bodies = Bodies {
            html,
            text,
            purged_at: None,
        };
        let packer = match campaign {
            Some(c) => match known.get(&c).or_else(|| fresh.get(&c)) {
                Some(p) => Some(p.clone()),
                None => {
                    let p = Arc::new(BodyPacker::shared(&project, &codec::payload(&bodies))?);
                    fresh.insert(c, p.clone());
                    Some(p)
                }
            },
            None => None,
        };
        let (dictionary_id, frame) = packer.as_deref().unwrap_or(&alone).pack(&bodies)?;
        out.push((email_id, dictionary_id.map(str::to_string), frame));
    }
    Ok((out, fresh))
}

/// One batch of `outbox`; returns how many rows it repacked (0: the table is done).
pub async fn repack_outbox(db: &Db) -> anyhow::Result<usize> {
    let after = maintenance::cursor(db, OUTBOX).await?.unwrap_or_default();
    if after == DONE {
        return Ok(0);
    }
    let rows: Vec<(String, Vec<u8>)> = sqlx::query_as(
        "SELECT email_id, raw FROM outbox WHERE email_id > $1 AND packed IS NULL \
         ORDER BY email_id LIMIT $2",
    )
    .bind(&after)
    .bind(BATCH)
    .fetch_all(&db.read)
    .await?;
    let Some(last) = rows.last().map(|r| r.0.clone()) else {
        maintenance::save(db, OUTBOX, DONE).await?;
        return Ok(0);
    };
    let count = rows.len();
    let packed = tokio::task::spawn_blocking(move || {
        rows.into_iter()
            .map(|(id, raw)| Ok((id, codec::compress(&raw, None)?)))
            .collect::<Result<Vec<_>, codec::CodecError>>()
    })
    .await??;
    let mut tx = db.begin().await?;
    for (email_id, frame) in packed {
        sqlx::query(
            "UPDATE outbox SET packed = $1, raw = $2 WHERE email_id = $3 AND packed IS NULL",
        )
        .bind(frame)
        .bind(Vec::<u8>::new())
        .bind(email_id)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    maintenance::save(db, OUTBOX, &last).await?;
    Ok(count)
}
