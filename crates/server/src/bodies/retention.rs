//! Retention, in the background: `BEACON_BODY_RETENTION_DAYS` removes the HTML, text,
//! attachments and outbox message of emails older than that (the email row, its events,
//! counters and statistics stay; its bodies' row keeps `purged_at`, which the API shows), and
//! `BEACON_HIT_CLIENT_RETENTION_DAYS` removes the IP and user agent from older open and click
//! events.
//!
//! Each walks its table in time order from a saved cursor (`store::maintenance`) in batches of
//! [`BATCH`]: the rows are found on the read pool, then changed by id in one short transaction,
//! so the writer (on SQLite, the only one) is never held for long; a pause follows each batch.

use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::startup::AppState;
use crate::store::{self, Backend, Db, bodies, maintenance, placeholders};

/// Rows per batch.
pub const BATCH: usize = 200;
/// The pause after a batch, so sends and tracking keep the writer.
const PAUSE: Duration = Duration::from_millis(50);
/// How often retention looks again once it has caught up.
const EVERY: Duration = Duration::from_secs(60);

const BODIES: &str = "retention.bodies";
/// The emails body retention passed while they were still queued (ids, space-separated).
const WAITING: &str = "retention.bodies.waiting";
/// The most emails [`WAITING`] holds (emails queued longer than the retention are rare: a
/// node that was down, a relay that refused for days).
const WAITING_MAX: usize = 1000;
const HIT_CLIENTS: &str = "retention.hit_clients";

/// Starts retention when either setting is given; stops when `stop` turns true.
pub fn spawn(state: &AppState, mut stop: watch::Receiver<bool>) -> Option<JoinHandle<()>> {
    let (bodies, clients) = (
        state.settings.body_retention_ms,
        state.settings.hit_client_retention_ms,
    );
    if bodies.is_none() && clients.is_none() {
        return None;
    }
    let db = state.db.clone();
    Some(tokio::spawn(async move {
        loop {
            let mut busy = false;
            if let Some(keep) = bodies {
                match purge_bodies(&db, store::now_ms() - keep).await {
                    Ok(n) => busy |= n == BATCH,
                    Err(e) => tracing::error!(error = format!("{e:#}"), "body retention failed"),
                }
            }
            if let Some(keep) = clients {
                match purge_hit_clients(&db, store::now_ms() - keep).await {
                    Ok(n) => busy |= n == BATCH,
                    Err(e) => {
                        tracing::error!(error = format!("{e:#}"), "hit client retention failed")
                    }
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(if busy { PAUSE } else { EVERY }) => {}
                _ = stop.changed() => return,
            }
        }
    }))
}

/// An email as retention sees it: id, created_at, status, attachments (as an older Beacon
/// kept them in the row).
type Row = (String, i64, String, String);

fn queued((_, _, status, _): &Row) -> bool {
    status == "PENDING" || status == "SENDING"
}

/// One batch of body retention: emails created before `cutoff` (epoch ms), in (created_at, id)
/// order from the saved cursor. Returns how many emails it walked past. An email still queued
/// or being sent when retention reaches it keeps its bodies (it cannot be delivered without)
/// and is remembered ([`WAITING`]): each batch looks at those again and purges the ones that
/// have been delivered or failed since. Past [`WAITING_MAX`] of them the walk stops at the next
/// queued one until some leave the queue.
pub async fn purge_bodies(db: &Db, cutoff: i64) -> anyhow::Result<usize> {
    let (after_at, after_id) = split_cursor(maintenance::cursor(db, BODIES).await?);
    // A range on `emails_created (created_at, id)` from the cursor: earlier rows are not read.
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT id, created_at, status, attachments FROM emails \
         WHERE created_at < $1 AND created_at >= $2 AND (created_at > $2 OR id > $3) \
         ORDER BY created_at, id LIMIT $4",
    )
    .bind(cutoff)
    .bind(after_at)
    .bind(&after_id)
    .bind(BATCH as i64)
    .fetch_all(&db.read)
    .await?;
    let waited = maintenance::cursor(db, WAITING).await?.unwrap_or_default();
    let rechecked = emails(db, &waited.split_whitespace().collect::<Vec<_>>()).await?;
    let mut waiting: Vec<&str> = rechecked
        .iter()
        .filter(|r| queued(r))
        .map(|(id, ..)| id.as_str())
        .collect();
    let mut walked = 0;
    for row in &rows {
        if queued(row) {
            if waiting.len() >= WAITING_MAX {
                break;
            }
            waiting.push(&row.0);
        }
        walked += 1;
    }
    let rows = &rows[..walked];
    let waiting = waiting.join(" ");
    if rows.is_empty() && waiting == waited {
        return Ok(0);
    }
    let done: Vec<&str> = rows
        .iter()
        .chain(&rechecked)
        .filter(|r| !queued(r))
        .map(|(id, ..)| id.as_str())
        .collect();
    let in_row: Vec<&str> = rows
        .iter()
        .chain(&rechecked)
        .filter(|r| !queued(r) && r.3 != "[]")
        .map(|(id, ..)| id.as_str())
        .collect();
    // The dictionaries these rows name: removed below once nothing names them.
    let dictionaries = named_dictionaries(db, &done).await?;
    let now = store::now_ms();
    let mut tx = db.begin().await?;
    if !done.is_empty() {
        let ids = placeholders(2..=done.len() + 1);
        by_ids(
            &format!(
                "UPDATE email_bodies SET html = NULL, text = NULL, packed = NULL, \
                 dictionary_id = NULL, purged_at = $1 WHERE purged_at IS NULL \
                 AND email_id IN ({ids})"
            ),
            Some(now),
            &done,
        )
        .execute(&mut *tx)
        .await?;
        by_ids(
            &format!(
                "DELETE FROM outbox WHERE email_id IN ({})",
                placeholders(1..=done.len())
            ),
            None,
            &done,
        )
        .execute(&mut *tx)
        .await?;
    }
    if !in_row.is_empty() {
        // Attachments an older Beacon kept in the row.
        by_ids(
            &format!(
                "UPDATE emails SET attachments = '[]' WHERE id IN ({})",
                placeholders(1..=in_row.len())
            ),
            None,
            &in_row,
        )
        .execute(&mut *tx)
        .await?;
    }
    // A send request's attachments go once none of its emails still needs them.
    sqlx::query(
        "DELETE FROM attachment_sets WHERE id IN (SELECT id FROM attachment_sets \
         WHERE created_at < $1 AND id NOT IN (SELECT attachment_set_id FROM emails \
         WHERE status IN ('PENDING', 'SENDING') AND attachment_set_id IS NOT NULL) LIMIT $2)",
    )
    .bind(cutoff)
    .bind(BATCH as i64)
    .execute(&mut *tx)
    .await?;
    bodies::remove_unused_dictionaries(&mut tx, &dictionaries, cutoff).await?;
    tx.commit().await?;
    if let Some((last_id, last_at, ..)) = rows.last() {
        maintenance::save(db, BODIES, &format!("{last_at}/{last_id}")).await?;
    }
    if waiting != waited {
        maintenance::save(db, WAITING, &waiting).await?;
    }
    Ok(rows.len())
}

/// These emails as retention sees them (an id no longer there is left out).
async fn emails(db: &Db, ids: &[&str]) -> Result<Vec<Row>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT id, created_at, status, attachments FROM emails WHERE id IN ({})",
        placeholders(1..=ids.len())
    );
    let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql));
    for id in ids {
        query = query.bind(*id);
    }
    query.fetch_all(&db.read).await
}

/// The dictionaries the bodies and outbox messages of these emails name.
async fn named_dictionaries(db: &Db, ids: &[&str]) -> Result<Vec<String>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let list = placeholders(1..=ids.len());
    let sql = format!(
        "SELECT dictionary_id FROM email_bodies WHERE email_id IN ({list}) \
         AND dictionary_id IS NOT NULL UNION \
         SELECT dictionary_id FROM outbox WHERE email_id IN ({list}) AND dictionary_id IS NOT NULL"
    );
    let mut query = sqlx::query_scalar(sqlx::AssertSqlSafe(sql));
    for id in ids {
        query = query.bind(*id);
    }
    query.fetch_all(&db.read).await
}

/// One batch of hit client retention: open and click events created before `cutoff` lose
/// `ip` and `userAgent` from their data. Returns how many events it walked past.
pub async fn purge_hit_clients(db: &Db, cutoff: i64) -> anyhow::Result<usize> {
    let after_id = maintenance::cursor(db, HIT_CLIENTS)
        .await?
        .unwrap_or_default();
    // Events have no index on time alone; their ids are time-ordered (UUIDv7, made when the
    // event is stored, never before its hit), so the walk goes by id and stops at the first
    // event past the cutoff.
    let rows: Vec<(String, i64, String)> = sqlx::query_as(
        "SELECT id, created_at, name FROM events WHERE id > $1 ORDER BY id LIMIT $2",
    )
    .bind(&after_id)
    .bind(BATCH as i64)
    .fetch_all(&db.read)
    .await?;
    let old: Vec<&(String, i64, String)> =
        rows.iter().take_while(|(_, at, _)| *at < cutoff).collect();
    let Some((last_id, _, _)) = old.last().copied() else {
        return Ok(0);
    };
    let hits: Vec<&str> = old
        .iter()
        .filter(|(_, _, name)| name == "email.open" || name == "email.click")
        .map(|(id, ..)| id.as_str())
        .collect();
    if !hits.is_empty() {
        let strip = match db.backend {
            Backend::Sqlite => "json_remove(data, '$.ip', '$.userAgent')",
            Backend::Postgres => "(data::jsonb - 'ip' - 'userAgent')::text",
        };
        by_ids(
            &format!(
                "UPDATE events SET data = {strip} WHERE id IN ({})",
                placeholders(1..=hits.len())
            ),
            None,
            &hits,
        )
        .execute(&db.write)
        .await?;
    }
    maintenance::save(db, HIT_CLIENTS, last_id).await?;
    Ok(old.len())
}

/// A statement with an optional first parameter, then the ids.
fn by_ids<'q>(
    sql: &str,
    first: Option<i64>,
    ids: &'q [&'q str],
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql.to_string()));
    if let Some(first) = first {
        query = query.bind(first);
    }
    for id in ids {
        query = query.bind(*id);
    }
    query
}

/// `"<created_at>/<id>"` → its parts; the start before the first batch.
fn split_cursor(saved: Option<String>) -> (i64, String) {
    saved
        .as_deref()
        .and_then(|s| s.split_once('/'))
        .and_then(|(at, id)| Some((at.parse().ok()?, id.to_string())))
        .unwrap_or((i64::MIN, String::new()))
}
