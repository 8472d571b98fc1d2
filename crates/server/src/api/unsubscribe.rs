//! The unsubscribe pages behind every marketing email's link and `List-Unsubscribe` header.
//!
//! A GET only shows a confirmation page: link scanners and prefetchers follow GETs, so a GET
//! must never unsubscribe anyone. The page's button POSTs; mail clients' one-click unsubscribe
//! (RFC 8058: `POST` with `List-Unsubscribe=One-Click`) POSTs too. The token is the email's
//! sealed id, so only the recipient's own email can unsubscribe them.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use crate::error::ApiResult;
use crate::startup::AppState;
use crate::store::{contacts, emails, events, projects};

pub fn routes() -> Router<AppState> {
    Router::new().route("/unsubscribe/{token}", get(confirm_page).post(unsubscribe))
}

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">\
         <meta name=\"robots\" content=\"noindex\"><title>{title}</title>\
         <style>body{{font:16px/1.5 system-ui,sans-serif;color:#1d2433;background:#f6f7f9;max-width:32em;\
         margin:4em auto;padding:0 1em}}main{{background:#fff;border:1px solid #e3e6eb;border-radius:8px;\
         padding:1.5em}}h1{{font-size:1.4em;margin-top:0}}button{{font:inherit;padding:.5em 1.2em;\
         border:0;border-radius:6px;background:#2f5bea;color:#fff;cursor:pointer}}</style></head>\
         <body><main>{body}</main></body></html>"
    );
    let mut r = (status, Html(html)).into_response();
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    r
}

fn invalid() -> Response {
    page(
        StatusCode::NOT_FOUND,
        "Link not valid",
        "<p>This unsubscribe link is not valid.</p>",
    )
}

/// The email behind a token, with its project's name; `None` for a bad token or a gone email.
async fn lookup(state: &AppState, token: &str) -> ApiResult<Option<(emails::Email, String)>> {
    let Ok(id) = state.tracking.keyring.open_open(token) else {
        return Ok(None);
    };
    let id = uuid::Uuid::from_bytes(id).to_string();
    let Some(email) = emails::by_id(&state.db, &id).await? else {
        return Ok(None);
    };
    let project = projects::get(&state.db, &email.project_id)
        .await?
        .map(|p| p.name)
        .unwrap_or_default();
    Ok(Some((email, project)))
}

/// A confirmation page with a button; a GET never unsubscribes (link scanners follow GETs).
#[utoipa::path(get, path = "/unsubscribe/{token}", tag = "Unsubscribe", security(()),
    params(("token" = String, Path, description = "The email's sealed id, from its unsubscribe link")),
    responses((status = 200, description = "The confirmation page", content_type = "text/html", body = String),
        (status = 404, description = "A bad token", content_type = "text/html", body = String),
        (status = 500, description = "The store failed", body = crate::error::ErrorBody)))]
async fn confirm_page(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> ApiResult<Response> {
    let Some((email, _project)) = lookup(&state, &token).await? else {
        return Ok(invalid());
    };
    let who = beacon_tracking::html::escape(&email.to_email);
    // The sender as the recipient saw it in the From line, not the project's internal name.
    let sender = match &email.from_name {
        Some(name) => format!("{name} ({})", email.from_email),
        None => email.from_email.clone(),
    };
    let from = beacon_tracking::html::escape(&sender);
    Ok(page(
        StatusCode::OK,
        "Unsubscribe",
        &format!(
            "<h1>Unsubscribe</h1><p>Stop marketing emails from {from} to <b>{who}</b>?</p>\
             <form method=\"post\"><button type=\"submit\" name=\"confirm\" value=\"yes\">Unsubscribe</button></form>"
        ),
    ))
}

/// Unsubscribes the email's contact (the page's button, or a mail client's RFC 8058 one-click
/// POST; any body).
#[utoipa::path(post, path = "/unsubscribe/{token}", tag = "Unsubscribe", security(()),
    params(("token" = String, Path, description = "The email's sealed id, from its unsubscribe link")),
    request_body(content = String, content_type = "application/x-www-form-urlencoded",
        description = "Any body, e.g. `List-Unsubscribe=One-Click`"),
    responses((status = 200, description = "Unsubscribed", content_type = "text/html", body = String),
        (status = 404, description = "A bad token", content_type = "text/html", body = String),
        (status = 500, description = "The store failed", body = crate::error::ErrorBody)))]
async fn unsubscribe(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> ApiResult<Response> {
    let Some((email, _)) = lookup(&state, &token).await? else {
        return Ok(invalid());
    };
    let changes = contacts::Changes {
        subscribed: Some(false),
        data: None,
    };
    let mut tx = state.db.begin().await?;
    let (contact, _) =
        contacts::upsert(&mut tx, &email.project_id, &email.to_email, &changes, false).await?;
    events::insert(
        &mut tx,
        events::NewEvent {
            project_id: &email.project_id,
            contact_id: &contact.id,
            email_id: Some(&email.id),
            name: "contact.unsubscribed",
            data: json!({ "emailId": email.id, "campaignId": email.campaign_id, "templateId": email.template_id }),
            meta: events::Meta {
                campaign_id: email.campaign_id.as_deref(),
                template_id: email.template_id.as_deref(),
                ..events::Meta::default()
            },
        },
    )
    .await?;
    tx.commit().await?;
    Ok(page(
        StatusCode::OK,
        "Unsubscribed",
        "<h1>You are unsubscribed</h1><p>You will get no more marketing emails from us.</p>",
    ))
}
