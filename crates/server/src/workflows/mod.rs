//! Workflows: event-triggered automations whose executions and timers live in the store.
//!
//! - `definition`: the trigger and step graph as the API takes it, and every check on it.
//! - `intake`: picks new events up from the store (never on the hot insert paths), starts the
//!   executions they trigger and resumes those waiting for them, one transaction per batch.
//! - `runner`: claims due executions under a lease and runs them step by step (`steps`), each
//!   step's effect and the execution's move in one transaction.
//! - `webhook`: the signed POST of WEBHOOK steps; `guard`: the addresses it may reach.

pub mod definition;
pub mod guard;
mod intake;
mod runner;
mod steps;
pub mod webhook;

use std::sync::Arc;

use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use crate::error::{ApiError, ApiResult};
use crate::startup::AppState;
use crate::store::{Db, workflows};

pub use definition::Definition;

/// Starts the engine's tasks (event intake and execution runner); they stop when `stop` turns
/// true, the runner after finishing the executions it holds.
pub fn spawn(state: &AppState, stop: watch::Receiver<bool>) -> Vec<JoinHandle<()>> {
    let wake = Arc::new(Notify::new());
    vec![
        tokio::spawn(intake::run(state.clone(), wake.clone(), stop.clone())),
        tokio::spawn(runner::run(state.clone(), wake, stop)),
    ]
}

/// Refuses (409, naming the workflow) to delete a template a workflow sends.
pub async fn ensure_template_unused(db: &Db, project_id: &str, template_id: &str) -> ApiResult<()> {
    match workflows::using_template(db, project_id, template_id).await? {
        None => Ok(()),
        Some((id, name)) => Err(ApiError::Conflict(format!(
            "template {template_id:?} is used by workflow {name:?} ({id}); remove it from that \
             workflow's SEND_EMAIL steps (or delete the workflow) first"
        ))),
    }
}
