use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{ApiResult, ErrorBody};
use crate::startup::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/health", get(health))
}

/// `{"status": "ok", "database": "ok"}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    pub status: &'static str,
    pub database: &'static str,
}

/// Liveness and store reachability, for load balancers.
#[utoipa::path(get, path = "/health", tag = "Operations", security(()),
    responses((status = 200, description = "Up, and the store answers", body = Health),
        (status = 500, description = "The store is unreachable", body = ErrorBody)))]
async fn health(State(state): State<AppState>) -> ApiResult<Json<Health>> {
    sqlx::query("SELECT 1").execute(&state.db.read).await?;
    Ok(Json(Health {
        status: "ok",
        database: "ok",
    }))
}
