//! Settings → Tracking (the mode, and the privacy of hits) and Settings → API keys.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use beacon_tracking::policy::TrackingMode;
use serde::Deserialize;

use super::page::{Errors, Nav, PageResult, notice, with_status};
use super::session::{Form, Member};
use super::view::{utm_from_lines, utm_lines_of};
use crate::actions;
use crate::config::HitIp;
use crate::error::ApiError;
use crate::startup::AppState;

#[derive(Deserialize)]
pub struct NoticeQuery {
    notice: Option<String>,
}

pub async fn index(m: Member) -> Redirect {
    Redirect::to(&m.url("/settings/tracking"))
}

/// A tracking mode as the page offers it.
pub struct ModeChoice {
    pub value: &'static str,
    pub name: &'static str,
    pub meaning: &'static str,
    /// Why the configured engine cannot honour it, and the setting that would let it.
    pub unavailable: Option<String>,
    pub checked: bool,
}

fn words(mode: TrackingMode) -> (&'static str, &'static str) {
    match mode {
        TrackingMode::Enabled => ("Enabled", "Tracking is applied to every email."),
        TrackingMode::Disabled => ("Disabled", "No tracking is applied to any email."),
        TrackingMode::MarketingOnly => (
            "Marketing only",
            "Tracking is applied to marketing sends (MARKETING campaigns, and workflow emails with \
             marketing or headless templates); transactional sends — every /v1/send, whatever its \
             template, unless it asks for \"tracking\": true, and TRANSACTIONAL campaigns — go \
             untracked.",
        ),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "settings_tracking.html")]
struct TrackingPage {
    nav: Nav,
    tab: &'static str,
    notice: &'static str,
    modes: Vec<ModeChoice>,
    engine: &'static str,
    hit_ip: &'static str,
    hit_user_agent: bool,
    /// The campaign parameters, one `name=value` a line, as saved or as typed.
    utm: String,
    track_text: bool,
    errors: Errors,
}

fn tracking_page(
    state: &AppState,
    m: &Member,
    chosen: &str,
    notice: &'static str,
    links: (String, bool),
    errors: Errors,
) -> TrackingPage {
    let engine = &state.settings.tracking_engine;
    let modes = TrackingMode::ALL
        .iter()
        .map(|&mode| {
            let (name, meaning) = words(mode);
            ModeChoice {
                value: mode.as_str(),
                name,
                meaning,
                unavailable: engine.check_mode(mode).err().map(|e| e.to_string()),
                checked: chosen == mode.as_str(),
            }
        })
        .collect();
    TrackingPage {
        nav: Nav::new(m, "settings"),
        tab: "tracking",
        notice,
        modes,
        engine: engine.name(),
        hit_ip: match state.settings.hit_ip {
            HitIp::Full => "full",
            HitIp::Truncated => "truncated",
            HitIp::None => "none",
        },
        hit_user_agent: state.settings.hit_user_agent,
        utm: links.0,
        track_text: links.1,
        errors,
    }
}

/// The link settings as saved.
fn saved_links(m: &Member) -> (String, bool) {
    (
        utm_lines_of(m.project.utm.as_deref()),
        m.project.track_text_links != 0,
    )
}

pub async fn tracking(
    State(state): State<AppState>,
    m: Member,
    Query(q): Query<NoticeQuery>,
) -> PageResult {
    let page = tracking_page(
        &state,
        &m,
        &m.project.tracking_mode,
        notice(q.notice.as_deref()),
        saved_links(&m),
        Errors::none(),
    );
    Ok(page.into_response())
}

#[derive(Deserialize)]
pub struct TrackingForm {
    #[serde(default)]
    tracking: String,
}

/// Saves the mode through the same rule as `PATCH /v1/project`; it applies to the next send.
pub async fn save_tracking(
    State(state): State<AppState>,
    m: Member,
    Form(f): Form<TrackingForm>,
) -> PageResult {
    m.require_manager()?;
    let mut project = m.project.clone();
    let changes = actions::project::Changes {
        tracking: Some(&f.tracking),
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
        Ok(()) => Ok(Redirect::to(&m.url("/settings/tracking?notice=tracking")).into_response()),
        Err(e @ ApiError::Internal(_)) => Err(e.into()),
        Err(e) => {
            let page = tracking_page(
                &state,
                &m,
                &f.tracking,
                "",
                saved_links(&m),
                Errors::from_api(&e),
            );
            Ok(with_status(e.status(), page))
        }
    }
}

#[derive(Deserialize)]
pub struct LinksForm {
    #[serde(default)]
    utm: String,
    track_text: Option<String>,
}

/// Saves the campaign parameters and the text-part flag through the same rule as
/// `PATCH /v1/project` (`utm`, `trackTextLinks`).
pub async fn save_links(
    State(state): State<AppState>,
    m: Member,
    Form(f): Form<LinksForm>,
) -> PageResult {
    m.require_manager()?;
    let mut project = m.project.clone();
    let outcome = match utm_from_lines(&f.utm) {
        Ok(utm) => {
            let changes = actions::project::Changes {
                utm: Some(&utm),
                track_text_links: Some(f.track_text.is_some()),
                ..Default::default()
            };
            let engine = &state.settings.tracking_engine;
            actions::project::update(&state.db, engine, &mut project, changes).await
        }
        Err(e) => Err(e),
    };
    match outcome {
        Ok(()) => Ok(Redirect::to(&m.url("/settings/tracking?notice=links")).into_response()),
        Err(e @ ApiError::Internal(_)) => Err(e.into()),
        Err(e) => {
            // `utm.<name>` names a parameter: shown at the parameters' field.
            let mut errors = Errors::none();
            let field = if e.field().is_some_and(|f| f.starts_with("utm")) {
                "utm"
            } else {
                ""
            };
            errors.add(field, &e.to_string());
            let typed = (f.utm.clone(), f.track_text.is_some());
            let page = tracking_page(&state, &m, &m.project.tracking_mode, "", typed, errors);
            Ok(with_status(e.status(), page))
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "settings_keys.html")]
struct KeysPage {
    nav: Nav,
    tab: &'static str,
    notice: &'static str,
    public_key: String,
    /// Empty for members, who do not see it.
    secret_key: String,
    base: String,
    errors: Errors,
}

fn keys_page(
    state: &AppState,
    m: &Member,
    public_key: &str,
    secret_key: &str,
    notice: &'static str,
    errors: Errors,
) -> KeysPage {
    KeysPage {
        nav: Nav::new(m, "settings"),
        tab: "keys",
        notice,
        public_key: public_key.to_string(),
        secret_key: if m.role.can_manage() {
            secret_key.to_string()
        } else {
            String::new()
        },
        base: state.public_url.to_string(),
        errors,
    }
}

pub async fn keys(
    State(state): State<AppState>,
    m: Member,
    Query(q): Query<NoticeQuery>,
) -> PageResult {
    let p = &m.project;
    let page = keys_page(
        &state,
        &m,
        &p.public_key,
        &p.secret_key,
        notice(q.notice.as_deref()),
        Errors::none(),
    );
    Ok(page.into_response())
}

#[derive(Deserialize)]
pub struct RegenerateForm {
    confirm: Option<String>,
}

/// New keys through the same function as `POST /v1/project/keys`; the old ones stop working.
pub async fn regenerate(
    State(state): State<AppState>,
    m: Member,
    Form(f): Form<RegenerateForm>,
) -> PageResult {
    m.require_manager()?;
    if f.confirm.is_none() {
        let mut errors = Errors::none();
        errors.add(
            "confirm",
            "tick the box to confirm: the current keys stop working at once",
        );
        let p = &m.project;
        let page = keys_page(&state, &m, &p.public_key, &p.secret_key, "", errors);
        return Ok(with_status(StatusCode::UNPROCESSABLE_ENTITY, page));
    }
    let mut project = m.project.clone();
    actions::project::regenerate_keys(&state.db, &mut project).await?;
    Ok(Redirect::to(&m.url("/settings/keys?notice=keys")).into_response())
}
