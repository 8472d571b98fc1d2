//! One error type for every handler: 4xx say what is wrong and how to fix it, 5xx log the
//! whole cause chain and answer opaquely.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the request is malformed (bad JSON, a field of the wrong shape).
    #[error("{message}")]
    BadRequest {
        message: String,
        field: Option<String>,
    },
    /// 401: no key, an unknown key, or a public key where a secret one is needed.
    #[error("{0}")]
    Unauthorized(String),
    /// 404: nothing with that id in this project (another project's ids are not found either).
    #[error("{0}")]
    NotFound(String),
    /// 405: a known path, another method.
    #[error("{0}")]
    MethodNotAllowed(String),
    /// 409: the request conflicts with the current state.
    #[error("{0}")]
    Conflict(String),
    /// 413: the body is over the configured limit.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// 429: too many attempts; try again after `retry_after_secs` (sent as `Retry-After`).
    #[error("{message}")]
    TooManyRequests {
        message: String,
        retry_after_secs: u64,
    },
    /// 422: well-formed but not acceptable (invalid address, unknown template, …).
    #[error("{message}")]
    Unprocessable {
        message: String,
        field: Option<String>,
    },
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    pub fn bad_request(field: &str, message: impl Into<String>) -> Self {
        ApiError::BadRequest {
            message: message.into(),
            field: Some(field.to_string()),
        }
    }

    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        ApiError::Unprocessable {
            message: message.into(),
            field: Some(field.to_string()),
        }
    }

    /// The field a 4xx is about, if it names one.
    pub fn field(&self) -> Option<&str> {
        match self {
            ApiError::BadRequest { field, .. } | ApiError::Unprocessable { field, .. } => {
                field.as_deref()
            }
            _ => None,
        }
    }

    pub fn not_found(what: &str, id: &str) -> Self {
        ApiError::NotFound(format!("no {what} with id {id:?} in this project"))
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        ApiError::Internal(e.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let (message, field) = match &self {
            ApiError::Internal(cause) => {
                tracing::error!(error = format!("{cause:#}"), "request failed");
                (
                    "internal error; the cause is in the server log".to_string(),
                    None,
                )
            }
            ApiError::BadRequest { message, field }
            | ApiError::Unprocessable { message, field } => (message.clone(), field.clone()),
            other => (other.to_string(), None),
        };
        let body = ErrorBody {
            success: false,
            code: status.as_u16(),
            error: status.canonical_reason().unwrap_or("Error").to_string(),
            message,
            field,
        };
        let mut response = (status, Json(body)).into_response();
        if let ApiError::TooManyRequests {
            retry_after_secs, ..
        } = &self
        {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(*retry_after_secs),
            );
        }
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// Every error's answer. `message` at the top level is where Plunk's SDKs look for the reason.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// Always `false`.
    pub success: bool,
    /// The HTTP status.
    pub code: u16,
    /// The status's standard reason phrase, e.g. `Unprocessable Entity`.
    pub error: String,
    /// What is wrong and, usually, how to fix it.
    pub message: String,
    /// The offending input (`to`, `headers.Subject`, `attachments[0]`, `limit`, …), or `null`.
    pub field: Option<String>,
}
