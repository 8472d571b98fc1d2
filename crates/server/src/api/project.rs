//! Settings → the project: its name and tracking mode, and which modes the configured tracking
//! engine offers (a dashboard hides the others, with the reason).

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::extract::{Json as Body, SecretKey};
use super::schema::{Data, ok};
use crate::actions;
use crate::engine::TrackingEngine;
use crate::error::{ApiResult, ErrorBody};
use crate::links::LinkSettings;
use crate::startup::AppState;
use crate::store::projects::Project;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/project", get(get_project).patch(patch_project))
        .route("/v1/project/keys", post(regenerate_keys))
}

/// The project as its settings show it. The secret key is shown only by `POST /v1/project/keys`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProjectView {
    /// The modes `PATCH` accepts with this engine.
    pub available_modes: Vec<&'static str>,
    #[schema(format = DateTime)]
    pub created_at: String,
    pub id: String,
    pub name: String,
    pub public_key: String,
    /// Only in the answer of `POST /v1/project/keys`: the new secret key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_key: Option<String>,
    /// Whether the text part's links are tracked too.
    pub track_text_links: bool,
    /// The project's mode, as stored.
    pub tracking: String,
    /// The project's tracking domain (`/v1/domains`), or `null`: its links, pixel and
    /// unsubscribe page use it while its `status` is `VERIFIED`, else the public URL.
    pub tracking_domain: Option<super::domains::DomainView>,
    /// `builtin` or `provider`.
    pub tracking_engine: &'static str,
    /// The base URL of the links in the project's next emails: its verified tracking domain,
    /// else Beacon's public URL.
    pub tracking_url: String,
    /// Each other mode → why it is unavailable.
    pub unavailable_modes: BTreeMap<&'static str, String>,
    /// Campaign parameters added to tracked links, name → value.
    #[schema(value_type = Object)]
    pub utm: Value,
}

/// The project's view, with its live tracking domain read from the store.
async fn view(state: &AppState, p: &Project) -> ApiResult<ProjectView> {
    let engine: &TrackingEngine = &state.settings.tracking_engine;
    let domain = crate::store::domains::live(&state.db, &p.id).await?;
    let (available, unavailable) = engine.modes();
    let links = LinkSettings::of(p).view();
    Ok(ProjectView {
        available_modes: available,
        created_at: crate::time::iso(p.created_at),
        id: p.id.clone(),
        name: p.name.clone(),
        public_key: p.public_key.clone(),
        secret_key: None,
        track_text_links: links["trackTextLinks"].as_bool().unwrap_or(false),
        tracking: p.tracking_mode.clone(),
        tracking_domain: domain.first().map(|d| super::domains::view(state, d)),
        tracking_engine: engine.name(),
        tracking_url: p
            .tracking_url
            .clone()
            .unwrap_or_else(|| state.public_url.to_string()),
        unavailable_modes: unavailable,
        utm: links["utm"].clone(),
    })
}

#[utoipa::path(get, path = "/v1/project", tag = "Project",
    responses((status = 200, description = "The project", body = Data<ProjectView>), (status = "default", description = "An error", body = ErrorBody)))]
async fn get_project(
    State(state): State<AppState>,
    SecretKey(project): SecretKey,
) -> ApiResult<Json<Data<ProjectView>>> {
    Ok(ok(view(&state, &project).await?))
}

#[derive(Deserialize, ToSchema)]
#[schema(as = ProjectPatch)]
#[serde(deny_unknown_fields)]
struct Patch {
    /// 1 to 200 characters, no control characters.
    name: Option<String>,
    /// One of the project's `availableModes`.
    tracking: Option<String>,
    /// Name → value; `null` or `{}` for none. `null` clears the set, so a given `null` is told
    /// apart from a missing field.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Object>)]
    utm: Option<Value>,
    #[serde(rename = "trackTextLinks")]
    track_text_links: Option<bool>,
}

fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

/// Changes the fields given; nothing changes unless every one is valid.
#[utoipa::path(patch, path = "/v1/project", tag = "Project", request_body = Patch,
    responses((status = 200, description = "The project", body = Data<ProjectView>), (status = "default", description = "An error", body = ErrorBody)))]
async fn patch_project(
    State(state): State<AppState>,
    SecretKey(mut project): SecretKey,
    Body(patch): Body<Patch>,
) -> ApiResult<Json<Data<ProjectView>>> {
    let engine = &state.settings.tracking_engine;
    let changes = actions::project::Changes {
        name: patch.name.as_deref(),
        tracking: patch.tracking.as_deref(),
        utm: patch.utm.as_ref(),
        track_text_links: patch.track_text_links,
    };
    actions::project::update(&state.db, engine, &mut project, changes).await?;
    Ok(ok(view(&state, &project).await?))
}

/// New secret and public keys; the ones in use stop working at once. The answer carries the
/// new secret key (the only time the API shows it).
#[utoipa::path(post, path = "/v1/project/keys", tag = "Project",
    responses((status = 200, description = "The project with its new `secretKey`", body = Data<ProjectView>),
        (status = "default", description = "An error", body = ErrorBody)))]
async fn regenerate_keys(
    State(state): State<AppState>,
    SecretKey(mut project): SecretKey,
) -> ApiResult<Json<Data<ProjectView>>> {
    actions::project::regenerate_keys(&state.db, &mut project).await?;
    let mut data = view(&state, &project).await?;
    data.secret_key = Some(project.secret_key.clone());
    Ok(ok(data))
}
