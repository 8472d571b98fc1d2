//! `POST /v1/track`: a custom event on a contact (created when new). Accepts the public key,
//! so it can be called from a browser.

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::extract::{AnyKey, Json as Body};
use super::schema::{Data, ok};
use crate::domain::EmailAddress;
use crate::error::ErrorBody;
use crate::error::{ApiError, ApiResult};
use crate::startup::AppState;
use crate::store::{self, contacts, events};

pub fn routes() -> Router<AppState> {
    Router::new().route("/v1/track", post(track))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct TrackBody {
    /// 1 to 100 bytes; names starting with `email.`, `contact.` or `segment.` are Beacon's.
    event: String,
    email: String,
    /// Sets the contact's subscription; a contact created here is subscribed unless `false`.
    subscribed: Option<bool>,
    /// Values go on the event and the contact, `{"value": v, "persistent": false}` on the
    /// event only.
    #[serde(default)]
    #[schema(value_type = Object)]
    data: Map<String, Value>,
}

/// `POST /v1/track`'s answer.
#[derive(Debug, Serialize, ToSchema)]
struct Tracked {
    /// The contact's id.
    contact: String,
    /// The event's id.
    event: String,
    #[schema(format = DateTime)]
    timestamp: String,
}

/// Names Beacon records itself; a client may not forge them.
const RESERVED_PREFIXES: [&str; 3] = ["email.", "contact.", "segment."];

/// Records a custom event on a contact (created when new). Takes the public key too.
#[utoipa::path(post, path = "/v1/track", tag = "Events", request_body = TrackBody,
    security(("secretKey" = []), ("publicKey" = [])),
    responses((status = 200, description = "Recorded", body = Data<Tracked>),
        (status = 429, description = "Public-key rate limit; see `Retry-After`", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = "default", description = "An error", body = ErrorBody)))]
#[tracing::instrument(skip_all, fields(project = %project.id))]
async fn track(
    State(state): State<AppState>,
    AnyKey(project): AnyKey,
    Body(req): Body<TrackBody>,
) -> ApiResult<Json<Data<Tracked>>> {
    let name = req.event.trim();
    if name.is_empty() || name.len() > 100 || name.chars().any(char::is_control) {
        return Err(ApiError::bad_request(
            "event",
            "event must be 1 to 100 printable characters",
        ));
    }
    if RESERVED_PREFIXES
        .iter()
        .any(|p| name.to_ascii_lowercase().starts_with(p))
    {
        return Err(ApiError::bad_request(
            "event",
            format!(
                "{name:?} is reserved: names starting with email., contact. or segment. are Beacon's own"
            ),
        ));
    }
    let email =
        EmailAddress::parse(&req.email).map_err(|e| ApiError::invalid("email", e.to_string()))?;

    // Plunk's data values are plain, or `{"value": …, "persistent": false}` for one that goes
    // on the event only; plain and persistent ones are also kept on the contact.
    let mut event_data = Map::new();
    let mut contact_data = Map::new();
    for (key, value) in req.data {
        match value {
            Value::Object(ref o)
                if o.contains_key("value")
                    && o.keys().all(|k| k == "value" || k == "persistent") =>
            {
                let inner = o["value"].clone();
                if o.get("persistent").and_then(Value::as_bool).unwrap_or(true) {
                    contact_data.insert(key.clone(), inner.clone());
                }
                event_data.insert(key, inner);
            }
            other => {
                contact_data.insert(key.clone(), other.clone());
                event_data.insert(key, other);
            }
        }
    }

    let mut tx = state.db.begin().await?;
    let changes = contacts::Changes {
        subscribed: req.subscribed,
        data: (!contact_data.is_empty()).then_some(contact_data),
    };
    // Plunk: a contact first seen through track is subscribed unless told otherwise.
    let (contact, _) =
        contacts::upsert(&mut tx, &project.id, email.as_str(), &changes, true).await?;
    let event = events::insert(
        &mut tx,
        events::NewEvent {
            project_id: &project.id,
            contact_id: &contact.id,
            email_id: None,
            name,
            data: Value::Object(event_data),
            meta: events::Meta::default(),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(ok(Tracked {
        contact: contact.id,
        event: event.id,
        timestamp: crate::time::iso(store::now_ms()),
    }))
}
