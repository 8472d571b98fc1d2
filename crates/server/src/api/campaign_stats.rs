//! `GET /v1/campaigns/{id}/stats`: how a campaign did, humans and machines apart.

use axum::Json;
use axum::extract::{Path, State};
use serde::Serialize;
use utoipa::ToSchema;

use super::extract::SecretKey;
use super::schema::{Data, ok};
use super::stats::{WithRates, with_rates};
use crate::error::{ApiResult, ErrorBody};
use crate::startup::AppState;
use crate::store::engagement::Losses;
use crate::store::link_stats::LinkClicks;
use crate::store::stats;

/// A campaign's statistics over its emails.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CampaignStats {
    #[serde(flatten)]
    pub counts: WithRates,
    /// The campaign's id.
    pub campaign: String,
    pub status: String,
    /// Emails queued so far.
    pub recipients: i64,
    pub links: Vec<LinkClicks>,
    /// Bounces, complaints and unsubscribes of the campaign's emails.
    #[serde(flatten)]
    pub losses: Losses,
    /// Opens and clicks per hour since the fan-out started; hours without any left out.
    pub hourly: Vec<stats::Hour>,
}

#[utoipa::path(get, path = "/v1/campaigns/{id}/stats", tag = "Campaigns", params(("id" = String, Path)),
    responses((status = 200, description = "How the campaign did", body = Data<CampaignStats>),
        (status = "default", description = "An error", body = ErrorBody)))]
pub async fn stats(
    State(state): State<AppState>,
    SecretKey(project): SecretKey,
    Path(id): Path<String>,
) -> ApiResult<Json<Data<CampaignStats>>> {
    let c = crate::actions::campaigns::fetch(&state.db, &project.id, &id).await?;
    let scope = stats::Scope::campaign(&project.id, &c);
    let totals = stats::totals(&state.db, &scope).await?;
    let links = crate::store::link_stats::links(&state.db, &scope).await?;
    let losses = stats::losses(&state.db, &scope).await?;
    let hourly = match c.started_at {
        Some(start) => stats::hourly(&state.db, &project.id, &c.id, start).await?,
        None => Vec::new(),
    };
    Ok(ok(CampaignStats {
        counts: with_rates(totals),
        campaign: c.id,
        status: c.status,
        recipients: c.recipients,
        links,
        losses,
        hourly,
    }))
}
