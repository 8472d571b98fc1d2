//! An email's delivered HTML for the dashboard's preview frame, with tracking taken out: the
//! pixel removed and every tracked link pointing at its destination, so loading the preview or
//! clicking in it records nothing. The frame is sandboxed twice: by the `<iframe sandbox>` of
//! the email page and by this response's own `sandbox` policy (no scripts, no forms, no
//! same-origin access even when opened on its own).

use std::cell::RefCell;
use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};
use beacon_tracking::preview::{Fate, neutralise};
use beacon_tracking::redirect;
use beacon_tracking::rewrite::StoredDestination;
use beacon_tracking::token::{self, DestinationId, KeyRing, Target};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::page::{PageError, PageResult};
use super::session::Member;
use crate::render::{BodyType, Content};
use crate::startup::AppState;
use crate::store::emails;

/// The preview's policy: remote images and styles as a mail client would load them, nothing
/// else; framed only by the dashboard itself.
pub const PREVIEW_CSP: &str = "sandbox; default-src 'none'; img-src http: https: data: cid:; \
    style-src 'unsafe-inline' http: https:; font-src http: https: data:; frame-ancestors 'self'";

/// The stored starts of long links' destinations, by id (see `beacon_tracking::redirect`).
pub type Stored = HashMap<DestinationId, StoredDestination>;

/// Whether a URL in a delivered email is one of Beacon's tracking URLs, by its path (on any
/// host: links sent under an earlier public URL or a tracking domain count too) and by its
/// token verifying under the deployment's keys. A tracked link becomes its destination (a long
/// one's from `stored`; without its row the link is dropped, never left tracked).
pub fn judge(keys: &KeyRing, stored: &Stored, url: &str) -> Fate {
    let path = url
        .split_once("://")
        .map_or(url, |(_, rest)| rest.find('/').map_or("", |i| &rest[i..]));
    let path = path.split(['?', '#']).next().unwrap_or("");
    if let Some(segment) = path.strip_prefix("/o/")
        && keys.open_open(token::strip_extension(segment)).is_ok()
    {
        return Fate::Remove;
    }
    if let Some(segment) = path.strip_prefix("/c/")
        && let Ok(click) = keys.open_click(segment)
    {
        let row = match &click.target {
            Target::Stored { id, .. } => stored.get(id),
            Target::Inline { .. } => None,
        };
        return match redirect::resolve(click, row) {
            Ok(to) => Fate::Replace(to.url),
            Err(_) => Fate::Remove,
        };
    }
    Fate::Keep
}

/// The stored destinations the email's long links need, read before the (synchronous) rewrite.
async fn stored_for(state: &AppState, html: &str) -> Result<Stored, sqlx::Error> {
    let keys = &state.tracking.keyring;
    let ids = RefCell::new(Vec::new());
    // A pass for its judge's calls only: they see every URL as `neutralise` decodes it.
    let _ = neutralise(html, |url| {
        let segment = url.rsplit_once("/c/").map_or("", |(_, t)| t);
        if let Ok(click) = keys.open_click(segment)
            && let Target::Stored { id, .. } = click.target
        {
            ids.borrow_mut().push(id);
        }
        Fate::Keep
    });
    let mut stored = Stored::new();
    for id in ids.into_inner() {
        if let Some(row) = state.tracking.stored_destination(&state.db, id).await? {
            stored.insert(id, row);
        }
    }
    Ok(stored)
}

#[derive(Deserialize)]
pub struct EmailPath {
    pub eid: String,
}

/// The project's email with its bodies, or the 404 page.
pub async fn email_of(
    state: &AppState,
    m: &Member,
    id: &str,
) -> PageResult<emails::EmailWithBodies> {
    emails::get(&state.db, &m.project.id, id)
        .await?
        .ok_or(PageError::NotFound)
}

pub async fn show(
    State(state): State<AppState>,
    m: Member,
    Path(p): Path<EmailPath>,
) -> PageResult {
    let found = email_of(&state, &m, &p.eid).await?;
    let html = found.bodies.html.unwrap_or_default();
    let stored = stored_for(&state, &html).await?;
    let keys = &state.tracking.keyring;
    let safe = neutralise(&html, |url| judge(keys, &stored, url));
    Ok(sandboxed(Html(safe).into_response()))
}

#[cfg(test)]
mod tests {
    use super::{Stored, judge};
    use beacon_tracking::preview::Fate;
    use beacon_tracking::rewrite::StoredDestination;
    use beacon_tracking::token::{ClickToken, DestinationId, KeyRing, SigningKey};

    #[test]
    fn only_verified_tracking_urls_are_neutralised() {
        let keys = KeyRing::new(SigningKey::new(1, [7; 32]), vec![]);
        let open = keys.seal_open([1; 16]);
        let click = keys.seal_click(&ClickToken::inline(
            [1; 16],
            0,
            "https://example.com/a?b=1",
            None,
        ));
        let none = Stored::new();
        assert_eq!(
            judge(&keys, &none, &format!("https://t.test/o/{open}.gif")),
            Fate::Remove
        );
        assert_eq!(
            judge(&keys, &none, &format!("http://other.test:8080/c/{click}")),
            Fate::Replace("https://example.com/a?b=1".into())
        );
        assert_eq!(judge(&keys, &none, "https://t.test/c/forged"), Fate::Keep);
        assert_eq!(
            judge(&keys, &none, "https://example.com/o/x.gif"),
            Fate::Keep
        );
        assert_eq!(judge(&keys, &none, "mailto:a@b.test"), Fate::Keep);
        // A long link: its stored start and sealed rest, or dropped without its row.
        let id = DestinationId::of("https://example.com/long", None);
        let long = keys.seal_click_stored([1; 16], 1, id, "?page=2");
        let url = format!("https://t.test/c/{long}");
        assert_eq!(judge(&keys, &none, &url), Fate::Remove);
        let row = StoredDestination {
            id,
            url: "https://example.com/long".into(),
            tag: None,
        };
        let stored = Stored::from([(id, row)]);
        assert_eq!(
            judge(&keys, &stored, &url),
            Fate::Replace("https://example.com/long?page=2".into())
        );
    }
}

/// What an editor posts into its preview frame: the body and the type (a marketing or headless
/// one gets the unsubscribe footer it will be sent with).
#[derive(Deserialize)]
pub struct DraftPreview {
    #[serde(default)]
    body: String,
    #[serde(default)]
    kind: String,
}

/// A body being written, as it will look, rendered without tracking for the editors' preview
/// frame (the campaign and template forms post here, into the frame). Variables show their
/// fallback or nothing; the unsubscribe link points nowhere.
pub async fn draft(
    State(state): State<AppState>,
    m: Member,
    super::session::Form(f): super::session::Form<DraftPreview>,
) -> Response {
    let content = Content {
        subject: "preview".into(),
        body: f.body,
        kind: BodyType::Html,
    };
    let marketing = f.kind != "TRANSACTIONAL";
    let links = crate::links::for_send(&m.project, None);
    let mut vars = Map::new();
    vars.insert(
        "unsubscribeUrl".into(),
        Value::String("#unsubscribe".into()),
    );
    let html = crate::render::Prepared::new(&content, marketing, &state.tracking.rewrite, &links)
        .render(&vars, None)
        .map(|r| r.html)
        .unwrap_or_else(|e| {
            format!(
                "<p>This body cannot be shown: {}</p>",
                beacon_tracking::html::escape(&e.to_string())
            )
        });
    sandboxed(Html(html).into_response())
}

/// The preview frame's headers: its own sandbox and policy, framed by the dashboard only.
fn sandboxed(mut res: Response) -> Response {
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(PREVIEW_CSP),
    );
    h.insert(
        header::X_FRAME_OPTIONS,
        HeaderValue::from_static("SAMEORIGIN"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    res
}
