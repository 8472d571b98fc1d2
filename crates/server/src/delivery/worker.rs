//! The delivery loop. Each worker claims a batch of due emails under a lease (for a relay the
//! claim is also the hand-off checkpoint) and delivers it (`batch.rs`: read the bodies, build,
//! send side by side, record outcomes with their events). A separate task returns emails whose
//! lease ran out (a crashed worker or node) to the queue.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::batch;
use super::transport::Transport;
use crate::startup::AppState;
use crate::store::{self, emails};

/// How long a claimed email stays a worker's before recovery may take it back.
const LEASE_MS: i64 = 120_000;
const BATCH: i64 = 16;
/// The longest a worker sleeps without looking at the queue (other nodes may queue work).
const IDLE_POLL: Duration = Duration::from_millis(500);

pub async fn spawn_workers(
    state: &AppState,
    stop: watch::Receiver<bool>,
) -> anyhow::Result<Vec<JoinHandle<()>>> {
    let transport = Arc::new(Transport::from_settings(&state.settings.transport)?);
    let mut handles = Vec::new();
    for n in 0..state.settings.workers {
        let (state, transport, stop) = (state.clone(), transport.clone(), stop.clone());
        handles.push(tokio::spawn(
            async move { run(n, state, transport, stop).await },
        ));
    }
    let (state, mut stop) = (state.clone(), stop);
    handles.push(tokio::spawn(async move {
        for round in 0u64.. {
            // Housekeeping, hourly: idempotency answers older than a day.
            if round % 720 == 0 {
                let day_ago = store::now_ms() - 86_400_000;
                if let Err(e) = store::idempotency::purge(&state.db, day_ago).await {
                    tracing::error!(error = %e, "purging old idempotency keys failed");
                }
            }
            match emails::recover_expired(&state.db).await {
                Ok(0) => {}
                Ok(n) => {
                    tracing::warn!(
                        count = n,
                        "returned emails with an expired lease to the queue"
                    );
                    state.queue_wake.notify_waiters();
                }
                Err(e) => tracing::error!(error = %e, "lease recovery failed"),
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(5)) => {}
                _ = stop.changed() => return,
            }
        }
    }));
    Ok(handles)
}

#[tracing::instrument(skip_all, fields(worker = n))]
async fn run(
    n: usize,
    state: AppState,
    transport: Arc<Transport>,
    mut stop: watch::Receiver<bool>,
) {
    // For a relay the claim is also the batch's hand-off checkpoint (`emails::claim`).
    let handoff = matches!(*transport, Transport::Relay(_));
    let mut packers = super::message::OutboxPackers::default();
    while !*stop.borrow() {
        // Register interest before looking, so a send queued meanwhile still wakes us.
        let wake = state.queue_wake.notified();
        let claimed = match emails::claim(&state.db, BATCH, LEASE_MS, handoff).await {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "claiming queued emails failed");
                Vec::new()
            }
        };
        if claimed.is_empty() {
            let nap = match emails::next_due(&state.db).await {
                Ok(Some(due)) => {
                    Duration::from_millis((due - store::now_ms()).clamp(1, 500) as u64)
                }
                _ => IDLE_POLL,
            };
            tokio::select! {
                _ = wake => {}
                _ = tokio::time::sleep(nap) => {}
                _ = stop.changed() => {}
            }
            continue;
        }
        // A claimed batch is finished even when shutdown is asked: leaving it would hold the
        // rows until their lease runs out.
        batch::deliver(&state, &transport, claimed, &mut packers).await;
    }
}
