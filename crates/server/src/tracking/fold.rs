//! The fold: moves answered hits from the backlog (`hits.rs`) into the email counters and the
//! contact's events (`apply.rs`), oldest first, each exactly once.
//!
//! It runs beside the ingest writer, not in its way: on SQLite the backlog is another file with
//! its own connection, so an append never waits for a fold; on PostgreSQL both are row-level
//! writes. A burst is answered at the speed of appending, and the counters catch up at the speed
//! of folding (within milliseconds when the two keep pace; `/metrics` shows the backlog).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use tokio::sync::{Notify, watch};

use super::apply::{Hit, apply_batch};
use super::hits;
use super::ingest::Counters;
use crate::store::{Backend, Db};

/// Hits folded per transaction. On SQLite a fold holds the main file's write lock, which sends
/// and the delivery workers also need, so a slice is kept to tens of milliseconds of work.
pub const FOLD_SLICE: usize = 500;
/// How often an idle fold looks for hits it was not told about: appended by another node sharing
/// the PostgreSQL database.
const RECHECK: Duration = Duration::from_secs(1);
/// While hits keep arriving, the fold takes slices of this size and pauses this many times as
/// long as each took: it gets about a quarter of the time until the burst is over, then all of it.
const BUSY_SLICE: usize = 100;
const YIELD: u32 = 3;

pub struct Folder {
    db: Db,
    counters: Arc<Counters>,
    /// On SQLite, the last hit folded (the copy of `hits_folded` this node works from).
    cursor: i64,
    /// Consecutive failed folds, for the back-off and for isolating a hit that cannot be applied.
    failures: u32,
}

impl Folder {
    pub async fn new(db: Db, counters: Arc<Counters>) -> Result<Folder, sqlx::Error> {
        let cursor = match db.backend {
            Backend::Sqlite => hits::cursor(&db).await?,
            Backend::Postgres => 0,
        };
        Ok(Folder {
            db,
            counters,
            cursor,
            failures: 0,
        })
    }

    /// Folds whenever the writer appends (and at start: hits a previous run answered but did not
    /// fold), until `stop`.
    pub async fn run(&mut self, appended: Arc<Notify>, mut stop: watch::Receiver<bool>) {
        let (mut more, mut busy) = (true, false);
        while !*stop.borrow() {
            if more {
                // Hits are arriving: answering them comes first. Short slices, each followed by
                // a pause a few times as long, leave the fold a bounded share of the machine in
                // short turns during a burst; the backlog it leaves is folded once it is over.
                let slice = if busy { BUSY_SLICE } else { FOLD_SLICE };
                let (began, appends) = (Instant::now(), self.appends());
                more = self.fold(slice).await == slice;
                busy = self.appends() != appends;
                if more && busy {
                    tokio::time::sleep(began.elapsed() * YIELD).await;
                }
                continue;
            }
            tokio::select! {
                _ = appended.notified() => more = true,
                _ = tokio::time::sleep(RECHECK) => more = true,
                _ = stop.changed() => {}
            }
        }
    }

    fn appends(&self) -> u64 {
        self.counters.batches.load(Ordering::Relaxed)
    }

    /// At shutdown, after the writer's last append: folds until the backlog is empty or `limit`
    /// has passed (what is left is folded at the next start).
    pub async fn drain(&mut self, limit: Duration) {
        let deadline = tokio::time::Instant::now() + limit;
        while tokio::time::Instant::now() < deadline {
            if self.fold(FOLD_SLICE).await < FOLD_SLICE && self.failures == 0 {
                return;
            }
        }
    }

    /// Folds up to `limit` of the oldest hits; returns how many. After a failure it backs off,
    /// and past a few it folds one hit at a time, so a hit the store refuses for good (none is
    /// known) is found, logged and counted as dropped instead of holding up every later one.
    pub async fn fold(&mut self, limit: usize) -> usize {
        let limit = if self.failures >= 3 { 1 } else { limit };
        match self.fold_once(limit).await {
            Ok(n) => {
                self.failures = 0;
                self.counters.folded.fetch_add(n as u64, Ordering::Relaxed);
                n
            }
            Err(e) => {
                self.failures += 1;
                tracing::error!(error = %e, failures = self.failures, "folding tracking hits failed");
                if self.failures >= 6 && !transient(&e) {
                    self.set_aside_oldest().await;
                }
                tokio::time::sleep(Duration::from_millis(20 << self.failures.min(6))).await;
                0
            }
        }
    }

    async fn fold_once(&mut self, limit: usize) -> Result<usize, sqlx::Error> {
        let db = &self.db;
        match db.backend {
            Backend::Postgres => {
                let mut tx = db.begin().await?;
                let taken = hits::take(&mut tx, limit).await?;
                if taken.is_empty() {
                    return Ok(0);
                }
                let refs: Vec<&Hit> = taken.iter().collect();
                apply_batch(&mut tx, db.backend, &refs).await?;
                tx.commit().await?;
                Ok(taken.len())
            }
            Backend::Sqlite => {
                let read = hits::read_after(db, self.cursor, limit).await?;
                let Some(&(last, _)) = read.last() else {
                    return Ok(0);
                };
                let refs: Vec<&Hit> = read.iter().map(|(_, h)| h).collect();
                let mut tx = db.begin().await?;
                apply_batch(&mut tx, db.backend, &refs).await?;
                if !hits::move_cursor(&mut tx, self.cursor, last).await? {
                    // Another process shares this file and folded these first: start from
                    // where it got to.
                    drop(tx);
                    self.cursor = hits::cursor(db).await?;
                    return Ok(0);
                }
                tx.commit().await?;
                self.cursor = last;
                if let Err(e) = hits::forget_through(db, last).await {
                    tracing::warn!(error = %e, "could not delete folded hits (they are not folded again)");
                }
                Ok(read.len())
            }
        }
    }

    /// Moves past the oldest hit without applying it.
    async fn set_aside_oldest(&mut self) {
        let db = &self.db;
        let gone: Result<Vec<Hit>, sqlx::Error> = async {
            match db.backend {
                Backend::Postgres => {
                    let mut tx = db.begin().await?;
                    let gone = hits::take(&mut tx, 1).await?;
                    tx.commit().await?;
                    Ok(gone)
                }
                Backend::Sqlite => {
                    let read = hits::read_after(db, self.cursor, 1).await?;
                    let Some(&(seq, _)) = read.first() else {
                        return Ok(Vec::new());
                    };
                    let mut tx = db.begin().await?;
                    if !hits::move_cursor(&mut tx, self.cursor, seq).await? {
                        drop(tx);
                        self.cursor = hits::cursor(db).await?;
                        return Ok(Vec::new());
                    }
                    tx.commit().await?;
                    self.cursor = seq;
                    Ok(read.into_iter().map(|(_, h)| h).collect())
                }
            }
        }
        .await;
        match gone {
            Ok(gone) => {
                for hit in gone {
                    self.counters.dropped.fetch_add(1, Ordering::Relaxed);
                    tracing::error!(email = %hit.email_id, kind = ?hit.kind, at = hit.at, "tracking hit dropped: it could not be folded");
                }
                self.failures = 0;
            }
            Err(e) => {
                tracing::error!(error = %e, "could not set aside a tracking hit that fails to fold")
            }
        }
    }
}

/// A failure that says nothing about the hits: the store was busy, locked or unreachable.
fn transient(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db) => {
            // SQLite BUSY / LOCKED; PostgreSQL serialization, deadlock, lock-not-available, and
            // the connection, resource and operator-intervention classes (08, 53, 57).
            let code = db.code().unwrap_or_default();
            matches!(code.as_ref(), "5" | "6" | "40001" | "40P01" | "55P03")
                || ["08", "53", "57"].iter().any(|c| code.starts_with(c))
        }
        _ => true,
    }
}
