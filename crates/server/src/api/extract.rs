//! Request extractors that turn every bad input into an [`ApiError`] saying what is wrong.

use axum::extract::rejection::QueryRejection;
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::startup::AppState;
use crate::store::projects::{self, Project};

/// JSON body; malformed JSON, a wrong field type or an over-size body become clear 4xx.
pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let raw = RawJson::<T>::from_request(req, state).await?;
        Ok(Json(raw.value))
    }
}

/// Query string; bad values become 400 naming the parameter.
pub struct QueryParams<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for QueryParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(v)| QueryParams(v))
            .map_err(|e: QueryRejection| ApiError::BadRequest {
                message: e.body_text(),
                field: None,
            })
    }
}

/// A project authenticated by its secret key (`Authorization: Bearer sk_…`).
pub struct SecretKey(pub Project);

/// A project authenticated by either key; only `/v1/track` accepts the public one.
pub struct AnyKey(pub Project);

async fn authenticate(parts: &Parts, state: &AppState) -> Result<(Project, bool), ApiError> {
    let header = parts
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .ok_or_else(|| {
            ApiError::Unauthorized("missing `Authorization: Bearer <key>` header".into())
        })?;
    let token = header
        .to_str()
        .ok()
        .and_then(|h| {
            h.strip_prefix("Bearer ")
                .or_else(|| h.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            ApiError::Unauthorized("the Authorization header must be `Bearer <key>`".into())
        })?;
    if token.starts_with("pk_") {
        // Counted before the look-up, so a flood (with real keys or made-up ones) stops here.
        let client = crate::tracking::client_of(parts, state.settings.trust_forwarded_for);
        let key = token.get(..64).unwrap_or(token);
        if let Err(secs) = state.public_key_limits.check(key, client) {
            return Err(ApiError::TooManyRequests {
                message: format!(
                    "too many requests with this public key or from this address; retry in \
                     {secs} s (BEACON_PUBLIC_KEY_RATE, BEACON_PUBLIC_KEY_CLIENT_RATE)"
                ),
                retry_after_secs: secs,
            });
        }
    }
    projects::by_key(&state.db, token)
        .await?
        .ok_or_else(|| ApiError::Unauthorized("unknown API key".into()))
}

impl FromRequestParts<AppState> for SecretKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match authenticate(parts, state).await? {
            (project, true) => Ok(SecretKey(project)),
            (_, false) => Err(ApiError::Unauthorized(
                "this endpoint needs the secret key (sk_…); the public key only works for /v1/track, \
                 /v1/contacts/subscribe, /v1/contacts/unsubscribe and /v1/contacts/count"
                    .into(),
            )),
        }
    }
}

impl FromRequestParts<AppState> for AnyKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        Ok(AnyKey(authenticate(parts, state).await?.0))
    }
}

/// JSON body kept with its raw bytes (for `Idempotency-Key`, which must tell a retried request
/// from a different one under the same key).
pub struct RawJson<T> {
    pub value: T,
    pub bytes: axum::body::Bytes,
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for RawJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| {
                if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::PayloadTooLarge(
                        "request body is over the size limit (BEACON_MAX_BODY_BYTES)".into(),
                    )
                } else {
                    ApiError::BadRequest {
                        message: e.body_text(),
                        field: None,
                    }
                }
            })?;
        let value = parse_json(&bytes)?;
        Ok(RawJson { value, bytes })
    }
}

/// Parses JSON with serde's own words for what is wrong (they name the field and the line).
/// Every request body is an object: serde would also read a struct from an array of its
/// fields in order (`[null, null]`), which the API does not offer, so an array is refused.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
        return Err(ApiError::Unprocessable {
            message: "the body must be a JSON object, not an array".into(),
            field: None,
        });
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    match serde_path_to_error::deserialize(&mut de) {
        Ok(v) => Ok(v),
        Err(err) => {
            let path = err.path().to_string();
            let inner = err.into_inner();
            let field = (path != ".").then_some(path);
            if inner.is_syntax() || inner.is_eof() {
                Err(ApiError::BadRequest {
                    message: format!("body is not valid JSON: {inner}"),
                    field: None,
                })
            } else {
                let message = match &field {
                    Some(f) => format!("{f}: {inner}"),
                    None => inner.to_string(),
                };
                // serde's path stops at the object that lacks a field; the field is the one
                // to name ("missing field `to`" at the top is `to`, inside `trigger` it is
                // `trigger.event`).
                let missing = inner
                    .to_string()
                    .strip_prefix("missing field `")
                    .and_then(|rest| rest.split('`').next().map(str::to_string));
                let field = match (missing, field) {
                    (Some(m), Some(f)) => Some(format!("{f}.{m}")),
                    (Some(m), None) => Some(m),
                    (None, f) => f,
                };
                Err(ApiError::Unprocessable { message, field })
            }
        }
    }
}
