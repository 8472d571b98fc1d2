//! What every page shares: the navigation (`Nav`), field errors of a form (`Errors`), notices
//! after an action, and error pages (`PageError`).

use std::collections::BTreeMap;

use askama::Template;
use askama_web::WebTemplate;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use super::session::Member;
use crate::error::ApiError;

/// The bar above every project page: the project, the user's other projects, the user and the
/// sign-out form (which needs the CSRF token), and which section is open.
pub struct Nav {
    pub user_email: String,
    pub csrf: String,
    pub project_id: String,
    pub project_name: String,
    pub can_manage: bool,
    pub is_owner: bool,
    /// (id, name) of every project of the user.
    pub projects: Vec<(String, String)>,
    pub section: &'static str,
}

impl Nav {
    pub fn new(m: &Member, section: &'static str) -> Nav {
        Nav {
            user_email: m.viewer.0.user.email.clone(),
            csrf: m.viewer.csrf().to_string(),
            project_id: m.project.id.clone(),
            project_name: m.project.name.clone(),
            can_manage: m.role.can_manage(),
            is_owner: m.role == crate::domain::Role::Owner,
            projects: m
                .projects
                .iter()
                .map(|p| (p.project.id.clone(), p.project.name.clone()))
                .collect(),
            section,
        }
    }

    /// `/p/{pid}` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("/p/{}{path}", self.project_id)
    }
}

/// A form's problems: field name → what is wrong with it. `""` is the form as a whole.
#[derive(Debug, Default)]
pub struct Errors(BTreeMap<String, String>);

impl Errors {
    pub fn none() -> Errors {
        Errors::default()
    }

    /// The error an action gave, placed at the field it names (or on the whole form).
    pub fn from_api(e: &ApiError) -> Errors {
        let mut errors = Errors::default();
        errors.add(e.field().unwrap_or(""), &e.to_string());
        errors
    }

    pub fn add(&mut self, field: &str, message: &str) {
        self.0.insert(field.to_string(), message.to_string());
    }

    /// The message for `field`, or "" (templates show it when not empty).
    pub fn get(&self, field: &str) -> &str {
        self.0.get(field).map_or("", String::as_str)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn has(&self, field: &str) -> bool {
        self.0.contains_key(field)
    }

    /// Messages not shown next to one of the form's fields (`fields`: names, space-separated).
    pub fn general(&self, fields: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| !fields.split_whitespace().any(|f| f == k.as_str()))
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

/// What a page says after a redirect, chosen by a code in the query (`?notice=saved`), never by
/// text from the request.
pub fn notice(code: Option<&str>) -> &'static str {
    match code {
        Some("saved") => "Saved.",
        Some("tracking") => "Tracking mode saved: it applies from the next send.",
        Some("links") => "Link settings saved: they apply from the next send.",
        Some("keys") => "New keys made. The old ones no longer work: update your integrations.",
        Some("added") => "Contact added.",
        Some("updated") => "Contact updated.",
        Some("deleted") => "Deleted.",
        Some("created") => "Project created.",
        Some("segment") => "Segment made: it keeps the campaign's rule, so it stays up to date.",
        Some("test") => {
            "Test sent: it is in the outbox or on its way (never tracked, never counted)."
        }
        Some("scheduled") => "On its way: it goes out at the time chosen.",
        Some("cancelled") => "Cancelled: what was not queued stays unsent.",
        Some("role") => "Role changed.",
        Some("removed") => "Member removed.",
        Some("enabled") => "Workflow on: events start new executions.",
        Some("disabled") => "Workflow off: no new executions start; those under way go on.",
        _ => "",
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "error.html")]
struct ErrorPage {
    title: &'static str,
    message: String,
}

/// A page that could not be shown.
#[derive(Debug)]
pub enum PageError {
    /// 404, also for what belongs to a project the user is not a member of.
    NotFound,
    /// 403 with the reason.
    Forbidden(String),
    /// 400 or 422 with the reason.
    BadRequest(String),
    /// Sign-in needed.
    Login,
    Internal(anyhow::Error),
}

pub fn not_found_page() -> Response {
    PageError::NotFound.into_response()
}

impl From<ApiError> for PageError {
    fn from(e: ApiError) -> PageError {
        match e {
            ApiError::NotFound(_) => PageError::NotFound,
            ApiError::Unauthorized(_) => PageError::Login,
            ApiError::Internal(e) => PageError::Internal(e),
            other => PageError::BadRequest(other.to_string()),
        }
    }
}

impl From<sqlx::Error> for PageError {
    fn from(e: sqlx::Error) -> PageError {
        PageError::Internal(e.into())
    }
}

impl From<anyhow::Error> for PageError {
    fn from(e: anyhow::Error) -> PageError {
        PageError::Internal(e)
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (status, title, message) = match self {
            PageError::NotFound => (
                StatusCode::NOT_FOUND,
                "Not found",
                "There is nothing here, or it belongs to a project you are not a member of."
                    .to_string(),
            ),
            PageError::Forbidden(m) => (StatusCode::FORBIDDEN, "Not allowed", m),
            PageError::BadRequest(m) => (StatusCode::BAD_REQUEST, "That did not work", m),
            PageError::Login => return Redirect::to("/login").into_response(),
            PageError::Internal(e) => {
                tracing::error!(error = format!("{e:#}"), "page failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong",
                    "The server could not show this page; the cause is in its log.".to_string(),
                )
            }
        };
        (status, ErrorPage { title, message }).into_response()
    }
}

pub type PageResult<T = Response> = Result<T, PageError>;

/// A page rendered with a status other than 200 (a form shown again with its errors: 422).
pub fn with_status(status: StatusCode, page: impl IntoResponse) -> Response {
    (status, page).into_response()
}
