//! Settings → the project: its name and tracking mode, and which modes the configured tracking
//! engine offers (a dashboard hides the others, with the reason).

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::extract::{Json as Body, SecretKey};
use crate::actions;
use crate::engine::TrackingEngine;
use crate::error::ApiResult;
use crate::links::LinkSettings;
use crate::startup::AppState;
use crate::store::projects::Project;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/project", get(get_project).patch(patch_project))
        .route("/v1/project/keys", post(regenerate_keys))
}

fn view(p: &Project, engine: &TrackingEngine) -> Value {
    let (available, unavailable) = engine.modes();
    let mut view = json!({
        "id": p.id,
        "name": p.name,
        "publicKey": p.public_key,
        "tracking": p.tracking_mode,
        "trackingEngine": engine.name(),
        "availableModes": available,
        "unavailableModes": unavailable,
        "createdAt": crate::time::iso(p.created_at),
    });
    if let (Value::Object(view), Value::Object(links)) = (&mut view, LinkSettings::of(p).view()) {
        view.extend(links);
    }
    view
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
    /// `null` clears the set, so a given `null` is told apart from a missing field.
    #[serde(default, deserialize_with = "present")]
    utm: Option<Value>,
    #[serde(rename = "trackTextLinks")]
    track_text_links: Option<bool>,
}

fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

async fn patch_project(
    State(state): State<AppState>,
    SecretKey(mut project): SecretKey,
    Body(patch): Body<Patch>,
) -> ApiResult<Json<Value>> {
    let engine = &state.settings.tracking_engine;
    let changes = actions::project::Changes {
        name: patch.name.as_deref(),
        tracking: patch.tracking.as_deref(),
        utm: patch.utm.as_ref(),
        track_text_links: patch.track_text_links,
    };
    actions::project::update(&state.db, engine, &mut project, changes).await?;
    Ok(Json(
        json!({ "success": true, "data": view(&project, engine) }),
    ))
}

/// New secret and public keys; the ones in use stop working at once. The answer carries the
/// new secret key (the only time the API shows it).
async fn regenerate_keys(
    State(state): State<AppState>,
    SecretKey(mut project): SecretKey,
) -> ApiResult<Json<Value>> {
    actions::project::regenerate_keys(&state.db, &mut project).await?;
    let mut data = view(&project, &state.settings.tracking_engine);
    data["secretKey"] = json!(project.secret_key);
    Ok(Json(json!({ "success": true, "data": data })))
}
