//! Activity: the project's events, newest first, by kind and period; the first page refreshes
//! itself (htmx) while it is open.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::response::IntoResponse;
use serde::Deserialize;

use super::page::{Nav, PageError};
use super::session::Member;
use super::view::EventLine;
use crate::startup::AppState;
use crate::store::events::{self, Kind};
use crate::store::now_ms;

const PAGE: i64 = 50;

/// The kinds a reader filters by: (query value, words, what it selects).
pub const KINDS: &[(&str, &str, Kind)] = &[
    ("", "Everything", Kind::All),
    ("sent", "Sent", Kind::Named("email.sent")),
    ("delivered", "Delivered", Kind::Named("email.delivered")),
    ("open", "Opens", Kind::Named("email.open")),
    ("click", "Clicks", Kind::Named("email.click")),
    ("bounced", "Bounces", Kind::Named("email.bounced")),
    ("complained", "Complaints", Kind::Named("email.complained")),
    ("failed", "Failures", Kind::Named("email.failed")),
    (
        "unsubscribed",
        "Unsubscribes",
        Kind::Named("contact.unsubscribed"),
    ),
    ("custom", "Custom events", Kind::Custom),
];

/// The periods: (query value, words, length in ms).
pub const PERIODS: &[(&str, &str, i64)] = &[
    ("24h", "Last 24 hours", 86_400_000),
    ("7d", "Last 7 days", 7 * 86_400_000),
    ("30d", "Last 30 days", 30 * 86_400_000),
    ("90d", "Last 90 days", 90 * 86_400_000),
];

#[derive(Deserialize)]
pub struct FeedQuery {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    period: String,
    /// `{created_at}.{id}` of the last event of the previous page.
    cursor: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "activity.html")]
struct ActivityPage {
    nav: Nav,
    kinds: Vec<(&'static str, &'static str)>,
    periods: Vec<(&'static str, &'static str)>,
    kind: String,
    period: String,
    lines: Vec<EventLine>,
    next: Option<String>,
    first_page: bool,
}

impl ActivityPage {
    fn is_kind(&self, value: &str) -> bool {
        self.kind == value
    }

    fn is_period(&self, value: &str) -> bool {
        self.period == value
    }
}

fn parse_cursor(raw: &str) -> Option<(i64, &str)> {
    let (at, id) = raw.split_once('.')?;
    Some((at.parse().ok()?, id))
}

pub async fn page(
    State(state): State<AppState>,
    m: Member,
    Query(q): Query<FeedQuery>,
) -> Result<axum::response::Response, PageError> {
    let Some(&(kind, _, selects)) = KINDS.iter().find(|(k, _, _)| *k == q.kind) else {
        return Err(PageError::BadRequest(format!(
            "no kind of event called {:?}",
            q.kind
        )));
    };
    let period = if q.period.is_empty() {
        "7d"
    } else {
        q.period.as_str()
    };
    let Some(&(period, _, length)) = PERIODS.iter().find(|(p, _, _)| *p == period) else {
        return Err(PageError::BadRequest(format!(
            "no period called {period:?}: use 24h, 7d, 30d or 90d"
        )));
    };
    let cursor = match q.cursor.as_deref() {
        None => None,
        Some(raw) => Some(
            parse_cursor(raw)
                .ok_or_else(|| PageError::BadRequest("that page link is broken".into()))?,
        ),
    };
    let rows = events::feed(
        &state.db,
        &m.project.id,
        selects,
        now_ms() - length,
        cursor,
        PAGE,
    )
    .await?;
    let next = (rows.len() as i64 == PAGE)
        .then(|| {
            rows.last()
                .map(|r| format!("{}.{}", r.event.created_at, r.event.id))
        })
        .flatten();
    let page = ActivityPage {
        nav: Nav::new(&m, "activity"),
        kinds: KINDS.iter().map(|(k, w, _)| (*k, *w)).collect(),
        periods: PERIODS.iter().map(|(p, w, _)| (*p, *w)).collect(),
        kind: kind.to_string(),
        period: period.to_string(),
        lines: rows
            .iter()
            .map(|r| EventLine::new(&r.event, r.contact_email.as_deref()))
            .collect(),
        next,
        first_page: cursor.is_none(),
    };
    Ok(page.into_response())
}
