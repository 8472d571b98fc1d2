//! Segments: the rules `/v1/segments` and the dashboard's segment pages share. The condition
//! grammar is in `crate::segments` and docs/API.md.

use serde_json::Value;

use crate::error::{ApiError, ApiResult};
use crate::segments::Condition;
use crate::store::segments::Segment;
use crate::store::{self, Db};

/// Parses the condition and checks its campaign / template ids belong to the project.
pub async fn condition(db: &Db, project_id: &str, raw: &Value) -> ApiResult<Condition> {
    let cond = Condition::parse(raw)?;
    cond.check_refs(db, project_id).await?;
    Ok(cond)
}

/// The project's segment, or a 404.
pub async fn fetch(db: &Db, project_id: &str, id: &str) -> ApiResult<Segment> {
    store::segments::get(db, project_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("segment", id))
}

/// A new segment of `name` over `condition`.
pub async fn create(
    db: &Db,
    project_id: &str,
    name: &str,
    condition: &Value,
) -> ApiResult<Segment> {
    super::check_name(name)?;
    let cond = self::condition(db, project_id, condition).await?;
    let now = store::now_ms();
    let segment = Segment {
        id: store::new_id(),
        project_id: project_id.to_string(),
        name: name.trim().to_string(),
        condition: cond.json().to_string(),
        created_at: now,
        updated_at: now,
    };
    store::segments::insert(db, &segment).await?;
    Ok(segment)
}

/// Renames and/or replaces the condition (each checked before either is saved).
pub async fn update(
    db: &Db,
    project_id: &str,
    id: &str,
    name: Option<&str>,
    condition: Option<&Value>,
) -> ApiResult<Segment> {
    // Another project's id is a 404 before any validation says anything about it.
    fetch(db, project_id, id).await?;
    if let Some(name) = name {
        super::check_name(name)?;
    }
    let cond = match condition {
        Some(raw) => Some(
            self::condition(db, project_id, raw)
                .await?
                .json()
                .to_string(),
        ),
        None => None,
    };
    if name.is_some() || cond.is_some() {
        let name = name.map(str::trim);
        if !store::segments::update(db, project_id, id, name, cond.as_deref()).await? {
            return Err(ApiError::not_found("segment", id));
        }
    }
    fetch(db, project_id, id).await
}

/// Deletes a segment no campaign still to go out has as its audience (409 otherwise).
pub async fn delete(db: &Db, project_id: &str, id: &str) -> ApiResult<()> {
    if let Some(c) = store::campaigns::pending_for_segment(db, project_id, id).await? {
        return Err(ApiError::Conflict(format!(
            "segment {id} is the audience of campaign {:?} ({}), which is {}; cancel or change it first",
            c.name, c.id, c.status
        )));
    }
    if !store::segments::delete(db, project_id, id).await? {
        return Err(ApiError::not_found("segment", id));
    }
    Ok(())
}
