//! An email's page: its status and history, the delivered HTML in a preview that records
//! nothing (`preview.rs`), the text part, the headers, and every open and click with its verdict.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::response::IntoResponse;
use serde_json::Value;

use super::page::{Nav, PageResult};
use super::preview::EmailPath;
use super::session::Member;
use super::view::{EventLine, when, when_opt};
use crate::startup::AppState;
use crate::store::emails::Email;
use crate::store::events;

/// An open or a click as the hits table shows it.
pub struct HitRow {
    pub line: EventLine,
    pub user_agent: String,
    pub ip: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "email.html")]
struct EmailPage {
    nav: Nav,
    email: Email,
    has_html: bool,
    text: String,
    /// When retention removed the bodies.
    removed: Option<String>,
    /// (name, value) of the stored headers.
    headers: Vec<(String, String)>,
    /// (what, when) of the email's life.
    facts: Vec<(&'static str, String)>,
    lines: Vec<EventLine>,
    hits: Vec<HitRow>,
}

pub async fn show(
    State(state): State<AppState>,
    m: Member,
    Path(p): Path<EmailPath>,
) -> PageResult {
    let found = super::preview::email_of(&state, &m, &p.eid).await?;
    let e = found.email;
    let all = events::for_email(&state.db, &m.project.id, &e.contact_id, &e.id).await?;
    let headers = match serde_json::from_str::<Value>(&e.headers) {
        Ok(Value::Object(map)) => map
            .into_iter()
            .map(|(k, v)| (k, v.as_str().map_or_else(|| v.to_string(), str::to_string)))
            .collect(),
        _ => Vec::new(),
    };
    let facts = vec![
        ("Queued", when(e.created_at)),
        ("Sent", when_opt(e.sent_at)),
        ("Delivered", when_opt(e.delivered_at)),
        ("First opened by a person", when_opt(e.opened_at)),
        ("First clicked by a person", when_opt(e.clicked_at)),
    ];
    let mut lines = Vec::new();
    let mut hits = Vec::new();
    for ev in &all {
        let line = EventLine::new(ev, None);
        if line.verdict.is_some() {
            let data: Value = serde_json::from_str(&ev.data).unwrap_or(Value::Null);
            let text = |k: &str| {
                data.get(k)
                    .and_then(Value::as_str)
                    .unwrap_or("—")
                    .to_string()
            };
            hits.push(HitRow {
                user_agent: text("userAgent"),
                ip: text("ip"),
                line,
            });
        } else {
            lines.push(line);
        }
    }
    let page = EmailPage {
        nav: Nav::new(&m, "contacts"),
        has_html: found.bodies.html.as_deref().is_some_and(|h| !h.is_empty()),
        text: found.bodies.text.unwrap_or_default(),
        removed: found.bodies.purged_at.map(when),
        headers,
        facts,
        lines,
        hits,
        email: e,
    };
    Ok(page.into_response())
}
