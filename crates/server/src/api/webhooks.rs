//! `POST /webhooks/sns`: Amazon SNS notifications carrying SES events (see `crate::ses`).
//!
//! SNS posts JSON as `text/plain`, so the body is read raw. Answers: 200 once the message is
//! handled (or was already); 4xx for what must never be retried — malformed, unknown topic,
//! certificate URL off the allowed host, bad signature — with nothing recorded; 5xx for what a
//! retry can fix (an email not stored yet, Amazon unreachable, a store error), which SNS retries.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;

use crate::error::ApiError;
use crate::ses::events::{self, EventError, Outcome};
use crate::ses::sns::{Kind, Rejected};
use crate::startup::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/webhooks/sns", post(sns))
}

/// What `POST /webhooks/sns` answers once a message is handled: the Beacon event applied
/// (`email.open`, …), `ignored`, `duplicate`, `subscription confirmed` or `noted`.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct SnsResult {
    pub result: String,
}

/// Amazon SNS notifications of SES events; the message's signature is the authentication.
#[utoipa::path(post, path = "/webhooks/sns", tag = "Amazon SES events", security(()),
    request_body(content = String, content_type = "text/plain",
        description = "An SNS message (JSON, sent as text/plain), at most 512 KiB"),
    responses((status = 200, description = "Handled, or handled before", body = crate::api::schema::Data<SnsResult>),
        (status = "default", description = "Refused (4xx) or to be retried (5xx)", body = crate::error::ErrorBody)))]
#[tracing::instrument(skip_all)]
async fn sns(State(state): State<AppState>, body: Bytes) -> Response {
    let msg = match state.sns.verify(&body).await {
        Ok(m) => m,
        Err(e) => return rejected(e),
    };
    tracing::debug!(sns = %msg.message_id, kind = ?msg.kind, "SNS message verified");
    match msg.kind {
        Kind::SubscriptionConfirmation => match state.sns.confirm(&msg).await {
            Ok(()) => {
                tracing::info!(topic = %msg.topic_arn, "SNS subscription confirmed");
                ok("subscription confirmed")
            }
            Err(e) => rejected(e),
        },
        Kind::UnsubscribeConfirmation => {
            tracing::warn!(topic = %msg.topic_arn, "SNS says this endpoint was unsubscribed");
            ok("noted")
        }
        Kind::Notification => match events::handle(&state, &msg).await {
            Ok(Outcome::Applied(name)) => ok(name),
            Ok(Outcome::Ignored) => ok("ignored"),
            Ok(Outcome::Duplicate) => ok("duplicate"),
            Err(EventError::Malformed(m)) => fail(StatusCode::BAD_REQUEST, &m),
            Err(e @ EventError::NotYetStored(_)) => {
                tracing::info!(error = %e, "SES event before its email is stored; SNS will retry");
                fail(StatusCode::SERVICE_UNAVAILABLE, &e.to_string())
            }
            Err(EventError::Store(e)) => ApiError::from(e).into_response(),
        },
    }
}

fn ok(result: &str) -> Response {
    (
        StatusCode::OK,
        crate::api::schema::ok(SnsResult {
            result: result.to_string(),
        }),
    )
        .into_response()
}

fn rejected(e: Rejected) -> Response {
    let status = match &e {
        Rejected::Malformed(_) => StatusCode::BAD_REQUEST,
        Rejected::UnknownTopic(_)
        | Rejected::Url(_)
        | Rejected::Certificate(_)
        | Rejected::BadSignature => StatusCode::FORBIDDEN,
        Rejected::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
    };
    tracing::warn!(error = %e, status = status.as_u16(), "SNS message refused");
    fail(status, &e.to_string())
}

/// The API's error shape (`crate::error`), for statuses `ApiError` has no variant for.
fn fail(status: StatusCode, message: &str) -> Response {
    let body = crate::error::ErrorBody {
        success: false,
        code: status.as_u16(),
        error: status.canonical_reason().unwrap_or("Error").to_string(),
        message: message.to_string(),
        field: None,
    };
    (status, axum::Json(body)).into_response()
}
