//! Home: the last 30 days in numbers (the same query as `GET /v1/stats`), people and machines
//! apart, and the newest activity.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::response::IntoResponse;

use super::page::{Nav, PageResult};
use super::session::Member;
use super::view::{EventLine, pct};
use crate::startup::AppState;
use crate::store::events::{self, Kind};
use crate::store::{now_ms, stats};

const DAY_MS: i64 = 86_400_000;

/// One figure of the home page.
pub struct Figure {
    pub label: &'static str,
    pub value: String,
    /// The machine share (or another aside) in words, "" when none.
    pub aside: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "home.html")]
struct HomePage {
    nav: Nav,
    figures: Vec<Figure>,
    tracked: i64,
    sent: i64,
    /// The newest events.
    lines: Vec<EventLine>,
    /// Shown until the project sends its first email.
    getting_started: bool,
    base: String,
    secret_key: String,
}

pub async fn page(State(state): State<AppState>, m: Member) -> PageResult {
    let now = now_ms();
    let scope = stats::Scope {
        project_id: &m.project.id,
        from: now - 30 * DAY_MS,
        to: now + 1,
        campaign_id: None,
        stream: None,
    };
    let t = stats::totals(&state.db, &scope).await?;
    let machine_share = |machine: i64, human: i64| {
        format!("machines: {} of all hits", pct(machine, machine + human))
    };
    let figures = vec![
        Figure {
            label: "Sent",
            value: t.sent.to_string(),
            aside: format!("{} queued in all", t.emails),
        },
        Figure {
            label: "Delivered",
            value: t.delivered.to_string(),
            aside: super::view::delivered_note(
                &state.settings.transport,
                format!("{} of sent", pct(t.delivered, t.sent)),
            ),
        },
        Figure {
            label: "Opened by people",
            value: pct(t.unique_opens, t.tracked),
            aside: machine_share(t.machine_opens, t.human_opens),
        },
        Figure {
            label: "Clicked by people",
            value: pct(t.unique_clicks, t.tracked),
            aside: machine_share(t.machine_clicks, t.human_clicks),
        },
    ];
    let lines = events::feed(&state.db, &m.project.id, Kind::All, 0, None, 10)
        .await?
        .iter()
        .map(|f| EventLine::new(&f.event, f.contact_email.as_deref()))
        .collect();
    let page = HomePage {
        nav: Nav::new(&m, "home"),
        figures,
        tracked: t.tracked,
        sent: t.sent,
        lines,
        getting_started: t.emails == 0,
        base: state.public_url.to_string(),
        secret_key: if m.role.can_manage() {
            m.project.secret_key.clone()
        } else {
            "sk_… (an owner or admin can see it)".to_string()
        },
    };
    Ok(page.into_response())
}
