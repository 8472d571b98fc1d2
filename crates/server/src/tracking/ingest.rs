//! The ingest writer: every open and click goes through one task that commits many hits per
//! transaction (group commit). A handler waits for its hit's commit before answering, up to a
//! bound; past it the recipient is answered anyway and the hit is counted as unconfirmed (it may
//! still be committed later). A hit that can never be committed is counted as dropped.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use super::apply;
use crate::store::Db;

// What one hit is, and the writer's one transaction, for the group-commit benchmark
// (`crates/bench`), which measures `apply_batch` at fixed batch sizes.
pub use super::apply::{Hit, Kind, Link, apply_batch};

/// Hits committed in one transaction at most: big enough to amortise the commit (SQLite does
/// ~20k autocommits/s but ~260k rows/s in large transactions), small enough to keep latency low.
const MAX_BATCH: usize = 512;
/// How many hits may wait for the writer before handlers are turned away (and counted).
const QUEUE: usize = 16_384;

type Job = (Hit, oneshot::Sender<()>);

#[derive(Default, Debug)]
pub struct Counters {
    /// Hits committed.
    pub recorded: AtomicU64,
    /// Hits answered before their commit was confirmed (the store was slow or stalled); most are
    /// committed later and then also counted in `recorded`.
    pub unconfirmed: AtomicU64,
    /// Hits that will never be recorded: the writer's queue was full, or the store refused them.
    pub dropped: AtomicU64,
    /// Transactions committed (recorded / batches = the group-commit factor).
    pub batches: AtomicU64,
}

#[derive(Clone)]
pub struct Ingest {
    jobs: mpsc::Sender<Job>,
    pub counters: Arc<Counters>,
    wait: Duration,
}

impl Ingest {
    /// Starts the writer. It drains what is queued and stops once `stop` turns true.
    pub fn start(db: Db, wait: Duration, stop: watch::Receiver<bool>) -> (Ingest, JoinHandle<()>) {
        let (jobs, rx) = mpsc::channel(QUEUE);
        let counters = Arc::new(Counters::default());
        let handle = tokio::spawn(writer(db, rx, counters.clone(), stop));
        (
            Ingest {
                jobs,
                counters,
                wait,
            },
            handle,
        )
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

async fn writer(
    db: Db,
    mut rx: mpsc::Receiver<Job>,
    counters: Arc<Counters>,
    mut stop: watch::Receiver<bool>,
) {
    let mut batch: Vec<Job> = Vec::with_capacity(MAX_BATCH);
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
        let Some(first) = first else { return };
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        commit(&db, &mut batch, &counters).await;
    }
}

/// Commits a batch, retrying a failed transaction a few times. If the batch still fails, each
/// hit is tried on its own, so one hit the store refuses cannot take its neighbours down.
async fn commit(db: &Db, batch: &mut Vec<Job>, counters: &Counters) {
    let hits: Vec<&Hit> = batch.iter().map(|(h, _)| h).collect();
    let mut delay = Duration::from_millis(20);
    for attempt in 1..=4 {
        match apply::apply_batch(db, &hits).await {
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
        match apply::apply_batch(db, &[&hit]).await {
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
