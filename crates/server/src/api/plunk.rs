//! Plunk's other public routes, as aliases of Beacon's own: contacts named by an `id` or
//! `email` in the body (`PUT`/`DELETE /v1/contacts`, `/subscribe`, `/unsubscribe`), the contact
//! count, and campaigns named by an `id` in the body (`PUT`/`DELETE /v1/campaigns`,
//! `/v1/campaigns/send`). Each calls the function Beacon's own route calls; only the way the
//! request names its target and the answer's shape (Plunk's: the object's fields at the top
//! level beside `success`) differ. docs/API.md, "Plunk's routes", lists the differences.

use axum::extract::State;
use axum::routing::{post, put};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;

use super::campaigns::{CampaignView, TestSent, view as campaign_view};
use super::contacts::ContactView;
use super::extract::{AnyKey, Json as Body, SecretKey};
use super::schema::{Data, ok};
use crate::actions;
use crate::actions::campaigns::{self as campaigns_actions, Fields};
use crate::domain::MailboxInput;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::startup::AppState;
use crate::store::contacts::{self, Contact};
use crate::store::{self, memberships};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/contacts", put(update_contact).delete(delete_contact))
        .route("/v1/contacts/count", axum::routing::get(count))
        .route("/v1/contacts/subscribe", post(subscribe))
        .route("/v1/contacts/unsubscribe", post(unsubscribe))
        .route(
            "/v1/campaigns",
            put(update_campaign).delete(delete_campaign),
        )
        .route("/v1/campaigns/send", post(send_campaign))
}

/// Plunk's answer for one object: its fields beside `success`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Flat<T> {
    /// Always `true`.
    pub success: bool,
    #[serde(flatten)]
    pub object: T,
}

fn flat<T>(object: T) -> Json<Flat<T>> {
    Json(Flat {
        success: true,
        object,
    })
}

/// The contact named by `id` or, without one, by `email`; 404 when the project has none.
async fn named_contact(
    state: &AppState,
    project_id: &str,
    id: Option<&str>,
    email: Option<&str>,
) -> ApiResult<Contact> {
    match (id, email) {
        (Some(id), _) => contacts::get(&state.db, project_id, id)
            .await?
            .ok_or_else(|| ApiError::not_found("contact", id)),
        (None, Some(email)) => {
            let email = actions::contacts::parse_email(email)?;
            contacts::by_email(&state.db, project_id, email.as_str())
                .await?
                .ok_or_else(|| {
                    ApiError::NotFound(format!(
                        "no contact with email {:?} in this project",
                        email.as_str()
                    ))
                })
        }
        (None, None) => Err(ApiError::invalid(
            "id",
            "name the contact by `id` or by `email`",
        )),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = PlunkContactUpdate)]
#[serde(deny_unknown_fields)]
struct UpdateContact {
    /// The contact; without it, `email` names the contact.
    id: Option<String>,
    /// With `id`: the contact's new address. Without: which contact.
    email: Option<String>,
    subscribed: Option<bool>,
    /// Merged key by key; a `null` value removes the key.
    #[schema(value_type = Option<Object>)]
    data: Option<Value>,
}

/// Plunk's `PUT /v1/contacts`: the contact named by `id` (then `email` is its new address) or
/// by `email`, changed as `PATCH /v1/contacts/{id}` changes it.
#[utoipa::path(put, path = "/v1/contacts", tag = "Plunk", request_body = UpdateContact,
    responses((status = 200, description = "The contact", body = Flat<ContactView>), (status = "default", description = "An error", body = ErrorBody)))]
async fn update_contact(
    State(state): State<AppState>,
    SecretKey(project): SecretKey,
    Body(req): Body<UpdateContact>,
) -> ApiResult<Json<Flat<ContactView>>> {
    // Check the values first, as PATCH does: a 422 comes before a 404.
    if let Some(email) = &req.email {
        actions::contacts::parse_email(email)?;
    }
    actions::contacts::data_object(req.data.clone())?;
    let contact =
        named_contact(&state, &project.id, req.id.as_deref(), req.email.as_deref()).await?;
    let new_email = req.id.as_ref().and(req.email.as_deref());
    let contact = actions::contacts::update(
        &state.db,
        &project.id,
        &contact.id,
        new_email,
        req.subscribed,
        req.data,
    )
    .await?;
    Ok(flat(super::contacts::view(&contact)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = PlunkId)]
#[serde(deny_unknown_fields)]
struct IdBody {
    id: String,
}

/// Plunk's `DELETE /v1/contacts` with `{"id"}`: deletes as `DELETE /v1/contacts/{id}` does
/// and answers the contact as it was.
#[utoipa::path(delete, path = "/v1/contacts", tag = "Plunk", request_body = IdBody,
    responses((status = 200, description = "The deleted contact", body = Flat<ContactView>), (status = "default", description = "An error", body = ErrorBody)))]
async fn delete_contact(
    State(state): State<AppState>,
    SecretKey(project): SecretKey,
    Body(req): Body<IdBody>,
) -> ApiResult<Json<Flat<ContactView>>> {
    let contact = named_contact(&state, &project.id, Some(&req.id), None).await?;
    actions::contacts::delete(&state.db, &project.id, &contact.id).await?;
    Ok(flat(super::contacts::view(&contact)))
}

/// Plunk's contact count.
#[derive(Debug, Serialize, ToSchema)]
pub struct ContactCount {
    /// Always `true`.
    pub success: bool,
    pub count: i64,
}

/// Plunk's `GET /v1/contacts/count`: the project's number of contacts. Either key, as in
/// Plunk.
#[utoipa::path(get, path = "/v1/contacts/count", tag = "Plunk",
    security(("secretKey" = []), ("publicKey" = [])),
    responses((status = 200, description = "The count", body = ContactCount), (status = "default", description = "An error", body = ErrorBody)))]
async fn count(
    State(state): State<AppState>,
    AnyKey(project): AnyKey,
) -> ApiResult<Json<ContactCount>> {
    let count = contacts::count(&state.db, &project.id).await?;
    Ok(Json(ContactCount {
        success: true,
        count,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = PlunkContactRef)]
#[serde(deny_unknown_fields)]
struct ContactRef {
    /// The contact; or give `email`.
    id: Option<String>,
    email: Option<String>,
}

/// Plunk's answer to a subscription change.
#[derive(Debug, Serialize, ToSchema)]
pub struct Subscription {
    /// Always `true`.
    pub success: bool,
    /// The contact's id.
    pub contact: String,
    pub subscribed: bool,
}

async fn set_subscribed(
    state: &AppState,
    project_id: &str,
    req: ContactRef,
    to: bool,
) -> ApiResult<Json<Subscription>> {
    let contact = named_contact(state, project_id, req.id.as_deref(), req.email.as_deref()).await?;
    let contact =
        actions::contacts::update(&state.db, project_id, &contact.id, None, Some(to), None).await?;
    Ok(Json(Subscription {
        success: true,
        contact: contact.id,
        subscribed: contact.subscribed != 0,
    }))
}

/// Plunk's `POST /v1/contacts/subscribe` with `{"id"}` or `{"email"}`. Either key, as in
/// Plunk.
#[utoipa::path(post, path = "/v1/contacts/subscribe", tag = "Plunk", request_body = ContactRef,
    security(("secretKey" = []), ("publicKey" = [])),
    responses((status = 200, description = "Subscribed", body = Subscription), (status = "default", description = "An error", body = ErrorBody)))]
async fn subscribe(
    State(state): State<AppState>,
    AnyKey(project): AnyKey,
    Body(req): Body<ContactRef>,
) -> ApiResult<Json<Subscription>> {
    set_subscribed(&state, &project.id, req, true).await
}

/// Plunk's `POST /v1/contacts/unsubscribe` with `{"id"}` or `{"email"}`. Either key, as in
/// Plunk.
#[utoipa::path(post, path = "/v1/contacts/unsubscribe", tag = "Plunk", request_body = ContactRef,
    security(("secretKey" = []), ("publicKey" = [])),
    responses((status = 200, description = "Unsubscribed", body = Subscription), (status = "default", description = "An error", body = ErrorBody)))]
async fn unsubscribe(
    State(state): State<AppState>,
    AnyKey(project): AnyKey,
    Body(req): Body<ContactRef>,
) -> ApiResult<Json<Subscription>> {
    set_subscribed(&state, &project.id, req, false).await
}

/// `PUT /v1/campaigns`: Beacon's campaign fields, the campaign named by `id`, and Plunk's
/// `recipients` (only `["all"]`, Beacon's `{"all": true}` audience) and `style` (only `HTML`:
/// Beacon sends the body as written).
#[derive(Deserialize, ToSchema)]
#[schema(as = PlunkCampaignUpdate)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct UpdateCampaign {
    id: String,
    name: Option<String>,
    subject: Option<String>,
    body: Option<String>,
    from: Option<MailboxInput>,
    from_name: Option<String>,
    reply_to: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    #[schema(value_type = Option<Object>)]
    audience: Option<Value>,
    #[serde(default, deserialize_with = "campaigns_actions::present")]
    #[schema(value_type = Option<Object>)]
    utm: Option<Value>,
    /// Plunk's audience: only `["all"]`.
    recipients: Option<Vec<String>>,
    /// Plunk's `style`: only `HTML`.
    style: Option<String>,
}

#[utoipa::path(put, path = "/v1/campaigns", tag = "Plunk", request_body = UpdateCampaign,
    responses((status = 200, description = "The campaign", body = Flat<CampaignView>), (status = "default", description = "An error", body = ErrorBody)))]
async fn update_campaign(
    State(state): State<AppState>,
    SecretKey(project): SecretKey,
    Body(req): Body<UpdateCampaign>,
) -> ApiResult<Json<Flat<CampaignView>>> {
    if req.style.as_deref().is_some_and(|s| s != "HTML") {
        return Err(ApiError::invalid(
            "style",
            "only style HTML is available: Beacon sends the body as written",
        ));
    }
    let audience = match (req.recipients, req.audience) {
        (Some(_), Some(_)) => {
            return Err(ApiError::invalid(
                "recipients",
                "give `recipients` or `audience`, not both",
            ));
        }
        (Some(r), None) if r == ["all"] => Some(json!({ "all": true })),
        (Some(_), None) => {
            return Err(ApiError::invalid(
                "recipients",
                "only [\"all\"] is available; for some contacts, give `audience` with a \
                 `segmentId` or a `condition`",
            ));
        }
        (None, audience) => audience,
    };
    let fields = Fields {
        name: req.name,
        subject: req.subject,
        body: req.body,
        from: req.from,
        from_name: req.from_name,
        reply_to: req.reply_to,
        kind: req.kind,
        audience,
        utm: req.utm,
    };
    let c = campaigns_actions::update(&state.db, &project.id, &req.id, fields).await?;
    Ok(flat(campaign_view(&c)))
}

/// Plunk's `DELETE /v1/campaigns` with `{"id"}`: answers the campaign as it was.
#[utoipa::path(delete, path = "/v1/campaigns", tag = "Plunk", request_body = IdBody,
    responses((status = 200, description = "The deleted campaign", body = Flat<CampaignView>), (status = "default", description = "An error", body = ErrorBody)))]
async fn delete_campaign(
    State(state): State<AppState>,
    SecretKey(project): SecretKey,
    Body(req): Body<IdBody>,
) -> ApiResult<Json<Flat<CampaignView>>> {
    let c = campaigns_actions::fetch(&state.db, &project.id, &req.id).await?;
    campaigns_actions::delete(&state.db, &project.id, &req.id).await?;
    Ok(flat(campaign_view(&c)))
}

#[derive(Deserialize, ToSchema)]
#[schema(as = PlunkCampaignSend)]
#[serde(deny_unknown_fields)]
struct SendCampaign {
    id: String,
    /// Plunk's default: `false`, a test to the project's members.
    #[serde(default)]
    live: bool,
    /// Minutes from now (`live` only).
    #[serde(default)]
    delay: Option<u32>,
}

/// The longest `delay` taken: a year, in minutes.
const MAX_DELAY_MINUTES: u32 = 366 * 24 * 60;

/// `POST /v1/campaigns/send`: `live: true` schedules the campaign `delay` minutes from now, as
/// `POST /v1/campaigns/{id}/send` does; without it, a test goes to each member of the project
/// (the dashboard's users), as `POST /v1/campaigns/{id}/test` sends one.
#[utoipa::path(post, path = "/v1/campaigns/send", tag = "Plunk", request_body = SendCampaign,
    responses((status = 200, description = "Scheduled (`live`) or tests queued", body = Data<CampaignSend>),
        (status = "default", description = "An error", body = ErrorBody)))]
async fn send_campaign(
    State(state): State<AppState>,
    SecretKey(project): SecretKey,
    Body(req): Body<SendCampaign>,
) -> ApiResult<Json<Data<CampaignSend>>> {
    let delay = req.delay.unwrap_or(0);
    if delay > MAX_DELAY_MINUTES {
        return Err(ApiError::invalid(
            "delay",
            format!("delay is in minutes, at most {MAX_DELAY_MINUTES}"),
        ));
    }
    if req.live {
        let at = store::now_ms() + i64::from(delay) * 60_000;
        let c = campaigns_actions::schedule(&state, &project, &req.id, Some(at)).await?;
        return Ok(ok(CampaignSend::Live(Box::new(campaign_view(&c)))));
    }
    // A 404 for another project's campaign before anything is said about members.
    campaigns_actions::fetch(&state.db, &project.id, &req.id).await?;
    let members = memberships::members(&state.db, &project.id).await?;
    if members.is_empty() {
        return Err(ApiError::invalid(
            "live",
            "this project has no members to send a test to: send with `live: true`, or test \
             with POST /v1/campaigns/{id}/test and a `to` address",
        ));
    }
    let mut tests = Vec::with_capacity(members.len());
    for m in members {
        let (email, contact) =
            campaigns_actions::test_send(&state, &project, &req.id, &m.email).await?;
        tests.push(TestSent { contact, email });
    }
    Ok(ok(CampaignSend::Tests { tests }))
}

/// `POST /v1/campaigns/send`'s `data`: the scheduled campaign, or the tests queued.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum CampaignSend {
    Live(Box<CampaignView>),
    Tests { tests: Vec<TestSent> },
}
