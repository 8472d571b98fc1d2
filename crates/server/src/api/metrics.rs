//! `GET /metrics`: counters in Prometheus' text format. Counts only, nothing about contacts.

use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use crate::startup::AppState;
use crate::tracking::ingest::pending as hits_pending;

pub fn routes() -> Router<AppState> {
    Router::new().route("/metrics", get(metrics))
}

/// Counters in Prometheus' text format.
#[utoipa::path(get, path = "/metrics", tag = "Operations", security(()),
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain; version=0.0.4", body = String)))]
async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let c = &state.tracking.ingest.counters;
    // The backlog is every node's (it lives in the database); -1 if it cannot be counted now
    // (a stalled store must not stall the metrics that would show it).
    let pending = tokio::time::timeout(Duration::from_secs(1), hits_pending(&state.db))
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or(-1);
    let failing = tokio::time::timeout(
        Duration::from_secs(1),
        crate::store::domains::failing_count(&state.db),
    )
    .await
    .ok()
    .and_then(Result::ok)
    .unwrap_or(-1);
    let body = format!(
        "# HELP beacon_tracking_hits_recorded_total Opens and clicks committed to the store.\n\
         # TYPE beacon_tracking_hits_recorded_total counter\n\
         beacon_tracking_hits_recorded_total {}\n\
         # HELP beacon_tracking_hits_folded_total Opens and clicks this node applied to email counters and events.\n\
         # TYPE beacon_tracking_hits_folded_total counter\n\
         beacon_tracking_hits_folded_total {}\n\
         # HELP beacon_tracking_hits_pending Opens and clicks recorded but not yet applied to counters and events (all nodes).\n\
         # TYPE beacon_tracking_hits_pending gauge\n\
         beacon_tracking_hits_pending {}\n\
         # HELP beacon_tracking_hits_unconfirmed_total Opens and clicks answered before their commit was confirmed (usually committed later).\n\
         # TYPE beacon_tracking_hits_unconfirmed_total counter\n\
         beacon_tracking_hits_unconfirmed_total {}\n\
         # HELP beacon_tracking_hits_dropped_total Opens and clicks that will never be recorded (queue full or refused by the store).\n\
         # TYPE beacon_tracking_hits_dropped_total counter\n\
         beacon_tracking_hits_dropped_total {}\n\
         # HELP beacon_tracking_batches_total Ingest transactions committed (group commits).\n\
         # TYPE beacon_tracking_batches_total counter\n\
         beacon_tracking_batches_total {}\n\
         # HELP beacon_tracking_domains_failing Projects' tracking domains verified before whose last check failed (all nodes).\n\
         # TYPE beacon_tracking_domains_failing gauge\n\
         beacon_tracking_domains_failing {}\n",
        c.recorded.load(Ordering::Relaxed),
        c.folded.load(Ordering::Relaxed),
        pending,
        c.unconfirmed.load(Ordering::Relaxed),
        c.dropped.load(Ordering::Relaxed),
        c.batches.load(Ordering::Relaxed),
        failing,
    );
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body)
}
