//! Settings → Team: the project's members and their roles, adding people by address (with an
//! invitation link for those without an account), changing roles, removing members.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;

use super::page::{Errors, Nav, PageResult, notice, with_status};
use super::session::{Form, Member};
use super::view::when;
use crate::actions::team;
use crate::domain::Role;
use crate::error::ApiError;
use crate::startup::AppState;
use crate::store::memberships;

pub struct MemberRow {
    pub user_id: String,
    pub email: String,
    pub role: String,
    pub active: bool,
    pub since: String,
    pub is_me: bool,
    /// Every role, and whether it is this member's.
    pub choices: Vec<(&'static str, bool)>,
}

#[derive(Template, WebTemplate)]
#[template(path = "settings_team.html")]
struct TeamPage {
    nav: Nav,
    tab: &'static str,
    notice: &'static str,
    members: Vec<MemberRow>,
    /// (role, what it may do), for the legend and the choices.
    roles: Vec<(&'static str, &'static str)>,
    /// The invitation link made by the last add, shown once.
    invitation: String,
    email: String,
    role: String,
    errors: Errors,
}

impl TeamPage {
    fn is_role(&self, value: &str) -> bool {
        self.role == value
    }
}

async fn team_page(
    state: &AppState,
    m: &Member,
    notice: &'static str,
    email: &str,
    role: &str,
    invitation: String,
    errors: Errors,
) -> PageResult<TeamPage> {
    let me = &m.viewer.0.user.id;
    let members = memberships::members(&state.db, &m.project.id)
        .await?
        .into_iter()
        .map(|r| MemberRow {
            choices: Role::ALL
                .iter()
                .map(|x| (x.as_str(), x.as_str() == r.role))
                .collect(),
            is_me: &r.user_id == me,
            since: when(r.created_at),
            active: r.active != 0,
            user_id: r.user_id,
            email: r.email,
            role: r.role,
        })
        .collect();
    Ok(TeamPage {
        nav: Nav::new(m, "settings"),
        tab: "team",
        notice,
        members,
        roles: Role::ALL
            .iter()
            .map(|r| (r.as_str(), r.meaning()))
            .collect(),
        invitation,
        email: email.to_string(),
        role: role.to_string(),
        errors,
    })
}

#[derive(Deserialize)]
pub struct NoticeQuery {
    notice: Option<String>,
}

pub async fn page(
    State(state): State<AppState>,
    m: Member,
    Query(q): Query<NoticeQuery>,
) -> PageResult {
    let page = team_page(
        &state,
        &m,
        notice(q.notice.as_deref()),
        "",
        "MEMBER",
        String::new(),
        Errors::none(),
    )
    .await?;
    Ok(page.into_response())
}

#[derive(Deserialize)]
pub struct AddForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: String,
}

pub async fn add(State(state): State<AppState>, m: Member, Form(f): Form<AddForm>) -> PageResult {
    match team::add(&state.db, &m.project.id, m.role, &f.email, &f.role).await {
        Ok(added) => {
            let link = added
                .invitation
                .map(|token| format!("{}/invite/{token}", state.public_url))
                .unwrap_or_default();
            let page = team_page(
                &state,
                &m,
                "Member added.",
                "",
                "MEMBER",
                link,
                Errors::none(),
            )
            .await?;
            Ok(page.into_response())
        }
        Err(e @ ApiError::Internal(_)) => Err(e.into()),
        Err(e) => {
            let page = team_page(
                &state,
                &m,
                "",
                &f.email,
                &f.role,
                String::new(),
                Errors::from_api(&e),
            )
            .await?;
            Ok(with_status(e.status(), page))
        }
    }
}

#[derive(Deserialize)]
pub struct MemberPath {
    uid: String,
}

#[derive(Deserialize)]
pub struct RoleForm {
    #[serde(default)]
    role: String,
}

async fn after(
    state: &AppState,
    m: &Member,
    outcome: Result<(), ApiError>,
    done: &str,
) -> PageResult {
    match outcome {
        Ok(()) => {
            Ok(Redirect::to(&m.url(&format!("/settings/team?notice={done}"))).into_response())
        }
        Err(e @ (ApiError::Internal(_) | ApiError::NotFound(_))) => Err(e.into()),
        Err(e) => {
            // About a member of the list, not the add form: shown above the list.
            let mut errors = Errors::none();
            errors.add("", &e.to_string());
            let page = team_page(state, m, "", "", "MEMBER", String::new(), errors).await?;
            Ok(with_status(e.status(), page))
        }
    }
}

pub async fn role(
    State(state): State<AppState>,
    m: Member,
    Path(p): Path<MemberPath>,
    Form(f): Form<RoleForm>,
) -> PageResult {
    let outcome = team::set_role(&state.db, &m.project.id, m.role, &p.uid, &f.role).await;
    after(&state, &m, outcome, "role").await
}

#[derive(Deserialize)]
pub struct Confirmed {}

pub async fn remove(
    State(state): State<AppState>,
    m: Member,
    Path(p): Path<MemberPath>,
    Form(_): Form<Confirmed>,
) -> PageResult {
    let outcome = team::remove(&state.db, &m.project.id, m.role, &p.uid).await;
    after(&state, &m, outcome, "removed").await
}
