//! Campaigns: drafting, sending now or later, cancelling, test sends and deletion — the rules
//! `/v1/campaigns` and the dashboard's campaign pages share. The fan-out runs in
//! `crate::campaigns`.

use beacon_tracking::policy::{CampaignType, SourceType};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::actions::check_name;
use crate::actions::templates::{check_body, check_subject};
use crate::campaigns::audience::AudienceSpec;
use crate::domain::{EmailAddress, Mailbox, MailboxInput};
use crate::error::{ApiError, ApiResult};
use crate::render::{BodyType, Content};
use crate::sending::{self, Compose};
use crate::startup::AppState;
use crate::store::campaigns::{self, Campaign};
use crate::store::projects::Project;
use crate::store::{self, Db, contacts};

/// A campaign's fields as a change gives them; `None` leaves one as it is. The API reads them
/// from JSON (camelCase), the dashboard from its form.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[schema(as = CampaignFields)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Fields {
    pub name: Option<String>,
    pub subject: Option<String>,
    pub body: Option<String>,
    pub from: Option<MailboxInput>,
    pub from_name: Option<String>,
    pub reply_to: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// `{"all": true}`, `{"segmentId": "…"}` or `{"condition": …}` (a segment's condition).
    #[schema(value_type = Option<Object>)]
    pub audience: Option<Value>,
    /// Changes to the project's campaign parameters (`crate::links`); `null` for none.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Object>)]
    pub utm: Option<Value>,
}

/// A field given as `null` is `Some(Value::Null)`, told apart from one left out (`None`).
pub(crate) fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

/// Applies and checks `f` on `c`; every field is checked before anything is stored.
async fn apply(db: &Db, c: &mut Campaign, f: Fields) -> ApiResult<()> {
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
        c.reply_to = if reply.trim().is_empty() {
            None
        } else {
            let r = EmailAddress::parse(&reply)
                .map_err(|e| ApiError::invalid("replyTo", e.to_string()))?;
            Some(r.into_string())
        };
    }
    if let Some(kind) = f.kind {
        let k: CampaignType = kind
            .parse()
            .map_err(|e| ApiError::invalid("type", format!("{e}")))?;
        c.kind = k.as_str().to_string();
    }
    if let Some(audience) = f.audience {
        match AudienceSpec::parse(&audience)? {
            AudienceSpec::Segment { segment_id } => {
                if store::segments::get(db, &c.project_id, &segment_id)
                    .await?
                    .is_none()
                {
                    return Err(ApiError::invalid(
                        "audience",
                        format!("no segment with id {segment_id:?} in this project"),
                    ));
                }
            }
            AudienceSpec::Filter { condition } => {
                crate::segments::Condition::parse_at(&condition, "audience.condition")?
                    .check_refs(db, &c.project_id)
                    .await?;
            }
            AudienceSpec::All { .. } => {}
        }
        c.audience = audience.to_string();
    }
    if let Some(utm) = f.utm {
        c.utm = crate::links::parse_campaign_changes(&utm)?;
    }
    Ok(())
}

/// A new DRAFT; name, subject, body, from and audience are required.
pub async fn create(db: &Db, project_id: &str, f: Fields) -> ApiResult<Campaign> {
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
        project_id: project_id.to_string(),
        kind: "MARKETING".into(),
        status: "DRAFT".into(),
        created_at: now,
        updated_at: now,
        ..Campaign::default()
    };
    apply(db, &mut c, f).await?;
    campaigns::insert(db, &c).await?;
    Ok(c)
}

/// The project's campaign, or a 404.
pub async fn fetch(db: &Db, project_id: &str, id: &str) -> ApiResult<Campaign> {
    campaigns::get(db, project_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("campaign", id))
}

fn not_draft(c: &Campaign) -> ApiError {
    ApiError::Conflict(format!(
        "campaign {} is {}; only a DRAFT can be changed or sent",
        c.id, c.status
    ))
}

/// Changes a DRAFT (409 otherwise).
pub async fn update(db: &Db, project_id: &str, id: &str, f: Fields) -> ApiResult<Campaign> {
    let mut c = fetch(db, project_id, id).await?;
    if c.status != "DRAFT" {
        return Err(not_draft(&c));
    }
    apply(db, &mut c, f).await?;
    if !campaigns::update_draft(db, &c).await? {
        return Err(not_draft(&fetch(db, project_id, id).await?));
    }
    fetch(db, project_id, id).await
}

/// Deletes a campaign that is not going out (a SCHEDULED or SENDING one is a 409: cancel it
/// first). Its emails stay.
pub async fn delete(db: &Db, project_id: &str, id: &str) -> ApiResult<()> {
    let c = fetch(db, project_id, id).await?;
    if !campaigns::delete(db, project_id, id).await? {
        return Err(ApiError::Conflict(format!(
            "campaign {} is {}: cancel it before deleting it",
            c.id, c.status
        )));
    }
    Ok(())
}

/// Whether the campaign's emails will be tracked under the project's mode, in words for the
/// person about to send it. `Err` when the engine cannot send it as the mode decides.
pub fn tracking_note(state: &AppState, project: &Project, c: &Campaign) -> ApiResult<String> {
    let kind = crate::campaigns::kind(c);
    let decision = sending::decide(
        state,
        &project.tracking_mode,
        SourceType::Campaign,
        None,
        Some(kind),
        None,
    )?;
    Ok(match (decision.tracked, project.tracking_mode.as_str()) {
        (true, _) => "tracked: opens and clicks will be recorded".to_string(),
        (false, "MARKETING_ONLY") => format!(
            "untracked: {} campaigns are not tracked in Marketing-only mode",
            kind.as_str()
        ),
        (false, _) => "untracked: the project's tracking mode is Disabled".to_string(),
    })
}

/// Sends the DRAFT now (`at` = `None`) or at `at` (epoch ms): its subject and body must render
/// and the engine must be able to send it as the mode decides; 409 unless it is a DRAFT.
pub async fn schedule(
    state: &AppState,
    project: &Project,
    id: &str,
    at: Option<i64>,
) -> ApiResult<Campaign> {
    let c = fetch(&state.db, &project.id, id).await?;
    let content = Content {
        subject: c.subject.clone(),
        body: c.body.clone(),
        kind: BodyType::Html,
    };
    let links = crate::links::for_send(project, Some(&c));
    crate::render::Prepared::new(&content, false, &state.tracking.rewrite, &links)
        .render(&Map::new(), None)?;
    tracking_note(state, project, &c)?;
    let at = at.unwrap_or_else(store::now_ms);
    let moved = campaigns::transition(
        &state.db,
        &project.id,
        id,
        &["DRAFT"],
        "SCHEDULED",
        Some(at),
    )
    .await?;
    if !moved {
        return Err(not_draft(&c));
    }
    fetch(&state.db, &project.id, id).await
}

/// Stops a SCHEDULED or SENDING campaign: what is not yet queued stays unsent.
pub async fn cancel(db: &Db, project_id: &str, id: &str) -> ApiResult<Campaign> {
    let c = fetch(db, project_id, id).await?;
    let moved = campaigns::transition(
        db,
        project_id,
        id,
        &["SCHEDULED", "SENDING"],
        "CANCELLED",
        None,
    )
    .await?;
    if !moved {
        return Err(ApiError::Conflict(format!(
            "campaign {} is {}; only a SCHEDULED or SENDING one can be cancelled",
            c.id, c.status
        )));
    }
    fetch(db, project_id, id).await
}

/// A test send: the campaign's content to one address, never tracked and never counted in the
/// campaign (it carries no campaign id). Returns the email's and the contact's ids.
pub async fn test_send(
    state: &AppState,
    project: &Project,
    id: &str,
    to: &str,
) -> ApiResult<(String, String)> {
    let to = EmailAddress::parse(to).map_err(|e| ApiError::invalid("to", e.to_string()))?;
    let c = fetch(&state.db, &project.id, id).await?;
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
        attachment_set: None,
        // One email: nothing to share a dictionary with.
        shared: false,
        tracking: sending::untracked(state, "a test send")?,
        unsubscribe: crate::campaigns::kind(&c) == CampaignType::Marketing,
        links: crate::links::for_send(project, Some(&c)),
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
    let email = sending::queue(&mut tx, state, &contact, None, &compose).await?;
    tx.commit().await?;
    state.queue_wake.notify_waiters();
    Ok((email.id, contact.id))
}

/// How many contacts the campaign would go to if it went out now: its audience, and for a
/// MARKETING campaign only the subscribed ones (as the fan-out does).
pub async fn audience_size(db: &Db, c: &Campaign) -> ApiResult<i64> {
    let spec: Value = serde_json::from_str(&c.audience).unwrap_or(Value::Null);
    let marketing = crate::campaigns::kind(c) == CampaignType::Marketing;
    let mut parts = Vec::new();
    if let Ok(AudienceSpec::Filter { condition }) = AudienceSpec::parse(&spec) {
        parts.push(condition);
    }
    if let Ok(AudienceSpec::Segment { segment_id }) = AudienceSpec::parse(&spec) {
        let segment = store::segments::get(db, &c.project_id, &segment_id)
            .await?
            .ok_or_else(|| {
                ApiError::invalid("audience", format!("segment {segment_id} no longer exists"))
            })?;
        parts.push(serde_json::from_str::<Value>(&segment.condition).unwrap_or(Value::Null));
    }
    if marketing {
        parts.push(json!({ "field": "subscribed", "op": "equals", "value": true }));
    }
    if parts.is_empty() {
        return Ok(contacts::count(db, &c.project_id).await?);
    }
    let cond = crate::segments::Condition::parse(&json!({ "all": parts }))?;
    Ok(crate::segments::count(db, &c.project_id, &cond).await?)
}
