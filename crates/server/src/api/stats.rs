//! `GET /v1/stats?from=&to=`: the project's engagement, humans and machines apart.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::extract::{QueryParams, SecretKey};
use super::schema::{Data, ok};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::startup::AppState;
use crate::store::engagement::Losses;
use crate::store::link_stats::LinkClicks;
use crate::store::{self, stats};

pub fn routes() -> Router<AppState> {
    Router::new().route("/v1/stats", get(project_stats))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct Range {
    /// RFC 3339; default 30 days before `to`.
    from: Option<String>,
    /// RFC 3339; default now (plus 1 ms).
    to: Option<String>,
    /// `TRANSACTIONAL`, `CAMPAIGN` or `WORKFLOW`: only emails of that source.
    stream: Option<String>,
}

const DAY_MS: i64 = 86_400_000;

fn time(field: &str, value: Option<&str>, default: i64) -> ApiResult<i64> {
    match value {
        None => Ok(default),
        Some(v) => crate::time::parse(v).ok_or_else(|| {
            ApiError::bad_request(
                field,
                format!("{field} must be an RFC 3339 time like 2026-01-31T00:00:00Z, not {v:?}"),
            )
        }),
    }
}

/// The counts with their rates, as fractions (0 to 1) of tracked emails, 0 when nothing was
/// tracked.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WithRates {
    #[serde(flatten)]
    pub totals: stats::Totals,
    pub open_rate: f64,
    pub click_rate: f64,
}

pub fn with_rates(totals: stats::Totals) -> WithRates {
    let rate = |n: i64| {
        if totals.tracked == 0 {
            0.0
        } else {
            n as f64 / totals.tracked as f64
        }
    };
    WithRates {
        open_rate: rate(totals.unique_opens),
        click_rate: rate(totals.unique_clicks),
        totals,
    }
}

/// `GET /v1/stats`: engagement over the emails queued in `[from, to)`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatsView {
    #[serde(flatten)]
    pub counts: WithRates,
    /// The `stream` asked for, or `null` for all.
    pub stream: Option<&'static str>,
    /// Bounces, complaints and unsubscribes that happened in the range.
    #[serde(flatten)]
    pub losses: Losses,
    #[schema(format = DateTime)]
    pub from: String,
    #[schema(format = DateTime)]
    pub to: String,
    /// Per tracked link, most human clicks first; at most 200.
    pub links: Vec<LinkClicks>,
}

#[utoipa::path(get, path = "/v1/stats", tag = "Statistics", params(Range),
    responses((status = 200, description = "The project's engagement", body = Data<StatsView>), (status = "default", description = "An error", body = ErrorBody)))]
async fn project_stats(
    State(state): State<AppState>,
    SecretKey(project): SecretKey,
    QueryParams(range): QueryParams<Range>,
) -> ApiResult<Json<Data<StatsView>>> {
    let now = store::now_ms();
    let to = time("to", range.to.as_deref(), now + 1)?;
    let from = time("from", range.from.as_deref(), to - 30 * DAY_MS)?;
    if from >= to {
        return Err(ApiError::bad_request("from", "`from` must be before `to`"));
    }
    let stream = range
        .stream
        .as_deref()
        .map(stats::parse_stream)
        .transpose()?;
    let scope = stats::Scope {
        project_id: &project.id,
        from,
        to,
        campaign_id: None,
        stream,
    };
    let totals = stats::totals(&state.db, &scope).await?;
    let links = crate::store::link_stats::links(&state.db, &scope).await?;
    let losses = stats::losses(&state.db, &scope).await?;
    Ok(ok(StatsView {
        counts: with_rates(totals),
        stream,
        losses,
        from: crate::time::iso(from),
        to: crate::time::iso(to),
        links,
    }))
}
