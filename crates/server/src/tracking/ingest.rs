//! The ingest writer: every open and click goes through one task that appends many hits to the
//! backlog per transaction (group commit, `hits.rs`). A handler waits for its hit's commit before
//! answering, up to a bound; past it the recipient is answered anyway and the hit is counted as
//! unconfirmed (it may still be committed later). A hit that can never be committed is counted
//! as dropped.
//!
//! Appending is cheap and in order; applying a hit to its email's counters and the contact's
//! events is random-order work over the emails and the events indexes. The fold (`fold.rs`) does
//! that beside the writer, so a post-campaign burst is answered at the speed of appending.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::{AnyConnection, Connection};
use tokio::sync::{Notify, mpsc, oneshot, watch};
use tokio::task::{JoinHandle, JoinSet};

use super::fold::Folder;
use super::hits;
use crate::store::{Backend, Db};

// What one hit is, how it is applied and how the backlog is kept: for SES's notifications and
// for the group-commit benchmark (`crates/bench`), which measures appending and folding.
pub use super::apply::{Hit, Kind, Link, apply_batch};
pub use super::fold::{FOLD_SLICE, Folder as Fold};
pub use super::hits::{append, pending};

/// Hits committed in one transaction at most: big enough to amortise the commit (SQLite does
/// ~20k autocommits/s but ~260k rows/s in large transactions), small enough to keep latency low.
const MAX_BATCH: usize = 512;
/// How long a graceful shutdown goes on folding; what is left is folded at the next start.
const SHUTDOWN_FOLD: Duration = Duration::from_secs(10);
/// How many hits may wait for the writer before handlers are turned away (and counted).
const QUEUE: usize = 16_384;

type Job = (Hit, oneshot::Sender<()>);

#[derive(Default, Debug)]
pub struct Counters {
    /// Hits committed (to the backlog: durable, not yet necessarily folded).
    pub recorded: AtomicU64,
    /// Hits folded into email counters and events by this node.
    pub folded: AtomicU64,
    /// Hits answered before their commit was confirmed (the store was slow or stalled); most are
    /// committed later and then also counted in `recorded`.
    pub unconfirmed: AtomicU64,
    /// Hits that will never be recorded: the writer's queue was full, or the store refused them.
    pub dropped: AtomicU64,
    /// Append transactions committed (recorded / batches = the group-commit factor).
    pub batches: AtomicU64,
}

#[derive(Clone)]
pub struct Ingest {
    jobs: mpsc::Sender<Job>,
    pub counters: Arc<Counters>,
    wait: Duration,
}

impl Ingest {
    /// Starts the writer and the fold. Once `stop` turns true the writer commits what is queued,
    /// and the fold then goes on for a bounded time; the handle ends when both are done.
    pub async fn start(
        db: Db,
        wait: Duration,
        stop: watch::Receiver<bool>,
    ) -> Result<(Ingest, JoinHandle<()>), sqlx::Error> {
        let (jobs, rx) = mpsc::channel(QUEUE);
        let counters = Arc::new(Counters::default());
        let appended = Arc::new(Notify::new());
        let mut folder = Folder::new(db.clone(), counters.clone()).await?;
        let writer = Writer {
            db,
            counters: counters.clone(),
            appended: appended.clone(),
            held: Arc::default(),
        };
        let handle = tokio::spawn(async move {
            let fold_stop = stop.clone();
            let folding = tokio::spawn(async move {
                folder.run(appended, fold_stop).await;
                folder
            });
            writer.run(rx, stop).await;
            if let Ok(mut folder) = folding.await {
                folder.drain(SHUTDOWN_FOLD).await;
            }
        });
        Ok((
            Ingest {
                jobs,
                counters,
                wait,
            },
            handle,
        ))
    }

    /// Records a hit; true once it is committed, false when it could not be within the bound.
    pub async fn record(&self, hit: Hit) -> bool {
        let (done, committed) = oneshot::channel();
        let kind = hit.kind;
        if self.jobs.try_send((hit, done)).is_err() {
            self.counters.dropped.fetch_add(1, Ordering::Relaxed);
            tracing::error!(kind = ?kind, "tracking hit dropped: the ingest queue is full");
            return false;
        }
        let ok = matches!(tokio::time::timeout(self.wait, committed).await, Ok(Ok(())));
        if !ok {
            self.counters.unconfirmed.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(kind = ?kind, "tracking hit answered before its commit was confirmed");
        }
        ok
    }
}

/// Appends hits, many per transaction; never folds (that is `fold.rs`, beside it).
#[derive(Clone)]
struct Writer {
    db: Db,
    counters: Arc<Counters>,
    appended: Arc<Notify>,
    /// The connections appends run on (one per lane), kept out of the pool: sqlx pings a
    /// connection each time it goes back to its pool, and on SQLite that ping is a round trip to
    /// the connection's thread which the next append would queue behind.
    held: Arc<Mutex<Vec<AnyConnection>>>,
}

impl Writer {
    async fn run(self, mut rx: mpsc::Receiver<Job>, mut stop: watch::Receiver<bool>) {
        // Appends in flight at once. SQLite has one writer per file, and its commits (WAL,
        // synchronous=NORMAL) are quick. A PostgreSQL commit waits for its WAL flush: with
        // several in flight, the next batch gathers and goes while the last one syncs, and the
        // server flushes their commits together.
        let lanes = match self.db.backend {
            Backend::Sqlite => 1,
            Backend::Postgres => 4,
        };
        let mut inflight = JoinSet::new();
        loop {
            let first = tokio::select! {
                job = rx.recv() => job,
                _ = stop.changed() => {
                    // Graceful shutdown: no new hits arrive (the listener closed first); commit
                    // what is queued, then stop.
                    rx.close();
                    rx.recv().await
                }
            };
            let Some(first) = first else { break };
            // Wait for a lane before gathering: what arrives meanwhile joins this batch.
            while inflight.len() >= lanes {
                inflight.join_next().await;
            }
            let mut batch: Vec<Job> = Vec::with_capacity(MAX_BATCH);
            batch.push(first);
            while batch.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(job) => batch.push(job),
                    Err(_) => break,
                }
            }
            let writer = self.clone();
            inflight.spawn(async move { writer.commit(&mut batch).await });
        }
        while inflight.join_next().await.is_some() {}
        // Closed politely: PostgreSQL would otherwise log each as a lost client.
        let held = std::mem::take(&mut *self.held.lock().expect("not poisoned"));
        for conn in held {
            let _ = conn.close().await;
        }
    }

    /// Appends a batch, retrying a failed transaction a few times. If the batch still fails,
    /// each hit is tried on its own, so one hit the store refuses cannot take its neighbours down.
    async fn commit(&self, batch: &mut Vec<Job>) {
        let counters = &self.counters;
        let hits: Vec<&Hit> = batch.iter().map(|(h, _)| h).collect();
        let mut delay = Duration::from_millis(20);
        for attempt in 1..=4 {
            match self.append(&hits).await {
                Ok(()) => {
                    counters
                        .recorded
                        .fetch_add(batch.len() as u64, Ordering::Relaxed);
                    counters.batches.fetch_add(1, Ordering::Relaxed);
                    for (_, done) in batch.drain(..) {
                        let _ = done.send(());
                    }
                    return;
                }
                Err(e) => {
                    tracing::error!(error = %e, attempt, hits = batch.len(), "committing tracking hits failed");
                    tokio::time::sleep(delay).await;
                    delay *= 2;
                }
            }
        }
        for (hit, done) in batch.drain(..) {
            match self.append(&[&hit]).await {
                Ok(()) => {
                    counters.recorded.fetch_add(1, Ordering::Relaxed);
                    counters.batches.fetch_add(1, Ordering::Relaxed);
                    let _ = done.send(());
                }
                Err(e) => {
                    counters.dropped.fetch_add(1, Ordering::Relaxed);
                    tracing::error!(error = %e, email = %hit.email_id, "tracking hit dropped: the store refused it");
                }
            }
        }
    }

    async fn append(&self, hits: &[&Hit]) -> Result<(), sqlx::Error> {
        let held = self.held.lock().expect("not poisoned").pop();
        let mut conn = match held {
            Some(conn) => conn,
            None => self.db.hits.acquire().await?.detach(),
        };
        // A connection that failed is dropped (closed), and the next append opens another.
        hits::append(&mut conn, self.db.backend, hits).await?;
        self.held.lock().expect("not poisoned").push(conn);
        self.appended.notify_one();
        Ok(())
    }
}
