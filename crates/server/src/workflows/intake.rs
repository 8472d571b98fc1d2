//! Event intake: every event is inserted with `workflow_state = 0`; this task takes them in
//! batches, oldest first, starts the executions they trigger, resumes executions waiting for
//! them, and marks them done — all in one transaction, so an event is acted on exactly once.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::{Notify, watch};

use super::definition::{Definition, EventFacts, Step};
use crate::startup::AppState;
use crate::store::workflows::{self, PendingEvent, Workflow, entries, history};

const BATCH: i64 = 500;
/// Events are picked up at most this late (nothing on the insert paths wakes us).
const POLL: Duration = Duration::from_millis(200);

pub async fn run(state: AppState, wake: Arc<Notify>, mut stop: watch::Receiver<bool>) {
    while !*stop.borrow() {
        let full = match batch(&state).await {
            Ok((taken, moved)) => {
                if moved > 0 {
                    wake.notify_one();
                }
                taken == BATCH as usize
            }
            Err(e) => {
                tracing::error!(error = format!("{e:#}"), "workflow event intake failed");
                false
            }
        };
        if full {
            continue;
        }
        tokio::select! {
            _ = tokio::time::sleep(POLL) => {}
            _ = stop.changed() => {}
        }
    }
}

type Loaded = Vec<(Workflow, Definition)>;

/// One batch; returns (events taken, executions started or resumed).
async fn batch(state: &AppState) -> anyhow::Result<(usize, usize)> {
    let mut tx = state.db.begin().await?;
    let events = workflows::pending_events(&mut tx, state.db.backend, BATCH).await?;
    if events.is_empty() {
        return Ok((0, 0));
    }
    let limits = EntryLimit {
        limit: state.settings.workflow_entry_limit,
        window_ms: state.settings.workflow_entry_window_ms,
    };
    let mut by_project: HashMap<String, Loaded> = HashMap::new();
    let mut moved = 0;
    for ev in &events {
        if !by_project.contains_key(&ev.project_id) {
            let loaded = workflows::for_project(&mut tx, &ev.project_id)
                .await?
                .into_iter()
                .filter_map(|w| match serde_json::from_str::<Definition>(&w.definition) {
                    Ok(d) => Some((w, d)),
                    Err(e) => {
                        tracing::error!(workflow = %w.id, error = %e, "unreadable workflow definition");
                        None
                    }
                })
                .collect();
            by_project.insert(ev.project_id.clone(), loaded);
        }
        let loaded = &by_project[&ev.project_id];
        if loaded.is_empty() {
            continue;
        }
        moved += resume_waiting(&mut tx, loaded, ev).await?;
        moved += start_triggered(&mut tx, loaded, ev, limits).await?;
    }
    let ids: Vec<&str> = events.iter().map(|e| e.id.as_str()).collect();
    workflows::events_done(&mut tx, &ids).await?;
    tx.commit().await?;
    Ok((events.len(), moved))
}

fn facts(ev: &PendingEvent) -> EventFacts<'_> {
    EventFacts {
        campaign_id: ev.campaign_id.as_deref(),
        template_id: ev.template_id.as_deref(),
        link_url: ev.link_url.as_deref(),
        link_tag: ev.link_tag.as_deref(),
        machine: ev.machine.as_deref(),
    }
}

fn event_json(ev: &PendingEvent) -> Value {
    json!({
        "id": ev.id,
        "name": ev.name,
        "data": serde_json::from_str::<Value>(&ev.data).unwrap_or_else(|_| json!({})),
        "createdAt": crate::time::iso(ev.created_at),
    })
}

async fn resume_waiting(
    tx: &mut crate::store::Tx,
    loaded: &Loaded,
    ev: &PendingEvent,
) -> anyhow::Result<usize> {
    let awaited = loaded.iter().any(|(_, d)| {
        d.steps
            .iter()
            .any(|s| matches!(s, Step::WaitForEvent { event, .. } if *event == ev.name))
    });
    if !awaited {
        return Ok(0);
    }
    let mut moved = 0;
    for exec in workflows::waiting_for(tx, &ev.project_id, &ev.contact_id, &ev.name).await? {
        // Only events from after the wait began count (intake may lag behind a little).
        if exec.wait_since.is_some_and(|since| ev.created_at < since) {
            continue;
        }
        let Some((_, def)) = loaded.iter().find(|(w, _)| w.id == exec.workflow_id) else {
            continue;
        };
        let filter = match exec.step_id.as_deref().and_then(|id| def.step(id)) {
            Some(Step::WaitForEvent { filter, .. }) => filter.clone().unwrap_or_default(),
            _ => continue,
        };
        if !filter.matches(&facts(ev)) {
            continue;
        }
        if workflows::resume(tx, &exec.id).await? {
            history::add(
                tx,
                &exec.id,
                &exec.workflow_id,
                exec.step_id.as_deref(),
                "resumed",
                Some(json!({ "event": event_json(ev) })),
                None,
            )
            .await?;
            moved += 1;
        }
    }
    Ok(moved)
}

/// BEACON_WORKFLOW_ENTRY_LIMIT executions per BEACON_WORKFLOW_ENTRY_WINDOW_SECS.
#[derive(Clone, Copy)]
struct EntryLimit {
    limit: u32,
    window_ms: i64,
}

/// Whether the contact already started `limit` executions of this re-entrant workflow within
/// the window. A workflow triggered by email activity that sends email (or by `email.sent`)
/// would otherwise re-trigger itself without end; the entry is refused and recorded on the
/// period's REFUSED execution, with the reason in its history. Nodes that take events of the
/// same contact in the same instant may each let one more through.
async fn over_entry_limit(
    tx: &mut crate::store::Tx,
    limits: EntryLimit,
    w: &Workflow,
    ev: &PendingEvent,
    context: &Value,
) -> anyhow::Result<bool> {
    if limits.limit == 0 {
        return Ok(false);
    }
    let since = crate::store::now_ms() - limits.window_ms;
    let started = entries::started_since(tx, &w.id, &ev.contact_id, since).await?;
    if started < i64::from(limits.limit) {
        return Ok(false);
    }
    if let Some(id) = entries::refuse(tx, w, &ev.contact_id, since, context).await? {
        let reason = format!(
            "refused: this contact started {started} executions of this workflow in the last \
             {} s, the most BEACON_WORKFLOW_ENTRY_LIMIT allows; later entries in this period \
             are counted in this execution's attempts",
            limits.window_ms / 1000
        );
        let detail = json!({ "reason": reason, "event": context["event"] });
        history::add(tx, &id, &w.id, None, "refused", Some(detail), None).await?;
    }
    Ok(true)
}

async fn start_triggered(
    tx: &mut crate::store::Tx,
    loaded: &Loaded,
    ev: &PendingEvent,
    limits: EntryLimit,
) -> anyhow::Result<usize> {
    let mut moved = 0;
    for (w, def) in loaded {
        // An event older than the workflow (picked up late) does not trigger it.
        if w.enabled == 0
            || w.trigger_event != ev.name
            || ev.created_at < w.created_at
            || !def.trigger.filter.matches(&facts(ev))
        {
            continue;
        }
        let once = w.allow_reentry == 0;
        if once && workflows::has_execution(tx, &w.id, &ev.contact_id).await? {
            continue;
        }
        let start = def.start_id();
        let context = json!({ "event": event_json(ev) });
        if !once && over_entry_limit(tx, limits, w, ev, &context).await? {
            continue;
        }
        if let Some(id) = workflows::start(tx, w, &ev.contact_id, start, &context, once).await? {
            history::add(tx, &id, &w.id, Some(start), "entered", Some(context), None).await?;
            moved += 1;
        }
    }
    Ok(moved)
}
