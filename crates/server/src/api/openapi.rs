//! The OpenAPI 3.1 document of Beacon's public routes, generated from the handlers' own
//! annotations and the types they read and answer (utoipa), served at `GET /openapi.json` and
//! committed as `docs/openapi.json` (a test fails when the two differ).
//!
//! Covered: every `/v1/` route (Beacon's and Plunk's), the tracking endpoints `/o/` and `/c/`,
//! the unsubscribe pages, `POST /webhooks/sns`, `GET /tls/ask`, `/health`, `/metrics` and this
//! document. Not
//! covered: the dashboard's HTML pages and forms (`/`, `/login`, `/p/…`, `/static/…`), which are
//! a user interface, not a contract.

use std::sync::OnceLock;

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use utoipa::Modify;
use utoipa::OpenApi;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};

use crate::startup::AppState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Beacon",
        description = "A self-hostable email platform engine with first-class open and click \
            tracking, speaking Plunk's public API. docs/API.md explains every rule.",
        license(name = "AGPL-3.0-only", identifier = "AGPL-3.0-only"),
    ),
    paths(
        super::send::send,
        super::track::track,
        super::contacts::upsert, super::contacts::list, super::contacts::find,
        super::contacts::get_one, super::contacts::patch, super::contacts::remove,
        super::contacts::list_events,
        super::templates::create, super::templates::list, super::templates::get_one,
        super::templates::patch, super::templates::remove,
        super::emails::get_email, super::emails::list_outbox, super::emails::get_outbox,
        super::project::get_project, super::project::patch_project,
        super::project::regenerate_keys,
        super::domains::create, super::domains::list, super::domains::get_one,
        super::domains::verify, super::domains::remove, super::domains::ask,
        super::stats::project_stats,
        super::segments::create, super::segments::list, super::segments::get_one,
        super::segments::patch, super::segments::remove, super::segments::contacts,
        super::segments::count,
        super::campaigns::create, super::campaigns::list, super::campaigns::get_one,
        super::campaigns::patch, super::campaigns::remove, super::campaigns::send,
        super::campaigns::cancel, super::campaigns::test_send,
        super::campaign_stats::stats,
        super::workflows::create, super::workflows::list, super::workflows::get_one,
        super::workflows::patch, super::workflows::remove,
        super::workflow_runs::executions, super::workflow_runs::stats,
        super::plunk::update_contact, super::plunk::delete_contact, super::plunk::count,
        super::plunk::subscribe, super::plunk::unsubscribe, super::plunk::update_campaign,
        super::plunk::delete_campaign, super::plunk::send_campaign,
        crate::tracking::endpoints::open, crate::tracking::endpoints::click,
        super::unsubscribe::confirm_page, super::unsubscribe::unsubscribe,
        super::webhooks::sns,
        super::health::health, super::metrics::metrics,
        openapi_json,
    ),
    modifiers(&Keys),
    security(("secretKey" = [])),
)]
struct ApiDoc;

/// The two bearer keys: every operation takes the secret key unless it says otherwise.
struct Keys;

impl Modify for Keys {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        let bearer = |what: &str| {
            let mut http = Http::new(HttpAuthScheme::Bearer);
            http.description = Some(what.to_string());
            SecurityScheme::Http(http)
        };
        components.add_security_scheme(
            "secretKey",
            bearer("The project's secret key, `sk_…`: every /v1/ endpoint."),
        );
        components.add_security_scheme(
            "publicKey",
            bearer(
                "The project's public key, `pk_…`: browser-safe, only where an operation lists \
                 it; rate-limited per key and per client address (429 with Retry-After).",
            ),
        );
    }
}

/// The document as JSON, pretty-printed with a final line break (as `docs/openapi.json` is).
pub fn json() -> &'static str {
    static JSON: OnceLock<String> = OnceLock::new();
    JSON.get_or_init(|| {
        let mut text = ApiDoc::openapi()
            .to_pretty_json()
            .expect("the OpenAPI document serialises");
        text.push('\n');
        text
    })
}

pub fn routes() -> Router<AppState> {
    Router::new().route("/openapi.json", get(openapi_json))
}

/// This document.
#[utoipa::path(get, path = "/openapi.json", tag = "Operations", security(()),
    responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json", body = Object)))]
async fn openapi_json() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], json())
}
