//! `POST /v1/send`: Plunk's transactional send. Each recipient becomes a contact (created when
//! new) and one queued email; everything is written in one transaction or not at all.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use utoipa::ToSchema;

use super::extract::{RawJson, SecretKey, parse_json};
use super::schema::Data;
use crate::domain::{EmailAddress, Mailbox, MailboxInput};
use crate::error::ErrorBody;
use crate::error::{ApiError, ApiResult};
use crate::render::{self, BodyType, Content};
use crate::sending::{self, Compose, Sender};
use crate::startup::AppState;
use crate::store::{self, contacts, idempotency, templates};
use beacon_tracking::policy::SourceType;

pub fn routes() -> Router<AppState> {
    Router::new().route("/v1/send", post(send))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(untagged)]
enum OneOrMany<T> {
    One(T),
    Many(Vec<T>),
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct Attachment {
    filename: String,
    /// Base64 of the file's bytes.
    content: String,
    #[serde(rename = "contentType", alias = "content_type", alias = "type")]
    content_type: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct SendBody {
    /// 1 to 50 recipients: an address, `{name?, email}`, or an array of those.
    to: OneOrMany<MailboxInput>,
    subject: Option<String>,
    body: Option<String>,
    template: Option<String>,
    from: Option<MailboxInput>,
    /// Sender display name (Plunk's `name`).
    name: Option<String>,
    reply: Option<String>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(default)]
    #[schema(value_type = Object)]
    data: Map<String, Value>,
    subscribed: Option<bool>,
    #[serde(rename = "type")]
    kind: Option<BodyType>,
    #[serde(default)]
    attachments: Vec<Attachment>,
    /// Per-send tracking override (`false`: never track this send, `true`: always).
    tracking: Option<bool>,
}

const MAX_RECIPIENTS: usize = 50;

/// Who an email went to.
#[derive(Debug, Serialize, ToSchema)]
struct SentTo {
    id: String,
    email: String,
}

/// One recipient's queued email.
#[derive(Debug, Serialize, ToSchema)]
struct Sent {
    contact: SentTo,
    /// The email's id, for `GET /v1/emails/{id}`.
    email: String,
}

/// `POST /v1/send`'s answer: one item per recipient, in the order of `to`.
#[derive(Debug, Serialize, ToSchema)]
struct SendAnswer {
    emails: Vec<Sent>,
    #[schema(format = DateTime)]
    timestamp: String,
}

/// Plunk's transactional send: one email per recipient, queued in one transaction.
#[utoipa::path(post, path = "/v1/send", tag = "Sending", request_body = SendBody,
    params(("Idempotency-Key" = Option<String>, Header,
        description = "1-255 visible ASCII characters; a retry of the same request gets the same answer")),
    responses((status = 200, description = "Queued", body = Data<SendAnswer>),
        (status = "default", description = "An error", body = ErrorBody)))]
#[tracing::instrument(skip_all, fields(project = %project.id))]
async fn send(
    State(state): State<AppState>,
    SecretKey(project): SecretKey,
    headers: HeaderMap,
    body: RawJson<SendBody>,
) -> ApiResult<Json<Value>> {
    let idempotency_key = idempotency_key(&headers)?;
    let request_hash = idempotency::request_hash(&parse_json::<Value>(&body.bytes)?);
    if let Some(key) = &idempotency_key
        && let Some(answer) = replay(&state, &project.id, key, &request_hash, &body.bytes).await?
    {
        return Ok(Json(answer));
    }
    let (req, body_bytes) = (body.value, body.bytes);

    let recipients: Vec<Mailbox> = match &req.to {
        OneOrMany::One(m) => vec![m],
        OneOrMany::Many(ms) => ms.iter().collect(),
    }
    .into_iter()
    .map(|m| Mailbox::parse(m).map_err(|e| ApiError::invalid("to", e.to_string())))
    .collect::<Result<_, _>>()?;
    if recipients.is_empty() || recipients.len() > MAX_RECIPIENTS {
        return Err(ApiError::invalid(
            "to",
            format!("give 1 to {MAX_RECIPIENTS} recipients"),
        ));
    }
    let from = match &req.from {
        Some(f) => Mailbox::parse(f).map_err(|e| ApiError::invalid("from", e.to_string()))?,
        None => Mailbox {
            name: None,
            email: EmailAddress::parse(&state.settings.default_from)
                .map_err(|e| ApiError::Internal(anyhow::anyhow!("BEACON_DEFAULT_FROM: {e}")))?,
        },
    };
    let from_name = req
        .name
        .clone()
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty())
        .or(from.name.clone());
    if from_name
        .as_deref()
        .is_some_and(|n| n.chars().any(char::is_control))
    {
        return Err(ApiError::invalid(
            "name",
            "the sender name may not hold control characters",
        ));
    }
    let reply_to = req
        .reply
        .as_deref()
        .map(|r| EmailAddress::parse(r).map_err(|e| ApiError::invalid("reply", e.to_string())))
        .transpose()?;
    render::check_headers(&req.headers)?;
    if let Some(name) = req
        .headers
        .keys()
        .find(|n| state.settings.tracking_engine.owns_header(n))
    {
        return Err(ApiError::invalid(
            &format!("headers.{name}"),
            "with the provider tracking engine Beacon sets this header from the tracking \
             decision; use `tracking` to choose",
        ));
    }
    let attachments = check_attachments(&req.attachments)?;
    // Stored once for every recipient of the request.
    let attachment_set = (!req.attachments.is_empty()).then(store::new_id);

    let template = match &req.template {
        Some(id) => Some(
            templates::get(&state.db, &project.id, id)
                .await?
                .ok_or_else(|| {
                    ApiError::invalid(
                        "template",
                        format!("no template with id {id:?} in this project"),
                    )
                })?,
        ),
        None => None,
    };
    let content = match (&template, &req.subject, &req.body) {
        (Some(t), subject, body) => Content {
            subject: subject.clone().unwrap_or_else(|| t.subject.clone()),
            body: body.clone().unwrap_or_else(|| t.body.clone()),
            kind: req.kind.unwrap_or(BodyType::Html),
        },
        (None, Some(subject), Some(body)) => Content {
            subject: subject.clone(),
            body: body.clone(),
            kind: req.kind.unwrap_or(BodyType::Html),
        },
        (None, None, _) => {
            return Err(ApiError::invalid(
                "subject",
                "give `subject` and `body`, or a `template` id",
            ));
        }
        (None, _, None) => {
            return Err(ApiError::invalid(
                "body",
                "give `subject` and `body`, or a `template` id",
            ));
        }
    };
    if content.subject.trim().is_empty() {
        return Err(ApiError::invalid("subject", "the subject is empty"));
    }
    let template_kind = template.as_ref().map(|t| t.kind.as_str());
    let tracking = sending::decide(
        &state,
        &project.tracking_mode,
        SourceType::Transactional,
        template.as_ref(),
        None,
        req.tracking,
    )?;
    let sender = Sender {
        from: Mailbox {
            name: from_name,
            email: from.email,
        },
        reply_to,
    };
    let compose = Compose {
        content: &content,
        vars: &req.data,
        source: SourceType::Transactional,
        template: template.as_ref(),
        campaign: None,
        sender: &sender,
        headers: &req.headers,
        attachment_set: attachment_set.as_deref(),
        // Siblings: the recipients of this request, or every send of the template.
        shared: template.is_some() || recipients.len() > 1,
        tracking,
        // Marketing content gets its unsubscribe link and headers on this path too.
        unsubscribe: matches!(template_kind, Some("MARKETING" | "HEADLESS")),
        links: crate::links::for_send(&project, None),
        due_at: store::now_ms(),
    };

    let prepared = sending::prepare(&state, &project.id, &compose)?;
    let mut tx = state.db.begin().await?;
    sending::store_dictionary(&mut tx, &prepared).await?;
    if let Some(id) = &attachment_set {
        store::attachments::insert(&mut tx, id, &project.id, &attachments).await?;
    }
    let mut answers = Vec::with_capacity(recipients.len());
    let changes = contacts::Changes {
        subscribed: req.subscribed,
        data: None,
    };
    for to in &recipients {
        let (contact, _) =
            contacts::upsert(&mut tx, &project.id, to.email.as_str(), &changes, false).await?;
        if template_kind == Some("MARKETING") && contact.subscribed == 0 {
            return Err(ApiError::invalid(
                "template",
                format!(
                    "{} is unsubscribed, and MARKETING templates only go to subscribed contacts",
                    to.email
                ),
            ));
        }
        let email = sending::queue_prepared(
            &mut tx,
            &state,
            &contact,
            to.name.clone(),
            &compose,
            &prepared,
        )
        .await?;
        answers.push(Sent {
            contact: SentTo {
                id: contact.id,
                email: contact.email,
            },
            email: email.id,
        });
    }
    let answer = serde_json::to_value(Data {
        success: true,
        data: SendAnswer {
            emails: answers,
            timestamp: crate::time::iso(store::now_ms()),
        },
    })
    .map_err(anyhow::Error::from)?;
    if let Some(key) = &idempotency_key
        && let Err(e) = idempotency::remember(
            &mut tx,
            &project.id,
            key,
            &request_hash,
            &answer.to_string(),
        )
        .await
    {
        drop(tx);
        // A concurrent twin with the same key won the race: answer what it answered.
        if store::is_unique_violation(&e)
            && let Some(answer) =
                replay(&state, &project.id, key, &request_hash, &body_bytes).await?
        {
            return Ok(Json(answer));
        }
        return Err(e.into());
    }
    tx.commit().await?;
    state.queue_wake.notify_waiters();
    Ok(Json(answer))
}

fn idempotency_key(headers: &HeaderMap) -> ApiResult<Option<String>> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|k| !k.is_empty() && k.len() <= 255)
        .ok_or_else(|| {
            ApiError::bad_request(
                "Idempotency-Key",
                "Idempotency-Key must be 1 to 255 visible ASCII characters",
            )
        })?;
    Ok(Some(key.to_string()))
}

/// The stored answer for a key already used with the same request; a different one is a 409.
/// Answers stored before requests were compared parsed hold the hash of the raw bytes, which
/// still matches a byte-identical retry.
async fn replay(
    state: &AppState,
    project_id: &str,
    key: &str,
    hash: &str,
    raw: &[u8],
) -> ApiResult<Option<Value>> {
    match idempotency::find(&state.db, project_id, key).await? {
        None => Ok(None),
        Some(r) if r.request_hash == hash || r.request_hash == idempotency::raw_hash(raw) => Ok(
            Some(serde_json::from_str(&r.response).map_err(anyhow::Error::from)?),
        ),
        Some(_) => Err(ApiError::Conflict(format!(
            "Idempotency-Key {key:?} was already used with a different request body"
        ))),
    }
}

/// Decodes each attachment once to prove it is valid; stores them as given.
fn check_attachments(list: &[Attachment]) -> ApiResult<String> {
    use base64::Engine;
    let mut stored = Vec::with_capacity(list.len());
    for (i, a) in list.iter().enumerate() {
        let field = format!("attachments[{i}]");
        if a.filename.trim().is_empty()
            || a.filename
                .chars()
                .any(|c| c.is_control() || c == '/' || c == '\\')
        {
            return Err(ApiError::invalid(
                &field,
                "filename must be a plain file name",
            ));
        }
        base64::engine::general_purpose::STANDARD
            .decode(a.content.trim())
            .map_err(|e| ApiError::invalid(&field, format!("content is not valid base64: {e}")))?;
        let content_type = a
            .content_type
            .clone()
            .unwrap_or_else(|| "application/octet-stream".into());
        if !content_type.contains('/')
            || content_type
                .chars()
                .any(|c| c.is_control() || c.is_whitespace())
        {
            return Err(ApiError::invalid(
                &field,
                "contentType must be a MIME type like application/pdf",
            ));
        }
        stored.push(json!({ "filename": a.filename, "content": a.content.trim(), "contentType": content_type }));
    }
    Ok(Value::Array(stored).to_string())
}
