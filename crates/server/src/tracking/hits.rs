//! The `hits` table: the backlog between answering a hit and folding it into the email's counters
//! and the contact's events. Appending is the only write on the answer's path.

use sqlx::AnyConnection;
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use super::apply::{Hit, Kind, Link};
use crate::store::{Backend, Db, Tx};

const COLUMNS: &str =
    "email_id, kind, link_url, link_index, link_tag, machine, scanner, ip, user_agent, at, client";

/// Appends the hits to the backlog (`conn` is a connection to `Db::hits`), in order, with one
/// statement that commits on its own: the batch travels as one JSON array parameter, unpacked by
/// the database (`json_each` / `jsonb_array_elements`). One statement text for every batch size
/// stays prepared, and on SQLite one round trip to sqlx's database thread replaces BEGIN, a
/// multi-row INSERT per piece of the batch and COMMIT: those hand-offs were most of an append.
pub async fn append(
    conn: &mut AnyConnection,
    backend: Backend,
    hits: &[&Hit],
) -> Result<(), sqlx::Error> {
    if hits.is_empty() {
        return Ok(());
    }
    let sql = match backend {
        Backend::Sqlite => APPEND_SQLITE,
        Backend::Postgres => APPEND_POSTGRES,
    };
    sqlx::query(sql)
        .bind(batch_json(hits))
        .execute(conn)
        .await?;
    Ok(())
}

/// Each hit is an array in `COLUMNS` order; `->>` of a JSON null is SQL NULL on both databases.
const APPEND_SQLITE: &str = "WITH b(n, h) AS MATERIALIZED (SELECT key, jsonb(value) FROM json_each($1)) \
    INSERT INTO hits (email_id, kind, link_url, link_index, link_tag, machine, scanner, ip, \
    user_agent, at, client) \
    SELECT h->>0, h->>1, h->>2, h->>3, h->>4, h->>5, h->>6, h->>7, h->>8, h->>9, h->>10 \
    FROM b ORDER BY n";
const APPEND_POSTGRES: &str = "INSERT INTO hits (email_id, kind, link_url, link_index, link_tag, \
    machine, scanner, ip, user_agent, at, client) \
    SELECT h->>0, h->>1, h->>2, (h->>3)::BIGINT, h->>4, h->>5, h->>6, h->>7, h->>8, \
    (h->>9)::BIGINT, h->>10 FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS b(h, n) \
    ORDER BY n";

fn batch_json(hits: &[&Hit]) -> String {
    let rows: Vec<_> = hits
        .iter()
        .map(|h| {
            (
                &h.email_id,
                match h.kind {
                    Kind::Open => "open",
                    Kind::Click => "click",
                },
                h.link.as_ref().map(|l| l.url.as_str()),
                h.link.as_ref().map(|l| i64::from(l.index)),
                h.link.as_ref().and_then(|l| l.tag.as_deref()),
                h.machine.as_deref(),
                h.scanner.as_deref(),
                h.ip.as_deref(),
                h.user_agent.as_deref(),
                h.at,
                h.client.as_deref(),
            )
        })
        .collect();
    serde_json::to_string(&rows).expect("strings and integers serialize")
}

/// Takes the oldest `limit` hits out of the PostgreSQL backlog inside `tx` (gone once `tx`
/// commits, back if it rolls back), oldest first. Rows another node is folding are skipped, so
/// several nodes fold side by side.
pub async fn take(tx: &mut Tx, limit: usize) -> Result<Vec<Hit>, sqlx::Error> {
    let rows = sqlx::query(AssertSqlSafe(format!(
        "DELETE FROM hits WHERE seq IN \
         (SELECT seq FROM hits ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED) \
         RETURNING seq, {COLUMNS}"
    )))
    .bind(limit as i64)
    .fetch_all(&mut **tx)
    .await?;
    let mut hits = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
    // RETURNING gives no order; the fold applies hits as they arrived.
    hits.sort_by_key(|(seq, _)| *seq);
    Ok(hits.into_iter().map(|(_, h)| h).collect())
}

/// The SQLite backlog's file: its one table, numbered by AUTOINCREMENT so a number is never
/// given twice (the fold's cursor in the main file relies on it).
const SQLITE_SCHEMA: &str = "CREATE TABLE IF NOT EXISTS hits (\
    seq INTEGER PRIMARY KEY AUTOINCREMENT, email_id TEXT NOT NULL, kind TEXT NOT NULL, \
    link_url TEXT, link_index BIGINT, link_tag TEXT, machine TEXT, scanner TEXT, ip TEXT, \
    user_agent TEXT, at BIGINT NOT NULL, client TEXT)";

/// Creates the SQLite backlog's table, and keeps its numbering above the fold's cursor: a backlog
/// file removed or replaced while the main file was kept would otherwise number new hits from 1,
/// under the cursor, and the fold would skip them.
pub async fn prepare_sqlite_backlog(db: &Db) -> Result<(), sqlx::Error> {
    sqlx::raw_sql(SQLITE_SCHEMA).execute(&db.hits).await?;
    // A backlog file written before hits carried their client fingerprint (migration 0010).
    let has_client: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM pragma_table_info('hits') WHERE name = 'client'")
            .fetch_one(&db.hits)
            .await?;
    if has_client == 0 {
        sqlx::raw_sql("ALTER TABLE hits ADD COLUMN client TEXT")
            .execute(&db.hits)
            .await?;
    }
    let folded = cursor(db).await?;
    let numbered: Option<i64> =
        sqlx::query_scalar("SELECT seq FROM sqlite_sequence WHERE name = 'hits'")
            .fetch_optional(&db.hits)
            .await?;
    if numbered.unwrap_or(0) < folded {
        let mut tx = db.hits.begin().await?;
        sqlx::query("DELETE FROM sqlite_sequence WHERE name = 'hits'")
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO sqlite_sequence (name, seq) VALUES ('hits', $1)")
            .bind(folded)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
    }
    Ok(())
}

/// The last hit folded from the SQLite backlog (kept in the main file).
pub async fn cursor(db: &Db) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT seq FROM hits_folded WHERE id = 1")
        .fetch_one(&db.read)
        .await
}

/// Moves the cursor from `from` to `to` inside the transaction that applies the hits between;
/// false when it is no longer at `from` (another process on the same file folded them first),
/// and the caller must roll back.
pub async fn move_cursor(tx: &mut Tx, from: i64, to: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("UPDATE hits_folded SET seq = $1 WHERE id = 1 AND seq = $2")
        .bind(to)
        .bind(from)
        .execute(&mut **tx)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Up to `limit` hits of the SQLite backlog after `after`, oldest first, with their numbers. They
/// come back as one JSON array in one row: sqlx hands each row over from its database thread
/// separately, and a slice's hundreds of rows cost more in those hand-offs than in reading.
pub async fn read_after(db: &Db, after: i64, limit: usize) -> Result<Vec<(i64, Hit)>, sqlx::Error> {
    let json: String = sqlx::query_scalar(
        "SELECT json_group_array(json_array(seq, email_id, kind, link_url, link_index, link_tag, \
         machine, scanner, ip, user_agent, at, client)) \
         FROM (SELECT * FROM hits WHERE seq > $1 ORDER BY seq LIMIT $2)",
    )
    .bind(after)
    .bind(limit as i64)
    .fetch_one(&db.hits_read)
    .await?;
    let rows: Vec<JsonHit> =
        serde_json::from_str(&json).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
    let mut hits: Vec<(i64, Hit)> = rows.into_iter().map(from_json).collect();
    hits.sort_by_key(|(seq, _)| *seq);
    Ok(hits)
}

/// One backlog row as `read_after` gets it: seq, then `COLUMNS` in order.
type JsonHit = (
    i64,
    String,
    String,
    Option<String>,
    Option<i64>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    i64,
    Option<String>,
);

fn from_json(r: JsonHit) -> (i64, Hit) {
    let (seq, email_id, kind, url, index, tag, machine, scanner, ip, user_agent, at, client) = r;
    let hit = Hit {
        kind: kind_of(&kind),
        email_id,
        link: url.map(|url| Link {
            url,
            index: u32::try_from(index.unwrap_or(0)).unwrap_or(0),
            tag,
        }),
        machine,
        scanner,
        ip,
        user_agent,
        client,
        at,
    };
    (seq, hit)
}

fn kind_of(kind: &str) -> Kind {
    match kind {
        "click" => Kind::Click,
        _ => Kind::Open,
    }
}

/// Deletes SQLite backlog rows the cursor has passed: housekeeping, not correctness (the cursor
/// already keeps them from being folded twice).
pub async fn forget_through(db: &Db, seq: i64) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM hits WHERE seq <= $1")
        .bind(seq)
        .execute(&db.hits)
        .await?;
    Ok(())
}

fn from_row(row: &AnyRow) -> Result<(i64, Hit), sqlx::Error> {
    let link = match row.try_get::<Option<String>, _>("link_url")? {
        Some(url) => Some(Link {
            url,
            index: u32::try_from(row.try_get::<Option<i64>, _>("link_index")?.unwrap_or(0))
                .unwrap_or(0),
            tag: row.try_get("link_tag")?,
        }),
        None => None,
    };
    let hit = Hit {
        kind: kind_of(&row.try_get::<String, _>("kind")?),
        email_id: row.try_get("email_id")?,
        link,
        machine: row.try_get("machine")?,
        scanner: row.try_get("scanner")?,
        ip: row.try_get("ip")?,
        user_agent: row.try_get("user_agent")?,
        client: row.try_get("client")?,
        at: row.try_get("at")?,
    };
    Ok((row.try_get("seq")?, hit))
}

/// Hits answered but not yet folded (on PostgreSQL, all nodes').
pub async fn pending(db: &Db) -> Result<i64, sqlx::Error> {
    let after = match db.backend {
        Backend::Sqlite => cursor(db).await?,
        Backend::Postgres => 0,
    };
    sqlx::query_scalar("SELECT COUNT(*) FROM hits WHERE seq > $1")
        .bind(after)
        .fetch_one(&db.hits_read)
        .await
}
