//! A project's settings: name, tracking mode, API keys, and its creation and deletion.

use beacon_tracking::policy::TrackingMode;
use serde_json::Value;

use crate::engine::TrackingEngine;
use crate::error::{ApiError, ApiResult};
use crate::links::LinkSettings;
use crate::store::projects::{self, Project};
use crate::store::{Db, memberships};

/// A tracking mode the configured engine can honour (`ENABLED`, `DISABLED`, `MARKETING_ONLY`);
/// with the provider engine and no no-tracking configuration set, only `ENABLED` (the 422 names
/// the setting that enables the others).
pub fn parse_mode(engine: &TrackingEngine, raw: &str) -> ApiResult<TrackingMode> {
    let mode: TrackingMode = raw
        .parse()
        .map_err(|e| ApiError::invalid("tracking", format!("{e}")))?;
    engine
        .check_mode(mode)
        .map_err(|e| ApiError::invalid("tracking", format!("tracking mode {mode} {e}")))?;
    Ok(mode)
}

/// What a settings change asks for; `None` leaves a setting as it is.
#[derive(Debug, Default)]
pub struct Changes<'a> {
    pub name: Option<&'a str>,
    pub tracking: Option<&'a str>,
    /// The campaign parameters added to tracked links: an object name → value, replacing the
    /// whole set (`null` or `{}`: none). Rules in `crate::links`.
    pub utm: Option<&'a Value>,
    /// Track the plain-text part's links too.
    pub track_text_links: Option<bool>,
}

/// Checks every change before applying any, then saves them. The tracking mode and the link
/// settings apply to the next send (each send reads the project when it is queued).
pub async fn update(
    db: &Db,
    engine: &TrackingEngine,
    project: &mut Project,
    changes: Changes<'_>,
) -> ApiResult<()> {
    let name = changes.name.map(super::check_name).transpose()?;
    let mode = changes
        .tracking
        .map(|m| parse_mode(engine, m))
        .transpose()?;
    let mut links = LinkSettings::of(project);
    links.change(changes.utm, changes.track_text_links)?;
    if let Some(name) = name {
        project.name = name;
    }
    if let Some(mode) = mode {
        project.tracking_mode = mode.as_str().to_string();
    }
    projects::update(db, &project.id, &project.name, &project.tracking_mode).await?;
    if changes.utm.is_some() || changes.track_text_links.is_some() {
        crate::links::save(db, project, &links).await?;
    }
    Ok(())
}

/// New secret and public keys; the old ones are refused from this moment on.
pub async fn regenerate_keys(db: &Db, project: &mut Project) -> ApiResult<()> {
    let (secret, public) = projects::regenerate_keys(db, &project.id).await?;
    project.secret_key = secret;
    project.public_key = public;
    tracing::info!(project = %project.id, "API keys regenerated");
    Ok(())
}

/// A new project owned by `user_id`.
pub async fn create(db: &Db, user_id: &str, name: &str) -> ApiResult<Project> {
    let name = super::check_name(name)?;
    let mut tx = db.begin().await?;
    let project = projects::create_tx(&mut tx, &name).await?;
    memberships::add(&mut tx, &project.id, user_id, "OWNER").await?;
    tx.commit().await?;
    Ok(project)
}

/// Deletes the project and everything in it, once `confirm` repeats its name exactly.
pub async fn delete(db: &Db, project: &Project, confirm: &str) -> ApiResult<()> {
    if confirm.trim() != project.name {
        return Err(ApiError::invalid(
            "confirm",
            format!("type the project's name, {:?}, to delete it", project.name),
        ));
    }
    projects::delete(db, &project.id).await?;
    tracing::warn!(project = %project.id, "project deleted");
    Ok(())
}
