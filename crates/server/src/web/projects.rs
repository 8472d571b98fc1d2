//! Projects: the user's list and a new one (`/projects`), and Settings → Project: the name and
//! the danger zone (deleting the project, typing its name to confirm).

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;

use super::page::{Errors, Nav, PageError, PageResult, notice, with_status};
use super::session::{Form, Member, Viewer};
use crate::actions;
use crate::domain::Role;
use crate::error::ApiError;
use crate::startup::AppState;
use crate::store::memberships;

#[derive(Deserialize)]
pub struct NoticeQuery {
    notice: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "projects.html")]
struct ListPage {
    user_email: String,
    csrf: String,
    notice: &'static str,
    /// (id, name, role)
    projects: Vec<(String, String, String)>,
    name: String,
    errors: Errors,
}

async fn list_page(
    state: &AppState,
    viewer: &Viewer,
    notice: &'static str,
    name: &str,
    errors: Errors,
) -> PageResult<ListPage> {
    let projects = memberships::projects_of(&state.db, &viewer.0.user.id)
        .await?
        .into_iter()
        .map(|p| (p.project.id, p.project.name, p.role))
        .collect();
    Ok(ListPage {
        user_email: viewer.0.user.email.clone(),
        csrf: viewer.csrf().to_string(),
        notice,
        projects,
        name: name.to_string(),
        errors,
    })
}

pub async fn list(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<NoticeQuery>,
) -> PageResult {
    Ok(list_page(
        &state,
        &viewer,
        notice(q.notice.as_deref()),
        "",
        Errors::none(),
    )
    .await?
    .into_response())
}

#[derive(Deserialize)]
pub struct NameForm {
    #[serde(default)]
    name: String,
}

pub async fn create(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(f): Form<NameForm>,
) -> PageResult {
    match actions::project::create(&state.db, &viewer.0.user.id, &f.name).await {
        Ok(p) => {
            Ok(Redirect::to(&format!("/p/{}/settings/keys?notice=created", p.id)).into_response())
        }
        Err(e @ ApiError::Internal(_)) => Err(e.into()),
        Err(e) => {
            let page = list_page(&state, &viewer, "", &f.name, Errors::from_api(&e)).await?;
            Ok(with_status(e.status(), page))
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "settings_project.html")]
struct SettingsPage {
    nav: Nav,
    tab: &'static str,
    notice: &'static str,
    name: String,
    confirm: String,
    errors: Errors,
}

fn settings_page(
    m: &Member,
    notice: &'static str,
    name: &str,
    confirm: &str,
    errors: Errors,
) -> SettingsPage {
    SettingsPage {
        nav: Nav::new(m, "settings"),
        tab: "project",
        notice,
        name: name.to_string(),
        confirm: confirm.to_string(),
        errors,
    }
}

pub async fn settings(m: Member, Query(q): Query<NoticeQuery>) -> PageResult {
    Ok(settings_page(
        &m,
        notice(q.notice.as_deref()),
        &m.project.name,
        "",
        Errors::none(),
    )
    .into_response())
}

/// Renames the project through the same rule as `PATCH /v1/project`.
pub async fn rename(
    State(state): State<AppState>,
    m: Member,
    Form(f): Form<NameForm>,
) -> PageResult {
    m.require_manager()?;
    let mut project = m.project.clone();
    let changes = actions::project::Changes {
        name: Some(&f.name),
        ..Default::default()
    };
    match actions::project::update(
        &state.db,
        &state.settings.tracking_engine,
        &mut project,
        changes,
    )
    .await
    {
        Ok(()) => Ok(Redirect::to(&m.url("/settings/project?notice=saved")).into_response()),
        Err(e @ ApiError::Internal(_)) => Err(e.into()),
        Err(e) => Ok(with_status(
            e.status(),
            settings_page(&m, "", &f.name, "", Errors::from_api(&e)),
        )),
    }
}

#[derive(Deserialize)]
pub struct DeleteForm {
    #[serde(default)]
    confirm: String,
}

pub async fn delete(
    State(state): State<AppState>,
    m: Member,
    Form(f): Form<DeleteForm>,
) -> PageResult {
    if m.role != Role::Owner {
        return Err(PageError::Forbidden(
            "only the project's owners can delete it".into(),
        ));
    }
    match actions::project::delete(&state.db, &m.project, &f.confirm).await {
        Ok(()) => Ok(Redirect::to("/projects?notice=deleted").into_response()),
        Err(e @ ApiError::Internal(_)) => Err(e.into()),
        Err(e) => {
            let page = settings_page(&m, "", &m.project.name, &f.confirm, Errors::from_api(&e));
            Ok(with_status(e.status(), page))
        }
    }
}
