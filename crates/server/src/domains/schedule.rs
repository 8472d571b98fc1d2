//! Re-verification on a schedule: every live domain is checked again once
//! `BEACON_DOMAIN_RECHECK_SECS` have passed since its last check, on whichever node claims it
//! first. A verified domain whose records are gone turns FAILING (with `failingSince` and the
//! reason): new emails go out on the public URL, emails already queued or sent keep their
//! links, and the host keeps serving them; the next check that passes makes it VERIFIED again.

use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::startup::AppState;
use crate::store::{self, domains};

/// Domains checked per round: a round's lookups run one after the other, so a slow resolver
/// delays only this task.
const BATCH: i64 = 20;

pub fn spawn(state: &AppState, mut stop: watch::Receiver<bool>) -> JoinHandle<()> {
    let state = state.clone();
    let every = state.settings.domain_recheck_ms;
    let pause = Duration::from_millis(u64::try_from(every / 4).unwrap_or(0).clamp(100, 60_000));
    tokio::spawn(async move {
        while !*stop.borrow() {
            let before = store::now_ms() - every;
            match domains::claim_due(&state.db, before, BATCH).await {
                Ok(due) => {
                    for domain in due {
                        if let Err(e) = crate::actions::domains::check(&state, &domain).await {
                            tracing::error!(domain = %domain.hostname, error = %e, "re-checking a tracking domain failed");
                        }
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, "claiming tracking domains to re-check failed")
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = stop.changed() => {}
            }
        }
    })
}
