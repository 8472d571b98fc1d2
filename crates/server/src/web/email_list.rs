//! Emails: every email of the project, newest first, by recipient, status and stream, each
//! linking to its page. An email id typed in the search box goes straight to that email.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;

use super::page::{Nav, PageError, PageResult};
use super::session::Member;
use super::view::{when, when_opt};
use crate::startup::AppState;
use crate::store::email_list::{self, Filter, Listed};
use crate::store::emails;

const PAGE: i64 = 50;

/// The statuses and streams a reader filters by: (query value, words).
const STATUSES: &[(&str, &str)] = &[
    ("", "Any status"),
    ("PENDING", "Queued"),
    ("SENDING", "Sending"),
    ("SENT", "Sent"),
    ("DELIVERED", "Delivered"),
    ("OPENED", "Opened"),
    ("CLICKED", "Clicked"),
    ("FAILED", "Failed"),
];
const STREAMS: &[(&str, &str)] = &[
    ("", "Every stream"),
    ("TRANSACTIONAL", "Transactional (/v1/send)"),
    ("CAMPAIGN", "Campaigns"),
    ("WORKFLOW", "Workflows"),
];

#[derive(Deserialize)]
pub struct ListQuery {
    /// A recipient's address or an email id.
    #[serde(default)]
    q: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    stream: String,
    /// `{created_at}.{id}` of the previous page's last email.
    cursor: Option<String>,
}

/// One row of the list.
struct Row {
    email: Listed,
    queued: String,
    opened: String,
    clicked: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "emails.html")]
struct ListPage {
    nav: Nav,
    q: String,
    status: String,
    stream: String,
    statuses: &'static [(&'static str, &'static str)],
    streams: &'static [(&'static str, &'static str)],
    rows: Vec<Row>,
    next: Option<String>,
    first_page: bool,
}

impl ListPage {
    fn is_status(&self, v: &str) -> bool {
        self.status == v
    }

    fn is_stream(&self, v: &str) -> bool {
        self.stream == v
    }
}

/// A filter value must be one the page offers; anything else is a 400 with the choices.
fn offered(value: &str, choices: &[(&str, &str)], what: &str) -> Result<(), PageError> {
    if choices.iter().any(|(v, _)| *v == value) {
        return Ok(());
    }
    let names: Vec<&str> = choices.iter().skip(1).map(|(v, _)| *v).collect();
    Err(PageError::BadRequest(format!(
        "no {what} called {value:?}: use one of {}",
        names.join(", ")
    )))
}

pub async fn list(
    State(state): State<AppState>,
    m: Member,
    Query(q): Query<ListQuery>,
) -> PageResult {
    offered(&q.status, STATUSES, "status")?;
    offered(&q.stream, STREAMS, "stream")?;
    let needle = q.q.trim().to_lowercase();
    // An email id goes to that email's page, when it is one of this project's.
    if !needle.contains('@')
        && !needle.is_empty()
        && let Some(e) = emails::by_id(&state.db, &needle).await?
        && e.project_id == m.project.id
    {
        return Ok(Redirect::to(&m.url(&format!("/emails/{}", e.id))).into_response());
    }
    let cursor = q.cursor.as_deref().and_then(|c| {
        let (at, id) = c.split_once('.')?;
        Some((at.parse::<i64>().ok()?, id))
    });
    let filter = Filter {
        to: &needle,
        status: &q.status,
        source_type: &q.stream,
    };
    let found = email_list::page(&state.db, &m.project.id, &filter, cursor, PAGE).await?;
    let next = (found.len() as i64 == PAGE)
        .then(|| found.last().map(|e| format!("{}.{}", e.created_at, e.id)))
        .flatten();
    let rows = found
        .into_iter()
        .map(|email| Row {
            queued: when(email.created_at),
            opened: tracked_when(&email, email.opened_at),
            clicked: tracked_when(&email, email.clicked_at),
            email,
        })
        .collect();
    let page = ListPage {
        nav: Nav::new(&m, "emails"),
        q: q.q,
        status: q.status,
        stream: q.stream,
        statuses: STATUSES,
        streams: STREAMS,
        rows,
        next,
        first_page: cursor.is_none(),
    };
    Ok(page.into_response())
}

/// When a person first opened or clicked, a dash, or "not tracked" for an untracked email.
fn tracked_when(e: &Listed, at: Option<i64>) -> String {
    if e.tracked == 0 {
        "not tracked".to_string()
    } else {
        when_opt(at)
    }
}
