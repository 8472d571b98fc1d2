//! `POST /v1/track`: a custom event on a contact (created when new). Accepts the public key,
//! so it can be called from a browser.

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::extract::{AnyKey, Json as Body};
use crate::domain::EmailAddress;
use crate::error::{ApiError, ApiResult};
use crate::startup::AppState;
use crate::store::{self, contacts, events};

pub fn routes() -> Router<AppState> {
    Router::new().route("/v1/track", post(track))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TrackBody {
    event: String,
    email: String,
    subscribed: Option<bool>,
    #[serde(default)]
    data: Map<String, Value>,
}

/// Names Beacon records itself; a client may not forge them.
const RESERVED_PREFIXES: [&str; 3] = ["email.", "contact.", "segment."];

#[tracing::instrument(skip_all, fields(project = %project.id))]
async fn track(
    State(state): State<AppState>,
    AnyKey(project): AnyKey,
    Body(req): Body<TrackBody>,
) -> ApiResult<Json<Value>> {
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
    Ok(Json(json!({
        "success": true,
        "data": { "contact": contact.id, "event": event.id, "timestamp": crate::time::iso(store::now_ms()) },
    })))
}
