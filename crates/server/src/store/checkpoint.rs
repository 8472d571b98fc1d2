//! SQLite WAL checkpoints, off the writers' path.
//!
//! SQLite's default is that the commit which grows the WAL past a threshold also copies the WAL
//! back into the database file and syncs it: a pause of up to ~100 ms for whichever hit or send
//! happens to make that commit, which was most of the tracking endpoints' p99. Here every
//! connection has `wal_autocheckpoint = 0` and this task checkpoints each file on its own
//! connection every quarter second, `PASSIVE`: it never waits for, nor blocks, the writer.

use std::time::Duration;

use sqlx::AnyPool;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::Db;

const EVERY: Duration = Duration::from_millis(250);

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
        loop {
            tokio::select! {
                _ = tokio::time::sleep(EVERY) => {}
                _ = stop.changed() => return,
            }
            for file in &files {
                if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                    .execute(file)
                    .await
                {
                    tracing::warn!(error = %e, "WAL checkpoint failed (retried shortly)");
                }
            }
        }
    }))
}
