//! Set-up (the first owner), sign-in, sign-out and invitations.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::page::{Errors, PageError, PageResult, with_status};
use super::session::{self, Empty, Form, PublicForm, SESSION_COOKIE, Viewer, form_token};
use crate::actions::accounts;
use crate::error::ApiError;
use crate::startup::AppState;
use crate::store::{memberships, sessions, users};

/// A page with the form cookie it needs, when the browser did not have it yet.
fn with_form_cookie(page: impl IntoResponse, set: Option<axum::http::HeaderValue>) -> Response {
    let mut res = page.into_response();
    if let Some(v) = set {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

/// Signs the user in and sends them on.
async fn signed_in(state: &AppState, user_id: &str, to: &str) -> PageResult {
    let cookie = session::start(state, user_id).await?;
    let mut res = Redirect::to(to).into_response();
    res.headers_mut().append(header::SET_COOKIE, cookie);
    Ok(res)
}

/// Only a path on this site: `/contacts`, never `//evil.test` or `https://evil.test`.
fn safe_next(next: &str) -> &str {
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && !next.chars().any(char::is_control);
    if ok { next } else { "/" }
}

/// `/`: set-up on a fresh install, sign-in for a visitor, else the user's first project.
pub async fn root(State(state): State<AppState>, viewer: Result<Viewer, Response>) -> PageResult {
    if accounts::needs_setup(&state.db).await? {
        return Ok(Redirect::to("/setup").into_response());
    }
    let viewer = match viewer {
        Ok(v) => v,
        Err(_) => return Ok(Redirect::to("/login").into_response()),
    };
    let projects = memberships::projects_of(&state.db, &viewer.0.user.id).await?;
    Ok(match projects.first() {
        Some(p) => Redirect::to(&format!("/p/{}", p.project.id)).into_response(),
        None => Redirect::to("/projects").into_response(),
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "auth/setup.html")]
struct SetupPage {
    csrf: String,
    email: String,
    errors: Errors,
}

pub async fn setup_page(State(state): State<AppState>, headers: HeaderMap) -> PageResult {
    if !accounts::needs_setup(&state.db).await? {
        return Ok(Redirect::to("/login").into_response());
    }
    let (csrf, set) = form_token(&state, &headers);
    let page = SetupPage {
        csrf,
        email: String::new(),
        errors: Errors::none(),
    };
    Ok(with_form_cookie(page, set))
}

#[derive(Deserialize)]
pub struct SetupForm {
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm: String,
}

pub async fn setup(
    State(state): State<AppState>,
    PublicForm(f): PublicForm<SetupForm>,
) -> PageResult {
    if !accounts::needs_setup(&state.db).await? {
        return Err(PageError::Forbidden(
            "Beacon is already set up: sign in, or ask an owner to add you to their project".into(),
        ));
    }
    let again = |errors: Errors, status: StatusCode| {
        let page = SetupPage {
            csrf: f.csrf.clone(),
            email: f.email.clone(),
            errors,
        };
        Ok(with_status(status, page))
    };
    let errors = password_errors(Some(&f.email), &f.password, &f.confirm);
    if !errors.is_empty() {
        return again(errors, StatusCode::UNPROCESSABLE_ENTITY);
    }
    match accounts::create_user(&state.db, &f.email, &f.password).await {
        Ok(user) => signed_in(&state, &user.id, "/").await,
        Err(e @ ApiError::Internal(_)) => Err(e.into()),
        Err(e) => again(Errors::from_api(&e), e.status()),
    }
}

/// Every problem of a new account's form at once, each next to its field: the address (when the
/// form has one) and the password by the account rules, and the confirmation.
fn password_errors(email: Option<&str>, password: &str, confirm: &str) -> Errors {
    let mut errors = Errors::none();
    let problems = [
        email.and_then(|e| accounts::parse_email(e).err()),
        accounts::parse_password(password).err(),
    ];
    for e in problems.into_iter().flatten() {
        errors.add(e.field().unwrap_or(""), &e.to_string());
    }
    if password != confirm {
        errors.add("confirm", "the two passwords differ");
    }
    errors
}

#[derive(Template, WebTemplate)]
#[template(path = "auth/login.html")]
struct LoginPage {
    csrf: String,
    email: String,
    next: String,
    errors: Errors,
}

#[derive(Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
}

pub async fn login_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<LoginQuery>,
) -> PageResult {
    if accounts::needs_setup(&state.db).await? {
        return Ok(Redirect::to("/setup").into_response());
    }
    let (csrf, set) = form_token(&state, &headers);
    let page = LoginPage {
        csrf,
        email: String::new(),
        next: safe_next(q.next.as_deref().unwrap_or("/")).to_string(),
        errors: Errors::none(),
    };
    Ok(with_form_cookie(page, set))
}

#[derive(Deserialize)]
pub struct LoginForm {
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
}

pub async fn login(
    State(state): State<AppState>,
    PublicForm(f): PublicForm<LoginForm>,
) -> PageResult {
    let next = safe_next(&f.next).to_string();
    match accounts::sign_in(&state.db, &f.email, &f.password).await {
        Ok(user) => signed_in(&state, &user.id, &next).await,
        Err(e @ ApiError::Internal(_)) => Err(e.into()),
        Err(e) => {
            let status = e.status();
            let page = LoginPage {
                csrf: f.csrf,
                email: f.email,
                next,
                errors: Errors::from_api(&e),
            };
            let mut res = with_status(status, page);
            if let ApiError::TooManyRequests {
                retry_after_secs, ..
            } = e
            {
                res.headers_mut()
                    .insert(header::RETRY_AFTER, retry_after_secs.into());
            }
            Ok(res)
        }
    }
}

pub async fn logout(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(_): Form<Empty>,
) -> PageResult {
    sessions::delete(&state.db, &viewer.0.token_hash).await?;
    let mut res = Redirect::to("/login").into_response();
    res.headers_mut().append(
        header::SET_COOKIE,
        session::cookie_header(&state, SESSION_COOKIE, "", 0),
    );
    Ok(res)
}

#[derive(Template, WebTemplate)]
#[template(path = "auth/invite.html")]
struct InvitePage {
    csrf: String,
    token: String,
    email: String,
    errors: Errors,
}

fn unknown_invitation() -> PageError {
    PageError::BadRequest(
        "This invitation link is unknown, used or expired: ask the project's owner for a new one."
            .into(),
    )
}

pub async fn invite_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> PageResult {
    let user = users::invited(&state.db, &token)
        .await?
        .ok_or_else(unknown_invitation)?;
    let (csrf, set) = form_token(&state, &headers);
    let page = InvitePage {
        csrf,
        token,
        email: user.email,
        errors: Errors::none(),
    };
    Ok(with_form_cookie(page, set))
}

#[derive(Deserialize)]
pub struct AcceptForm {
    csrf: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm: String,
}

pub async fn accept(
    State(state): State<AppState>,
    Path(token): Path<String>,
    PublicForm(f): PublicForm<AcceptForm>,
) -> PageResult {
    let user = users::invited(&state.db, &token)
        .await?
        .ok_or_else(unknown_invitation)?;
    let again = |errors: Errors, status: StatusCode| {
        let page = InvitePage {
            csrf: f.csrf.clone(),
            token: token.clone(),
            email: user.email.clone(),
            errors,
        };
        Ok(with_status(status, page))
    };
    let errors = password_errors(None, &f.password, &f.confirm);
    if !errors.is_empty() {
        return again(errors, StatusCode::UNPROCESSABLE_ENTITY);
    }
    match accounts::accept_invitation(&state.db, &token, &f.password).await {
        Ok(user) => signed_in(&state, &user.id, "/").await,
        Err(e @ ApiError::Internal(_)) => Err(e.into()),
        Err(ApiError::NotFound(_)) => Err(unknown_invitation()),
        Err(e) => again(Errors::from_api(&e), e.status()),
    }
}
