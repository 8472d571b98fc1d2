//! Campaigns: `/v1/campaigns` — create and edit a draft, send now or later, cancel, test, and
//! read its statistics. The fan-out itself runs in `crate::campaigns`.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use beacon_tracking::policy::{CampaignType, SourceType};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::extract::{Json as Body, QueryParams, SecretKey, parse_json};
use super::page::{Page, PageQuery};
use super::templates::{check_body, check_name, check_subject};
use crate::campaigns::audience::AudienceSpec;
use crate::domain::{EmailAddress, Mailbox, MailboxInput};
use crate::error::{ApiError, ApiResult};
use crate::render::{BodyType, Content};
use crate::sending::{self, Compose};
use crate::startup::AppState;
use crate::store::campaigns::{self, Campaign};
use crate::store::{self, contacts};
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

pub fn view(c: &Campaign) -> Value {
    json!({
        "id": c.id,
        "name": c.name,
        "subject": c.subject,
        "body": c.body,
        "from": c.from_email,
        "fromName": c.from_name,
        "replyTo": c.reply_to,
        "type": c.kind,
        "audience": serde_json::from_str::<Value>(&c.audience).unwrap_or(Value::Null),
        "status": c.status,
        "scheduledAt": iso_opt(c.scheduled_at),
        "startedAt": iso_opt(c.started_at),
        "finishedAt": iso_opt(c.finished_at),
        "recipients": c.recipients,
        "utm": crate::links::view_campaign_changes(c),
        "createdAt": iso(c.created_at),
        "updatedAt": iso(c.updated_at),
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Fields {
    name: Option<String>,
    subject: Option<String>,
    body: Option<String>,
    from: Option<MailboxInput>,
    from_name: Option<String>,
    reply_to: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    audience: Option<Value>,
    /// Changes to the project's campaign parameters (`crate::links`); `null` for none.
    #[serde(default, deserialize_with = "present")]
    utm: Option<Value>,
}

/// A field given as `null` is `Some(Value::Null)`, told apart from one left out (`None`).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

/// Applies and checks `f` on `c`; every field is checked before anything is stored.
async fn apply(state: &AppState, c: &mut Campaign, f: Fields) -> ApiResult<()> {
    if let Some(name) = f.name {
        check_name(&name)?;
        c.name = name.trim().to_string();
    }
    if let Some(subject) = f.subject {
        check_subject(&subject)?;
        c.subject = subject;
    }
    if let Some(body) = f.body {
        check_body(&body)?;
        c.body = body;
    }
    if let Some(from) = f.from {
        let m = Mailbox::parse(&from).map_err(|e| ApiError::invalid("from", e.to_string()))?;
        c.from_email = m.email.into_string();
        if m.name.is_some() {
            c.from_name = m.name;
        }
    }
    if let Some(name) = f.from_name {
        if name.chars().any(char::is_control) {
            return Err(ApiError::invalid(
                "fromName",
                "the sender name may not hold control characters",
            ));
        }
        c.from_name = Some(name.trim().to_string()).filter(|n| !n.is_empty());
    }
    if let Some(reply) = f.reply_to {
        let r =
            EmailAddress::parse(&reply).map_err(|e| ApiError::invalid("replyTo", e.to_string()))?;
        c.reply_to = Some(r.into_string());
    }
    if let Some(kind) = f.kind {
        let k: CampaignType = kind
            .parse()
            .map_err(|e| ApiError::invalid("type", format!("{e}")))?;
        c.kind = k.as_str().to_string();
    }
    if let Some(audience) = f.audience {
        if let AudienceSpec::Segment { segment_id } = AudienceSpec::parse(&audience)?
            && store::segments::get(&state.db, &c.project_id, &segment_id)
                .await?
                .is_none()
        {
            return Err(ApiError::invalid(
                "audience",
                format!("no segment with id {segment_id:?} in this project"),
            ));
        }
        c.audience = audience.to_string();
    }
    if let Some(utm) = f.utm {
        c.utm = crate::links::parse_campaign_changes(&utm)?;
    }
    Ok(())
}

async fn create(
    State(state): State<AppState>,
    SecretKey(project): SecretKey,
    Body(f): Body<Fields>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    for (field, missing) in [
        ("name", f.name.is_none()),
        ("subject", f.subject.is_none()),
        ("body", f.body.is_none()),
        ("from", f.from.is_none()),
        ("audience", f.audience.is_none()),
    ] {
        if missing {
            return Err(ApiError::invalid(field, format!("`{field}` is required")));
        }
    }
    let now = store::now_ms();
    let mut c = Campaign {
        id: store::new_id(),
        project_id: project.id.clone(),
        kind: "MARKETING".into(),
        status: "DRAFT".into(),
        created_at: now,
        updated_at: now,
        ..Campaign::default()
    };
    apply(&state, &mut c, f).await?;
    campaigns::insert(&state.db, &c).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "success": true, "data": view(&c) })),
    ))
}

async fn fetch(state: &AppState, project_id: &str, id: &str) -> ApiResult<Campaign> {
    campaigns::get(&state.db, project_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("campaign", id))
}

async fn get_one(
    State(state): State<AppState>,
    SecretKey(project): SecretKey,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let c = fetch(&state, &project.id, &id).await?;
    Ok(Json(json!({ "success": true, "data": view(&c) })))
}

async fn list(
    State(state): State<AppState>,
    SecretKey(project): SecretKey,
    QueryParams(q): QueryParams<PageQuery>,
) -> ApiResult<Json<Page<Value>>> {
    let limit = q.limit()?;
    let rows = campaigns::list(&state.db, &project.id, q.cursor.as_deref(), limit).await?;
    let items = rows.iter().map(view).collect();
    Ok(Json(Page::of_views(items, limit, "id")))
}

fn not_draft(c: &Campaign) -> ApiError {
    ApiError::Conflict(format!(
        "campaign {} is {}; only a DRAFT can be changed or sent",
        c.id, c.status
    ))
}

async fn patch(
    State(state): State<AppState>,
    SecretKey(project): SecretKey,
    Path(id): Path<String>,
    Body(f): Body<Fields>,
) -> ApiResult<Json<Value>> {
    let mut c = fetch(&state, &project.id, &id).await?;
    if c.status != "DRAFT" {
        return Err(not_draft(&c));
    }
    apply(&state, &mut c, f).await?;
    if !campaigns::update_draft(&state.db, &c).await? {
        return Err(not_draft(&fetch(&state, &project.id, &id).await?));
    }
    get_one(State(state), SecretKey(project), Path(id)).await
}

async fn remove(
    State(state): State<AppState>,
    SecretKey(project): SecretKey,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let c = fetch(&state, &project.id, &id).await?;
    if !campaigns::delete(&state.db, &project.id, &id).await? {
        return Err(ApiError::Conflict(format!(
            "campaign {} is {}: cancel it before deleting it",
            c.id, c.status
        )));
    }
    Ok(Json(json!({ "success": true })))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct SendBody {
    scheduled_at: Option<String>,
}

/// `POST /send` with no body sends now; `{"scheduledAt": "<RFC 3339>"}` later.
async fn send(
    State(state): State<AppState>,
    SecretKey(project): SecretKey,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let req: SendBody = if body.iter().all(u8::is_ascii_whitespace) {
        SendBody::default()
    } else {
        parse_json(&body)?
    };
    let at = match req.scheduled_at {
        Some(t) => crate::time::parse(&t).ok_or_else(|| {
            ApiError::invalid(
                "scheduledAt",
                format!("{t:?} is not an RFC 3339 time like 2026-01-31T09:00:00Z"),
            )
        })?,
        None => store::now_ms(),
    };
    let c = fetch(&state, &project.id, &id).await?;
    // The subject and body must render before anything goes out.
    let content = Content {
        subject: c.subject.clone(),
        body: c.body.clone(),
        kind: BodyType::Html,
    };
    let links = crate::links::for_send(&project, Some(&c));
    crate::render::Prepared::new(&content, false, &state.tracking.rewrite, &links)
        .render(&Map::new(), None)?;
    // The engine must be able to send it as the mode decides (see `campaigns::fan_out`).
    sending::decide(
        &state,
        &project.tracking_mode,
        SourceType::Campaign,
        None,
        Some(crate::campaigns::kind(&c)),
        None,
    )?;
    if !campaigns::transition(
        &state.db,
        &project.id,
        &id,
        &["DRAFT"],
        "SCHEDULED",
        Some(at),
    )
    .await?
    {
        return Err(not_draft(&c));
    }
    get_one(State(state), SecretKey(project), Path(id)).await
}

async fn cancel(
    State(state): State<AppState>,
    SecretKey(project): SecretKey,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let c = fetch(&state, &project.id, &id).await?;
    if !campaigns::transition(
        &state.db,
        &project.id,
        &id,
        &["SCHEDULED", "SENDING"],
        "CANCELLED",
        None,
    )
    .await?
    {
        return Err(ApiError::Conflict(format!(
            "campaign {} is {}; only a SCHEDULED or SENDING one can be cancelled",
            c.id, c.status
        )));
    }
    get_one(State(state), SecretKey(project), Path(id)).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TestBody {
    to: String,
}

/// A test send: the campaign's content to one address, never tracked and never counted in the
/// campaign (it carries no campaign id).
async fn test_send(
    State(state): State<AppState>,
    SecretKey(project): SecretKey,
    Path(id): Path<String>,
    Body(req): Body<TestBody>,
) -> ApiResult<Json<Value>> {
    let to = EmailAddress::parse(&req.to).map_err(|e| ApiError::invalid("to", e.to_string()))?;
    let c = fetch(&state, &project.id, &id).await?;
    let sender = crate::campaigns::sender(&c).map_err(ApiError::Internal)?;
    let content = Content {
        subject: format!("[Test] {}", c.subject),
        body: c.body.clone(),
        kind: BodyType::Html,
    };
    let (vars, headers) = (Map::new(), Default::default());
    let compose = Compose {
        content: &content,
        vars: &vars,
        source: SourceType::Campaign,
        template: None,
        campaign: None,
        sender: &sender,
        headers: &headers,
        attachments: "[]",
        tracking: sending::untracked(&state, "a test send")?,
        unsubscribe: crate::campaigns::kind(&c) == CampaignType::Marketing,
        links: crate::links::for_send(&project, Some(&c)),
        due_at: store::now_ms(),
    };
    let mut tx = state.db.begin().await?;
    let (contact, _) = contacts::upsert(
        &mut tx,
        &project.id,
        to.as_str(),
        &contacts::Changes::default(),
        false,
    )
    .await?;
    let email = sending::queue(&mut tx, &state, &contact, None, &compose).await?;
    tx.commit().await?;
    state.queue_wake.notify_waiters();
    Ok(Json(
        json!({ "success": true, "data": { "email": email.id, "contact": contact.id } }),
    ))
}

/// Used by the statistics endpoint.
pub(super) async fn scope_of(state: &AppState, project_id: &str, id: &str) -> ApiResult<Campaign> {
    fetch(state, project_id, id).await
}
