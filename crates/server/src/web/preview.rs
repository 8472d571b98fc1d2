//! An email's delivered HTML for the dashboard's preview frame, with tracking taken out: the
//! pixel removed and every tracked link pointing at its destination, so loading the preview or
//! clicking in it records nothing. The frame is sandboxed twice: by the `<iframe sandbox>` of
//! the email page and by this response's own `sandbox` policy (no scripts, no forms, no
//! same-origin access even when opened on its own).

use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};
use beacon_tracking::preview::{Fate, neutralise};
use beacon_tracking::token::{self, KeyRing};
use serde::Deserialize;

use super::page::{PageError, PageResult};
use super::session::Member;
use crate::startup::AppState;
use crate::store::emails;

/// The preview's policy: remote images and styles as a mail client would load them, nothing
/// else; framed only by the dashboard itself.
pub const PREVIEW_CSP: &str = "sandbox; default-src 'none'; img-src http: https: data: cid:; \
    style-src 'unsafe-inline' http: https:; font-src http: https: data:; frame-ancestors 'self'";

/// Whether a URL in a delivered email is one of Beacon's tracking URLs, by its path (on any
/// host: links sent under an earlier public URL or a tracking domain count too) and by its
/// token verifying under the deployment's keys.
pub fn judge(keys: &KeyRing, url: &str) -> Fate {
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
        return Fate::Replace(click.url);
    }
    Fate::Keep
}

#[derive(Deserialize)]
pub struct EmailPath {
    pub eid: String,
}

pub async fn show(
    State(state): State<AppState>,
    m: Member,
    Path(p): Path<EmailPath>,
) -> PageResult {
    let found = emails::get(&state.db, &m.project.id, &p.eid)
        .await?
        .ok_or(PageError::NotFound)?;
    let html = found.bodies.html.unwrap_or_default();
    let keys = &state.tracking.keyring;
    let safe = neutralise(&html, |url| judge(keys, url));
    let mut res: Response = Html(safe).into_response();
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
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::judge;
    use beacon_tracking::preview::Fate;
    use beacon_tracking::token::{ClickToken, KeyRing, SigningKey};

    #[test]
    fn only_verified_tracking_urls_are_neutralised() {
        let keys = KeyRing::new(SigningKey::new(1, [7; 32]), vec![]);
        let open = keys.seal_open([1; 16]);
        let click = keys.seal_click(&ClickToken {
            email_id: [1; 16],
            link_index: 0,
            url: "https://example.com/a?b=1".into(),
            tag: None,
        });
        assert_eq!(
            judge(&keys, &format!("https://t.test/o/{open}.gif")),
            Fate::Remove
        );
        assert_eq!(
            judge(&keys, &format!("http://other.test:8080/c/{click}")),
            Fate::Replace("https://example.com/a?b=1".into())
        );
        assert_eq!(judge(&keys, "https://t.test/c/forged"), Fate::Keep);
        assert_eq!(judge(&keys, "https://example.com/o/x.gif"), Fate::Keep);
        assert_eq!(judge(&keys, "mailto:a@b.test"), Fate::Keep);
    }
}
