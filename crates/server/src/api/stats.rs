//! `GET /v1/stats?from=&to=`: the project's engagement, humans and machines apart.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::extract::{QueryParams, SecretKey};
use crate::error::{ApiError, ApiResult};
use crate::startup::AppState;
use crate::store::{self, stats};

pub fn routes() -> Router<AppState> {
    Router::new().route("/v1/stats", get(project_stats))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Range {
    from: Option<String>,
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

/// Rates as fractions of tracked emails, 0 when nothing was tracked.
pub fn with_rates(totals: &stats::Totals) -> Value {
    let rate = |n: i64| {
        if totals.tracked == 0 {
            0.0
        } else {
            n as f64 / totals.tracked as f64
        }
    };
    let mut v = serde_json::to_value(totals).unwrap_or_default();
    v["openRate"] = json!(rate(totals.unique_opens));
    v["clickRate"] = json!(rate(totals.unique_clicks));
    v
}

async fn project_stats(
    State(state): State<AppState>,
    SecretKey(project): SecretKey,
    QueryParams(range): QueryParams<Range>,
) -> ApiResult<Json<Value>> {
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
    let events = stats::losses(&state.db, &scope).await?;
    let mut data = with_rates(&totals);
    data["stream"] = json!(stream);
    data["bounced"] = json!(events.bounced);
    data["complained"] = json!(events.complained);
    data["unsubscribed"] = json!(events.unsubscribed);
    data["from"] = json!(crate::time::iso(from));
    data["to"] = json!(crate::time::iso(to));
    data["links"] = json!(links);
    Ok(Json(json!({ "success": true, "data": data })))
}
