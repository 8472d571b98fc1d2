//! The HTTP API: one router per resource, merged here.

mod campaign_stats;
mod campaigns;
mod contacts;
mod domains;
mod emails;
pub mod extract;
mod health;
mod metrics;
pub mod openapi;
mod page;
mod plunk;
mod project;
pub mod ratelimit;
pub mod schema;
mod segments;
mod send;
mod stats;
mod templates;
mod track;
mod unsubscribe;
mod webhooks;
mod workflow_runs;
mod workflows;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::response::{IntoResponse, Response};
use tower_http::trace::TraceLayer;

use crate::error::ApiError;
use crate::startup::AppState;

pub use page::Page;

pub fn router(state: AppState) -> Router {
    let limit = state.settings.max_body_bytes;
    Router::new()
        .merge(health::routes())
        .merge(metrics::routes())
        .merge(send::routes())
        .merge(track::routes())
        .merge(contacts::routes())
        .merge(templates::routes())
        .merge(emails::routes())
        .merge(project::routes())
        .merge(domains::routes())
        .merge(stats::routes())
        .merge(segments::routes())
        .merge(campaigns::routes())
        .merge(workflows::routes())
        .merge(plunk::routes())
        .merge(openapi::routes())
        .merge(unsubscribe::routes())
        .merge(webhooks::routes())
        .merge(crate::web::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::domains::host::by_host,
        ))
        // The pixel and the click redirect check the host themselves (`domains::host::admit`):
        // merged after the layer above, so the hottest paths skip it.
        .merge(crate::tracking::routes())
        // Again for the routes merged since (a layered route takes no new fallback).
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn(no_nul_in_path))
        .layer(DefaultBodyLimit::max(limit))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// No id, token or name contains NUL, and PostgreSQL refuses it in any text it is handed (a
/// 500): a path with `%00` names nothing, whatever route it would match.
async fn no_nul_in_path(req: Request, next: axum::middleware::Next) -> Response {
    if req.uri().path().contains("%00") {
        return not_found(req).await;
    }
    next.run(req).await
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed("this endpoint does not take that method; see docs/API.md".into())
}

/// An unknown path: a page for a browser, JSON for everyone else.
async fn not_found(req: Request) -> Response {
    if crate::web::wants_html(&req) {
        crate::web::fallback_page()
    } else {
        ApiError::NotFound("no such endpoint; see docs/API.md".into()).into_response()
    }
}
