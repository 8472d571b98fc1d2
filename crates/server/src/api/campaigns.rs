//! Campaigns: `/v1/campaigns` — create and edit a draft, send now or later, cancel, test, and
//! read its statistics. The rules are in `actions::campaigns`; the fan-out runs in
//! `crate::campaigns`.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::extract::{Json as Body, QueryParams, SecretKey, parse_json};
use super::page::{Page, PageQuery};
use super::schema::{Data, Done, done, ok};
use crate::actions::campaigns::{self as campaigns_actions, Fields};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::startup::AppState;
use crate::store::campaigns::{self, Campaign};
use crate::time::{iso, iso_opt};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/campaigns", get(list).post(create))
        .route(
            "/v1/campaigns/{id}",
            get(get_one).patch(patch).delete(remove),
        )
        .route("/v1/campaigns/{id}/send", post(send))
        .route("/v1/campaigns/{id}/cancel", post(cancel))
        .route("/v1/campaigns/{id}/test", post(test_send))
        .route(
            "/v1/campaigns/{id}/stats",
            get(super::campaign_stats::stats),
        )
}

/// A campaign: one message to an audience.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CampaignView {
    /// `{"all": true}`, `{"segmentId": "…"}` or `{"condition": …}`.
    #[schema(value_type = Object)]
    pub audience: Value,
    pub body: String,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub finished_at: Option<String>,
    pub from: String,
    pub from_name: Option<String>,
    pub id: String,
    pub name: String,
    /// Emails queued so far.
    pub recipients: i64,
    pub reply_to: Option<String>,
    #[schema(format = DateTime)]
    pub scheduled_at: Option<String>,
    #[schema(format = DateTime)]
    pub started_at: Option<String>,
    /// DRAFT, SCHEDULED, SENDING, SENT or CANCELLED.
    pub status: String,
    pub subject: String,
    /// MARKETING or TRANSACTIONAL.
    #[serde(rename = "type")]
    pub kind: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
    /// Changes to the project's campaign parameters, as given; `null` for none.
    #[schema(value_type = Option<Object>)]
    pub utm: Value,
}

pub fn view(c: &Campaign) -> CampaignView {
    CampaignView {
        audience: serde_json::from_str(&c.audience).unwrap_or(Value::Null),
        body: c.body.clone(),
        created_at: iso(c.created_at),
        finished_at: iso_opt(c.finished_at),
        from: c.from_email.clone(),
        from_name: c.from_name.clone(),
        id: c.id.clone(),
        name: c.name.clone(),
        recipients: c.recipients,
        reply_to: c.reply_to.clone(),
        scheduled_at: iso_opt(c.scheduled_at),
        started_at: iso_opt(c.started_at),
        status: c.status.clone(),
        subject: c.subject.clone(),
        kind: c.kind.clone(),
        updated_at: iso(c.updated_at),
        utm: crate::links::view_campaign_changes(c),
    }
}

const E: &str = "An error";

/// A new DRAFT; `name`, `subject`, `body`, `from` and `audience` are required.
#[utoipa::path(post, path = "/v1/campaigns", tag = "Campaigns", request_body = Fields,
    responses((status = 201, description = "Created", body = Data<CampaignView>),
        (status = "default", description = E, body = ErrorBody)))]
async fn create(
    State(state): State<AppState>,
    SecretKey(project): SecretKey,
    Body(f): Body<Fields>,
) -> ApiResult<(StatusCode, Json<Data<CampaignView>>)> {
    let c = campaigns_actions::create(&state.db, &project.id, f).await?;
    Ok((StatusCode::CREATED, ok(view(&c))))
}

#[utoipa::path(get, path = "/v1/campaigns/{id}", tag = "Campaigns", params(("id" = String, Path)),
    responses((status = 200, description = "The campaign", body = Data<CampaignView>),
        (status = "default", description = E, body = ErrorBody)))]
async fn get_one(
    State(state): State<AppState>,
    SecretKey(project): SecretKey,
    Path(id): Path<String>,
) -> ApiResult<Json<Data<CampaignView>>> {
    let c = campaigns_actions::fetch(&state.db, &project.id, &id).await?;
    Ok(ok(view(&c)))
}

#[utoipa::path(get, path = "/v1/campaigns", tag = "Campaigns", params(PageQuery),
    responses((status = 200, description = "A page", body = Page<CampaignView>),
        (status = "default", description = E, body = ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    SecretKey(project): SecretKey,
    QueryParams(q): QueryParams<PageQuery>,
) -> ApiResult<Json<Page<CampaignView>>> {
    let limit = q.limit()?;
    let rows = campaigns::list(&state.db, &project.id, q.cursor.as_deref(), limit).await?;
    let items = rows.iter().map(view).collect();
    Ok(Json(Page::new(items, limit, |v| v.id.clone())))
}

/// Changes a DRAFT (409 in any other status).
#[utoipa::path(patch, path = "/v1/campaigns/{id}", tag = "Campaigns", params(("id" = String, Path)),
    request_body = Fields,
    responses((status = 200, description = "The campaign", body = Data<CampaignView>),
        (status = "default", description = E, body = ErrorBody)))]
async fn patch(
    State(state): State<AppState>,
    SecretKey(project): SecretKey,
    Path(id): Path<String>,
    Body(f): Body<Fields>,
) -> ApiResult<Json<Data<CampaignView>>> {
    let c = campaigns_actions::update(&state.db, &project.id, &id, f).await?;
    Ok(ok(view(&c)))
}

/// Deletes a campaign that is not SENDING (409: cancel it first); its emails stay.
#[utoipa::path(delete, path = "/v1/campaigns/{id}", tag = "Campaigns", params(("id" = String, Path)),
    responses((status = 200, description = "Deleted", body = Done),
        (status = "default", description = E, body = ErrorBody)))]
async fn remove(
    State(state): State<AppState>,
    SecretKey(project): SecretKey,
    Path(id): Path<String>,
) -> ApiResult<Json<Done>> {
    campaigns_actions::delete(&state.db, &project.id, &id).await?;
    Ok(done())
}

#[derive(Deserialize, Default, ToSchema)]
#[schema(as = CampaignSchedule)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct SendBody {
    /// RFC 3339; the past means now. Absent (or no body at all): now.
    scheduled_at: Option<String>,
}

/// `POST /send` with no body sends now; `{"scheduledAt": "<RFC 3339>"}` later.
#[utoipa::path(post, path = "/v1/campaigns/{id}/send", tag = "Campaigns", params(("id" = String, Path)),
    request_body(content = Option<SendBody>, description = "Optional"),
    responses((status = 200, description = "The campaign, now SCHEDULED", body = Data<CampaignView>),
        (status = "default", description = E, body = ErrorBody)))]
async fn send(
    State(state): State<AppState>,
    SecretKey(project): SecretKey,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Json<Data<CampaignView>>> {
    let req: SendBody = if body.iter().all(u8::is_ascii_whitespace) {
        SendBody::default()
    } else {
        parse_json(&body)?
    };
    let at = match req.scheduled_at {
        Some(t) => Some(crate::time::parse(&t).ok_or_else(|| {
            ApiError::invalid(
                "scheduledAt",
                format!("{t:?} is not an RFC 3339 time like 2026-01-31T09:00:00Z"),
            )
        })?),
        None => None,
    };
    let c = campaigns_actions::schedule(&state, &project, &id, at).await?;
    Ok(ok(view(&c)))
}

/// A SCHEDULED or SENDING campaign becomes CANCELLED (409 otherwise).
#[utoipa::path(post, path = "/v1/campaigns/{id}/cancel", tag = "Campaigns", params(("id" = String, Path)),
    responses((status = 200, description = "The campaign, now CANCELLED", body = Data<CampaignView>),
        (status = "default", description = E, body = ErrorBody)))]
async fn cancel(
    State(state): State<AppState>,
    SecretKey(project): SecretKey,
    Path(id): Path<String>,
) -> ApiResult<Json<Data<CampaignView>>> {
    let c = campaigns_actions::cancel(&state.db, &project.id, &id).await?;
    Ok(ok(view(&c)))
}

#[derive(Deserialize, ToSchema)]
#[schema(as = CampaignTest)]
#[serde(deny_unknown_fields)]
struct TestBody {
    to: String,
}

/// A test send's email and contact ids.
#[derive(Debug, Serialize, ToSchema)]
pub struct TestSent {
    pub contact: String,
    pub email: String,
}

/// A test send: the campaign's content to one address, never tracked and never counted in the
/// campaign (it carries no campaign id).
#[utoipa::path(post, path = "/v1/campaigns/{id}/test", tag = "Campaigns", params(("id" = String, Path)),
    request_body = TestBody,
    responses((status = 200, description = "Queued", body = Data<TestSent>),
        (status = "default", description = E, body = ErrorBody)))]
async fn test_send(
    State(state): State<AppState>,
    SecretKey(project): SecretKey,
    Path(id): Path<String>,
    Body(req): Body<TestBody>,
) -> ApiResult<Json<Data<TestSent>>> {
    let (email, contact) = campaigns_actions::test_send(&state, &project, &id, &req.to).await?;
    Ok(ok(TestSent { contact, email }))
}
