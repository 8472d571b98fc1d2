//! The `hits` table: the backlog between answering a hit and folding it into the email's counters
//! and the contact's events. Appending is the only write on the answer's path.

use std::fmt::Write as _;

use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use super::apply::{Hit, Kind, Link};
use crate::store::{Backend, Db, Tx};

const COLUMNS: &str =
    "email_id, kind, link_url, link_index, link_tag, machine, scanner, ip, user_agent, at";
const COLS: usize = 10;

/// The largest multi-row insert. Batches are appended in power-of-two pieces (300 hits are
/// 256, 32, 8 and 4), so at most nine statement texts exist and each stays prepared on its
/// connection; one text per batch size would make the database parse and plan most appends anew.
const APPEND_MAX: usize = 256;

/// Appends the hits inside `tx` (a transaction on `Db::hits`), in order.
pub async fn append(tx: &mut Tx, backend: Backend, hits: &[&Hit]) -> Result<(), sqlx::Error> {
    let mut rest = hits;
    while !rest.is_empty() {
        let n = piece(rest.len());
        let (now, later) = rest.split_at(n);
        let sql = format!(
            "INSERT INTO hits ({COLUMNS}) VALUES {}",
            placeholders(backend, n, COLS)
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for h in now {
            query = query
                .bind(&h.email_id)
                .bind(match h.kind {
                    Kind::Open => "open",
                    Kind::Click => "click",
                })
                .bind(h.link.as_ref().map(|l| l.url.as_str()))
                .bind(h.link.as_ref().map(|l| i64::from(l.index)))
                .bind(h.link.as_ref().and_then(|l| l.tag.as_deref()))
                .bind(h.machine.as_deref())
                .bind(h.scanner.as_deref())
                .bind(h.ip.as_deref())
                .bind(h.user_agent.as_deref())
                .bind(h.at);
        }
        query.execute(&mut **tx).await?;
        rest = later;
    }
    Ok(())
}

/// The largest power of two up to `APPEND_MAX` that is not more than `len` (`len` > 0).
fn piece(len: usize) -> usize {
    let n = len.min(APPEND_MAX);
    1 << (usize::BITS - 1 - n.leading_zeros())
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
    user_agent TEXT, at BIGINT NOT NULL)";

/// Creates the SQLite backlog's table, and keeps its numbering above the fold's cursor: a backlog
/// file removed or replaced while the main file was kept would otherwise number new hits from 1,
/// under the cursor, and the fold would skip them.
pub async fn prepare_sqlite_backlog(db: &Db) -> Result<(), sqlx::Error> {
    sqlx::raw_sql(SQLITE_SCHEMA).execute(&db.hits).await?;
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

/// Up to `limit` hits of the SQLite backlog after `after`, oldest first, with their numbers.
pub async fn read_after(db: &Db, after: i64, limit: usize) -> Result<Vec<(i64, Hit)>, sqlx::Error> {
    let rows = sqlx::query(AssertSqlSafe(format!(
        "SELECT seq, {COLUMNS} FROM hits WHERE seq > $1 ORDER BY seq LIMIT $2"
    )))
    .bind(after)
    .bind(limit as i64)
    .fetch_all(&db.hits_read)
    .await?;
    rows.iter().map(from_row).collect()
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
        kind: match row.try_get::<String, _>("kind")?.as_str() {
            "click" => Kind::Click,
            _ => Kind::Open,
        },
        email_id: row.try_get("email_id")?,
        link,
        machine: row.try_get("machine")?,
        scanner: row.try_get("scanner")?,
        ip: row.try_get("ip")?,
        user_agent: row.try_get("user_agent")?,
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

/// `($1, $2, $3), ($4, $5, $6), …` on PostgreSQL; `(?, ?, ?), (?, ?, ?), …` on SQLite, where
/// sqlx resolves each numbered parameter by name through `sqlite3_bind_parameter_name`, a linear
/// walk: thousands of `$n` in one statement cost O(n²) (most of a 1,000-hit batch's time).
pub fn placeholders(backend: Backend, rows: usize, cols: usize) -> String {
    let mut s = String::with_capacity(rows * cols * 5);
    for r in 0..rows {
        s.push_str(if r == 0 { "(" } else { ", (" });
        for c in 0..cols {
            if c > 0 {
                s.push_str(", ");
            }
            match backend {
                Backend::Sqlite => s.push('?'),
                Backend::Postgres => {
                    let _ = write!(s, "${}", r * cols + c + 1);
                }
            }
        }
        s.push(')');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::piece;

    #[test]
    fn batches_are_appended_in_power_of_two_pieces() {
        let mut pieces = Vec::new();
        let mut left = 300;
        while left > 0 {
            let n = piece(left);
            pieces.push(n);
            left -= n;
        }
        assert_eq!(pieces, [256, 32, 8, 4]);
        assert_eq!(piece(1), 1);
        assert_eq!(piece(5000), 256);
    }
}
