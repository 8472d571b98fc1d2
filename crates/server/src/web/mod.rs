//! The dashboard: server-rendered pages beside the API, on the same port, state and store.
//!
//! Pages are askama templates (`crates/server/templates/`, compile-time checked, escaped);
//! every action is a plain form POST carrying the session's CSRF token, and htmx (vendored,
//! `assets/`) only refreshes parts of pages that work without it. What an action means lives in
//! `crate::actions`, shared with the API; a handler here reads a form and renders a page.
//! Every page under `/p/{pid}/` checks that the signed-in user is a member of that project
//! (`session::Member`), and answers 404 otherwise, as for an id that does not exist.

mod activity;
mod analytics;
mod assets;
mod auth;
mod campaign_draft;
mod campaign_results;
mod campaign_send;
mod campaigns;
mod chart;
mod contacts;
mod domains;
mod email_list;
mod emails;
mod home;
mod page;
mod preview;
mod projects;
mod segment_form;
mod segments;
mod session;
mod settings;
mod team;
mod templates;
mod view;
mod workflows;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::startup::AppState;

pub use page::not_found_page;

/// Every page's policy: nothing but this origin's own scripts, styles and frames (the email
/// preview), no inline script or style, no framing of the dashboard by others.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
    connect-src 'self'; frame-src 'self'; form-action 'self'; frame-ancestors 'none'; \
    base-uri 'none'";

pub fn routes() -> Router<AppState> {
    let project = Router::new()
        .route("/", get(home::page))
        .route("/contacts", get(contacts::list).post(contacts::add))
        .route("/contacts/{cid}", get(contacts::show))
        .route("/contacts/{cid}/subscription", post(contacts::subscription))
        .route("/contacts/{cid}/delete", post(contacts::delete))
        .route("/activity", get(activity::page))
        .route("/analytics", get(analytics::page))
        .route("/preview", post(preview::draft))
        .route("/templates", get(templates::list).post(templates::create))
        .route("/templates/new", get(templates::new_page))
        .route(
            "/templates/{tid}",
            get(templates::show).post(templates::update),
        )
        .route("/templates/{tid}/delete", post(templates::delete))
        .route("/segments", get(segments::list).post(segments::create))
        .route("/segments/new", get(segments::new_page))
        .route("/segments/count", post(segments::live_count))
        .route(
            "/segments/{sid}",
            get(segments::show).post(segments::update),
        )
        .route("/segments/{sid}/count", get(segments::count))
        .route("/segments/{sid}/delete", post(segments::delete))
        .route("/campaigns", get(campaigns::list).post(campaigns::create))
        .route("/campaigns/new", get(campaign_draft::new_page))
        .route("/campaigns/tracking", get(campaign_draft::tracking_note))
        .route(
            "/campaigns/{cid}",
            get(campaigns::show).post(campaigns::update),
        )
        .route("/campaigns/{cid}/test", post(campaigns::test))
        .route(
            "/campaigns/{cid}/send",
            get(campaign_send::confirm).post(campaign_send::send),
        )
        .route("/campaigns/{cid}/cancel", post(campaign_send::cancel))
        .route("/campaigns/{cid}/delete", post(campaign_send::delete))
        .route("/campaigns/{cid}/people", get(campaign_results::people))
        .route(
            "/campaigns/{cid}/people.csv",
            get(campaign_results::people_csv),
        )
        .route(
            "/campaigns/{cid}/people/segment",
            post(campaign_results::people_segment),
        )
        .route("/workflows", get(workflows::list).post(workflows::create))
        .route("/workflows/new", get(workflows::new_page))
        .route(
            "/workflows/{wid}",
            get(workflows::show).post(workflows::update),
        )
        .route("/workflows/{wid}/enabled", post(workflows::switch))
        .route("/workflows/{wid}/delete", post(workflows::delete))
        .route("/workflows/{wid}/executions", get(workflows::executions))
        .route("/emails", get(email_list::list))
        .route("/emails/{eid}", get(emails::show))
        .route("/emails/{eid}/preview", get(preview::show))
        .route("/settings", get(settings::index))
        .route(
            "/settings/tracking",
            get(settings::tracking).post(settings::save_tracking),
        )
        .route("/settings/links", post(settings::save_links))
        .route("/settings/domains", get(domains::show).post(domains::add))
        .route("/settings/domains/{did}/{action}", post(domains::act))
        .route("/settings/keys", get(settings::keys))
        .route("/settings/keys/regenerate", post(settings::regenerate))
        .route("/settings/team", get(team::page).post(team::add))
        .route("/settings/team/{uid}/role", post(team::role))
        .route("/settings/team/{uid}/remove", post(team::remove))
        .route(
            "/settings/project",
            get(projects::settings).post(projects::rename),
        )
        .route("/settings/project/delete", post(projects::delete));
    Router::new()
        .route("/", get(auth::root))
        .route("/setup", get(auth::setup_page).post(auth::setup))
        .route("/login", get(auth::login_page).post(auth::login))
        .route("/logout", post(auth::logout))
        .route("/invite/{token}", get(auth::invite_page).post(auth::accept))
        .route("/projects", get(projects::list).post(projects::create))
        // `/p/{pid}` is the project's home; the nested "/" does not match a trailing slash.
        .route("/p/{pid}/", get(home::page))
        .nest("/p/{pid}", project)
        .route("/static/{name}", get(assets::serve))
        .layer(middleware::from_fn(security_headers))
}

/// Pages are private and change with every action: never cached, never framed by others,
/// never sniffed. A response that set its own policy (the email preview) keeps it.
async fn security_headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        );
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    res
}

/// Whether an unmatched request wants a page (a browser navigating) rather than JSON.
pub fn wants_html(req: &Request) -> bool {
    let path = req.uri().path();
    if path.starts_with("/v1/") || path.starts_with("/webhooks/") {
        return false;
    }
    req.headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"))
}

/// The answer for an unmatched path that a browser asked for.
pub fn fallback_page() -> Response {
    let mut res = not_found_page().into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    res
}
