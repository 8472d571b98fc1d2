//! Who is asking: the session cookie, the signed-in user ([`Viewer`]), their membership of the
//! project in the path ([`Member`]), and forms that carry a CSRF token ([`Form`], [`PublicForm`]).
//!
//! Cookies are `HttpOnly`, `SameSite=Lax`, and `Secure` when the public URL is https. Forms of a
//! signed-in user carry the session's synchronizer token; the forms before sign-in (set-up,
//! sign-in, invitation) carry a double-submit token, the same random value in a cookie and in a
//! hidden field, which another site can neither read nor set.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, RawPathParams, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use cookie::{Cookie, SameSite};
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use super::page::PageError;
use crate::domain::Role;
use crate::startup::AppState;
use crate::store::memberships::{self, ProjectRole};
use crate::store::projects::Project;
use crate::store::sessions::{self, Session};
use crate::store::users::new_token;

pub const SESSION_COOKIE: &str = "beacon_session";
pub const FORM_COOKIE: &str = "beacon_form";

/// The value of cookie `name`, if the request sent it.
pub fn read_cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_string())
}

/// A `Set-Cookie` value; `max_age_secs` 0 removes the cookie.
pub fn cookie_header(state: &AppState, name: &str, value: &str, max_age_secs: i64) -> HeaderValue {
    let c = Cookie::build((name, value))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.public_url.starts_with("https://"))
        .max_age(cookie::time::Duration::seconds(max_age_secs))
        .build();
    HeaderValue::from_str(&c.to_string()).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Equal tokens, compared without leaking how much of a guess was right (digests, not bytes).
fn same_token(a: &str, b: &str) -> bool {
    Sha256::digest(a.as_bytes()) == Sha256::digest(b.as_bytes())
}

/// Where a page that needs a signed-in user sends a visitor: the sign-in page, which comes
/// back here afterwards.
fn to_login(parts: &Parts) -> Response {
    let next = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let q = serde_urlencoded::to_string([("next", next)]).unwrap_or_default();
    Redirect::to(&format!("/login?{q}")).into_response()
}

/// The signed-in user and their session (with its CSRF token).
#[derive(Clone)]
pub struct Viewer(pub Session);

impl Viewer {
    pub fn csrf(&self) -> &str {
        &self.0.csrf
    }
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        if let Some(v) = parts.extensions.get::<Viewer>() {
            return Ok(v.clone());
        }
        let Some(token) = read_cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(to_login(parts));
        };
        match sessions::find(&state.db, &token).await {
            Ok(Some(session)) => {
                let viewer = Viewer(session);
                parts.extensions.insert(viewer.clone());
                Ok(viewer)
            }
            Ok(None) => Err(to_login(parts)),
            Err(e) => Err(PageError::from(e).into_response()),
        }
    }
}

/// A member of the project named by the path's `{pid}`: the project, their role in it, and
/// all their projects (for the switcher). Anyone else gets 404, as for a project that does
/// not exist.
#[derive(Clone)]
pub struct Member {
    pub viewer: Viewer,
    pub project: Project,
    pub role: Role,
    pub projects: Vec<ProjectRole>,
}

impl Member {
    /// Settings, keys and the team need an owner or an admin.
    pub fn require_manager(&self) -> Result<(), PageError> {
        if self.role.can_manage() {
            Ok(())
        } else {
            Err(PageError::Forbidden(
                "only the project's owners and admins can change this".into(),
            ))
        }
    }

    /// `/p/{pid}` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("/p/{}{path}", self.project.id)
    }
}

impl FromRequestParts<AppState> for Member {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        if let Some(m) = parts.extensions.get::<Member>() {
            return Ok(m.clone());
        }
        let viewer = Viewer::from_request_parts(parts, state).await?;
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let pid = params
            .iter()
            .find(|(k, _)| *k == "pid")
            .map(|(_, v)| v.to_string())
            .unwrap_or_default();
        let projects = memberships::projects_of(&state.db, &viewer.0.user.id)
            .await
            .map_err(|e| PageError::from(e).into_response())?;
        let Some(mine) = projects.iter().find(|p| p.project.id == pid).cloned() else {
            return Err(PageError::NotFound.into_response());
        };
        let role = mine.role.parse().unwrap_or(Role::Member);
        let member = Member {
            viewer,
            project: mine.project,
            role,
            projects,
        };
        parts.extensions.insert(member.clone());
        Ok(member)
    }
}

async fn body(req: Request, state: &AppState) -> Result<Bytes, Response> {
    Bytes::from_request(req, state).await.map_err(|e| {
        PageError::BadRequest(format!("the form could not be read: {}", e.body_text()))
            .into_response()
    })
}

fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, PageError> {
    serde_urlencoded::from_bytes(bytes)
        .map_err(|e| PageError::BadRequest(format!("the form is not what this page sends: {e}")))
}

fn csrf_field(bytes: &[u8]) -> String {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(bytes)
        .unwrap_or_default()
        .into_iter()
        .find(|(k, _)| k == "csrf")
        .map(|(_, v)| v)
        .unwrap_or_default()
}

fn stale_form() -> Response {
    PageError::Forbidden(
        "this form is out of date or did not come from this dashboard: reload the page and try again"
            .into(),
    )
    .into_response()
}

/// A form posted by a signed-in user, its `csrf` field checked against the session's token.
pub struct Form<T>(pub T);

/// A form that carries nothing but its CSRF token (a delete, a cancel, signing out).
#[derive(serde::Deserialize)]
pub struct Empty {}

impl<T: DeserializeOwned> FromRequest<AppState> for Form<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body_) = req.into_parts();
        let viewer = Viewer::from_request_parts(&mut parts, state).await?;
        let bytes = body(Request::from_parts(parts, body_), state).await?;
        if !same_token(&csrf_field(&bytes), viewer.csrf()) {
            return Err(stale_form());
        }
        Ok(Form(parse(&bytes).map_err(IntoResponse::into_response)?))
    }
}

/// A form posted before sign-in, its `csrf` field checked against the form cookie.
pub struct PublicForm<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for PublicForm<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Response> {
        let cookie = read_cookie(req.headers(), FORM_COOKIE).unwrap_or_default();
        let bytes = body(req, state).await?;
        if cookie.is_empty() || !same_token(&csrf_field(&bytes), &cookie) {
            return Err(stale_form());
        }
        Ok(PublicForm(
            parse(&bytes).map_err(IntoResponse::into_response)?,
        ))
    }
}

/// The double-submit token for a form shown before sign-in: the one the browser already holds,
/// or a new one with the `Set-Cookie` that gives it.
pub fn form_token(state: &AppState, headers: &HeaderMap) -> (String, Option<HeaderValue>) {
    match read_cookie(headers, FORM_COOKIE) {
        Some(t) if !t.is_empty() => (t, None),
        _ => {
            let (token, _) = new_token();
            let set = cookie_header(state, FORM_COOKIE, &token, 86_400);
            (token, Some(set))
        }
    }
}

/// Signs `user_id` in: a new session and the cookie that carries it.
pub async fn start(state: &AppState, user_id: &str) -> Result<HeaderValue, PageError> {
    let token = sessions::create(&state.db, user_id).await?;
    Ok(cookie_header(
        state,
        SESSION_COOKIE,
        &token,
        sessions::LIFETIME_MS / 1000,
    ))
}
