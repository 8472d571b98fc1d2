//! The execution runner: claims due executions under a lease and runs each one's steps until it
//! waits, is delayed or ends. Several run side by side, so one slow webhook holds up only its
//! own execution.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;

use super::steps;
use crate::startup::AppState;
use crate::store::{self, workflows};

/// How long a claimed execution stays this node's before another may take it (a crash).
pub const LEASE_MS: i64 = 60_000;
const MAX_IN_FLIGHT: usize = 32;
/// The longest sleep without looking (other nodes may have started executions).
const IDLE_POLL: Duration = Duration::from_millis(500);

pub async fn run(state: AppState, wake: Arc<Notify>, mut stop: watch::Receiver<bool>) {
    let http = super::webhook::client(&state.settings.webhook_allow);
    let mut running = JoinSet::new();
    while !*stop.borrow() {
        while running.try_join_next().is_some() {}
        // Register interest before looking, so a wake meanwhile is not lost.
        let woken = wake.notified();
        let room = MAX_IN_FLIGHT - running.len();
        let claimed = if room == 0 {
            Vec::new()
        } else {
            workflows::claim(&state.db, room as i64, LEASE_MS)
                .await
                .unwrap_or_else(|e| {
                    tracing::error!(error = %e, "claiming workflow executions failed");
                    Vec::new()
                })
        };
        if !claimed.is_empty() {
            for exec in claimed {
                let (state, http) = (state.clone(), http.clone());
                running.spawn(async move {
                    let id = exec.id.clone();
                    if let Err(e) = steps::run(&state, &http, exec).await {
                        tracing::error!(execution = %id, error = format!("{e:#}"), "workflow step failed; retried when its lease runs out");
                    }
                });
            }
            continue;
        }
        let nap = match workflows::next_due(&state.db).await {
            Ok(Some(due)) => Duration::from_millis((due - store::now_ms()).clamp(1, 500) as u64),
            _ => IDLE_POLL,
        };
        tokio::select! {
            _ = woken => {}
            _ = tokio::time::sleep(nap) => {}
            _ = stop.changed() => {}
            Some(_) = running.join_next(), if !running.is_empty() => {}
        }
    }
    // Finish what is held: leaving it would keep those executions until their lease ran out.
    while running.join_next().await.is_some() {}
}
