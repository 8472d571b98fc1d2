//! Settings → the project: its name and tracking mode, and which modes the configured tracking
//! engine offers (a dashboard hides the others, with the reason).

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use beacon_tracking::policy::TrackingMode;

use super::extract::{Json as Body, SecretKey};
use crate::engine::TrackingEngine;
use crate::error::{ApiError, ApiResult};
use crate::startup::AppState;
use crate::store::projects::{self, Project};

pub fn routes() -> Router<AppState> {
    Router::new().route("/v1/project", get(get_project).patch(patch_project))
}

fn view(p: &Project, engine: &TrackingEngine) -> Value {
    let (available, unavailable) = engine.modes();
    json!({
        "id": p.id,
        "name": p.name,
        "publicKey": p.public_key,
        "tracking": p.tracking_mode,
        "trackingEngine": engine.name(),
        "availableModes": available,
        "unavailableModes": unavailable,
        "createdAt": crate::time::iso(p.created_at),
    })
}

async fn get_project(State(state): State<AppState>, SecretKey(project): SecretKey) -> Json<Value> {
    let engine = &state.settings.tracking_engine;
    Json(json!({ "success": true, "data": view(&project, engine) }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Patch {
    name: Option<String>,
    tracking: Option<String>,
}

async fn patch_project(
    State(state): State<AppState>,
    SecretKey(mut project): SecretKey,
    Body(patch): Body<Patch>,
) -> ApiResult<Json<Value>> {
    if let Some(name) = patch.name {
        let name = name.trim();
        if name.is_empty() || name.len() > 200 {
            return Err(ApiError::invalid(
                "name",
                "name must be 1 to 200 characters",
            ));
        }
        project.name = name.to_string();
    }
    if let Some(mode) = patch.tracking {
        let mode: TrackingMode = mode
            .parse()
            .map_err(|e| ApiError::invalid("tracking", format!("{e}")))?;
        state
            .settings
            .tracking_engine
            .check_mode(mode)
            .map_err(|e| ApiError::invalid("tracking", format!("tracking mode {mode} {e}")))?;
        project.tracking_mode = mode.as_str().to_string();
    }
    projects::update(
        &state.db,
        &project.id,
        &project.name,
        &project.tracking_mode,
    )
    .await?;
    let engine = &state.settings.tracking_engine;
    Ok(Json(
        json!({ "success": true, "data": view(&project, engine) }),
    ))
}
