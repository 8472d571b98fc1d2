//! `GET /v1/campaigns/{id}/stats`: how a campaign did, humans and machines apart.

use axum::Json;
use axum::extract::{Path, State};
use serde_json::{Value, json};

use super::extract::SecretKey;
use super::stats::with_rates;
use crate::error::ApiResult;
use crate::startup::AppState;
use crate::store::stats;

pub async fn stats(
    State(state): State<AppState>,
    SecretKey(project): SecretKey,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let c = crate::actions::campaigns::fetch(&state.db, &project.id, &id).await?;
    let scope = stats::Scope::campaign(&project.id, &c);
    let totals = stats::totals(&state.db, &scope).await?;
    let links = crate::store::link_stats::links(&state.db, &scope).await?;
    let losses = stats::losses(&state.db, &scope).await?;
    let hourly = match c.started_at {
        Some(start) => stats::hourly(&state.db, &project.id, &c.id, start).await?,
        None => Vec::new(),
    };
    let mut data = with_rates(&totals);
    data["campaign"] = json!(c.id);
    data["status"] = json!(c.status);
    data["recipients"] = json!(c.recipients);
    data["links"] = json!(links);
    data["bounced"] = json!(losses.bounced);
    data["complained"] = json!(losses.complained);
    data["unsubscribed"] = json!(losses.unsubscribed);
    data["hourly"] = json!(hourly);
    Ok(Json(json!({ "success": true, "data": data })))
}
