//! SQLite WAL checkpoints, off the writers' path.
//!
//! SQLite's default is that the commit which grows the WAL past a threshold also copies the WAL
//! back into the database file and syncs it: a pause of up to ~100 ms for whichever hit or send
//! happens to make that commit, which was most of the tracking endpoints' p99. Here every
//! connection has `wal_autocheckpoint = 0` and this task checkpoints each file on its own
//! connection every quarter second, `PASSIVE`: it never waits for, nor blocks, the writer.
//!
//! The WAL file keeps its high-water mark (a campaign's writes left 45 MB of WAL beside a
//! 34 MB database). Two bounds: every connection sets `journal_size_limit` (64 MB), so when a
//! writer starts the WAL over after a complete checkpoint the file is cut back to that; and
//! once a file is idle (a PASSIVE checkpoint copied everything and no frame came since the
//! last one) a `TRUNCATE` checkpoint empties the WAL. That one must wait for readers, so it
//! waits at most [`TRUNCATE_WAIT_MS`] and is tried again at the next idle tick.

use std::time::Duration;

use sqlx::AnyPool;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::Db;

const EVERY: Duration = Duration::from_millis(250);
/// The longest a truncating checkpoint waits for readers (it holds writers meanwhile).
pub const TRUNCATE_WAIT_MS: u32 = 20;

/// Connections that only checkpoint, one per file (opened on first use).
#[derive(Clone, Debug)]
pub struct Checkpointer {
    pub(super) files: Vec<AnyPool>,
}

/// Starts checkpointing (SQLite only); stops when `stop` turns true. Closing the last
/// connection at shutdown checkpoints what is left.
pub fn spawn(db: &Db, mut stop: watch::Receiver<bool>) -> Option<JoinHandle<()>> {
    let files = db.checkpointer.as_ref()?.files.clone();
    Some(tokio::spawn(async move {
        // Per file: the WAL's frame count at the last tick.
        let mut last = vec![0i64; files.len()];
        loop {
            tokio::select! {
                _ = tokio::time::sleep(EVERY) => {}
                _ = stop.changed() => return,
            }
            for (file, last) in files.iter().zip(&mut last) {
                if let Err(e) = checkpoint(file, last).await {
                    tracing::warn!(error = %e, "WAL checkpoint failed (retried shortly)");
                }
            }
        }
    }))
}

async fn checkpoint(file: &AnyPool, last: &mut i64) -> Result<(), sqlx::Error> {
    // (busy, frames in the WAL, frames copied back)
    let (_, log, copied): (i64, i64, i64) = sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)")
        .fetch_one(file)
        .await?;
    let idle = log > 0 && log == copied && log == *last;
    *last = log;
    if idle {
        // The pool holds one connection: these run on it in turn.
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "PRAGMA busy_timeout = {TRUNCATE_WAIT_MS}; PRAGMA wal_checkpoint(TRUNCATE); \
             PRAGMA busy_timeout = 10000;"
        )))
        .execute(file)
        .await?;
    }
    Ok(())
}
