//! `GET /metrics`: counters in Prometheus' text format. Counts only, nothing about contacts.

use std::sync::atomic::Ordering;

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use crate::startup::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/metrics", get(metrics))
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let c = &state.tracking.ingest.counters;
    let body = format!(
        "# HELP beacon_tracking_hits_recorded_total Opens and clicks committed to the store.\n\
         # TYPE beacon_tracking_hits_recorded_total counter\n\
         beacon_tracking_hits_recorded_total {}\n\
         # HELP beacon_tracking_hits_unconfirmed_total Opens and clicks answered before their commit was confirmed (usually committed later).\n\
         # TYPE beacon_tracking_hits_unconfirmed_total counter\n\
         beacon_tracking_hits_unconfirmed_total {}\n\
         # HELP beacon_tracking_hits_dropped_total Opens and clicks that will never be recorded (queue full or refused by the store).\n\
         # TYPE beacon_tracking_hits_dropped_total counter\n\
         beacon_tracking_hits_dropped_total {}\n\
         # HELP beacon_tracking_batches_total Ingest transactions committed (group commits).\n\
         # TYPE beacon_tracking_batches_total counter\n\
         beacon_tracking_batches_total {}\n",
        c.recorded.load(Ordering::Relaxed),
        c.unconfirmed.load(Ordering::Relaxed),
        c.dropped.load(Ordering::Relaxed),
        c.batches.load(Ordering::Relaxed),
    );
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body)
}
