//! `GET`/`HEAD /o/{token}` (the open pixel) and `/c/{token}` (the click redirect).
//!
//! A token that fails verification gets a plain 404 — never a redirect, so a Beacon host can
//! never be used as an open redirect; so does a valid token naming a stored destination that is
//! not there. A valid one is answered after its hit is committed (or after the ingest bound, see
//! `ingest.rs`); a valid token whose email is gone still redirects. The `Location` is the link's
//! destination as sealed or stored at send time (`beacon_tracking::redirect`).

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use beacon_tracking::classify::{self, HitKind, Verdict};
use beacon_tracking::redirect;
use beacon_tracking::token::{Target, strip_extension};

use super::apply::{Hit, Kind, Link};
use crate::domains::host;
use crate::startup::AppState;
use crate::store;

/// The classic 43-byte transparent 1×1 GIF.
pub const PIXEL: [u8; 43] = [
    0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00,
    0xff, 0xff, 0xff, 0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3b,
];

fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "This link is not valid.\n",
    )
        .into_response()
}

/// The store could not be asked for a stored destination: try again, nothing recorded.
fn unavailable() -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::RETRY_AFTER, "5"),
        ],
        "This link cannot be followed right now; please try again.\n",
    )
        .into_response()
}

fn no_store(headers: &mut HeaderMap) {
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-store, no-cache, must-revalidate, private"),
    );
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    headers.insert(header::EXPIRES, HeaderValue::from_static("0"));
}

/// The open pixel: a 43-byte transparent GIF; `HEAD` gets the headers only. Any extension
/// after the token's first `.` is ignored.
#[utoipa::path(get, path = "/o/{token}", tag = "Tracking", security(()),
    params(("token" = String, Path, description = "A sealed open token, optionally with `.gif`")),
    responses((status = 200, description = "The pixel", content_type = "image/gif", body = Vec<u8>),
        (status = 404, description = "A bad token", content_type = "text/plain", body = String)))]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn open(
    State(state): State<AppState>,
    Path(token): Path<String>,
    request: Request,
) -> Response {
    let Ok(email_id) = state.tracking.keyring.open_open(strip_extension(&token)) else {
        return not_found();
    };
    if let Err(refused) = host::admit(&state, request.headers(), email_id).await {
        return refused;
    }
    let hit = hit(&state, Kind::Open, email_id, None, &request.into_parts().0).await;
    state.tracking.ingest.record(hit).await;
    let mut response = (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "image/gif")],
        PIXEL.as_slice(),
    )
        .into_response();
    no_store(response.headers_mut());
    response
}

/// A tracked link: a redirect to the destination sealed in the token, never anywhere else.
#[utoipa::path(get, path = "/c/{token}", tag = "Tracking", security(()),
    params(("token" = String, Path, description = "A sealed click token")),
    responses((status = 302, description = "To the link's destination",
            headers(("Location" = String, description = "The destination"))),
        (status = 404, description = "A bad token", content_type = "text/plain", body = String),
        (status = 503, description = "A long link's stored destination could not be read",
            content_type = "text/plain", body = String,
            headers(("Retry-After" = u64, description = "Seconds")))))]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn click(
    State(state): State<AppState>,
    Path(token): Path<String>,
    request: Request,
) -> Response {
    let Ok(click) = state.tracking.keyring.open_click(&token) else {
        return not_found();
    };
    if let Err(refused) = host::admit(&state, request.headers(), click.email_id).await {
        return refused;
    }
    let stored = match &click.target {
        Target::Stored { id, .. } => {
            match state.tracking.stored_destination(&state.db, *id).await {
                Ok(row) => row,
                Err(e) => {
                    tracing::error!(error = %e, "reading a stored link destination failed");
                    return unavailable();
                }
            }
        }
        Target::Inline { .. } => None,
    };
    let Ok(to) = redirect::resolve(click, stored.as_ref()) else {
        return not_found();
    };
    // `resolve` checked it is printable ASCII; a header must still accept it.
    let Ok(location) = HeaderValue::from_str(&to.url) else {
        return not_found();
    };
    let link = Link {
        url: to.url,
        index: to.link_index,
        tag: to.tag,
    };
    let hit = hit(
        &state,
        Kind::Click,
        to.email_id,
        Some(link),
        &request.into_parts().0,
    )
    .await;
    state.tracking.ingest.record(hit).await;
    let mut response = StatusCode::FOUND.into_response();
    response.headers_mut().insert(header::LOCATION, location);
    no_store(response.headers_mut());
    response
}

/// Builds the hit with its human/machine verdict and the client data the privacy setting keeps.
/// It reads the request in place (the `HeaderMap` extractor would copy every header).
async fn hit(
    state: &AppState,
    kind: Kind,
    email_id: [u8; 16],
    link: Option<Link>,
    request: &Parts,
) -> Hit {
    let (method, headers) = (&request.method, &request.headers);
    let id = uuid::Uuid::from_bytes(email_id).to_string();
    let now = store::now_ms();
    let t = &state.tracking;
    let ip = client_of(request, state.settings.trust_forwarded_for);
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok());
    let purpose = ["sec-purpose", "purpose", "x-purpose", "x-moz"]
        .iter()
        .find_map(|h| headers.get(*h).and_then(|v| v.to_str().ok()));
    let arrival = t.sent.arrival(&state.db, email_id, now).await;
    let verdict = classify::classify(
        &classify::Hit {
            kind: if kind == Kind::Open {
                HitKind::Open
            } else {
                HitKind::Click
            },
            method: method.as_str(),
            user_agent,
            ip: Some(ip),
            purpose,
            secs_since_delivery: arrival.map(|s| (now - s) as f64 / 1000.0),
            at_ms: Some(now),
        },
        &t.classify,
    );
    // Bursts and re-checks need the email's other clicks: judged when the hit is applied.
    let client =
        (kind == Kind::Click).then(|| classify::fingerprint(&t.client_key, &id, ip, user_agent));
    Hit {
        kind,
        email_id: id,
        link,
        machine: match verdict {
            Verdict::Human => None,
            Verdict::Machine(reason) => Some(reason.as_str().to_string()),
        },
        scanner: match verdict {
            Verdict::Machine(reason) => reason.product().map(str::to_string),
            Verdict::Human => None,
        },
        ip: state.settings.hit_ip.apply(ip),
        user_agent: state
            .settings
            .hit_user_agent
            .then(|| user_agent.map(str::to_string))
            .flatten(),
        client,
        at: now,
    }
}

/// The client's address: the peer, or — behind a reverse proxy that Beacon is told to trust —
/// the address the proxy appended last to `X-Forwarded-For`. Also the public-key rate limit's.
pub fn client_of(request: &Parts, trust_forwarded_for: bool) -> IpAddr {
    // Always there under `serve`, which records the peer; a bare router (no peer) counts as local.
    let peer = request
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(SocketAddr::from(([127, 0, 0, 1], 0)), |c| c.0);
    client_ip(&request.headers, peer, trust_forwarded_for)
}

/// The peer address, or the last `X-Forwarded-For` entry when trusted (earlier entries are the
/// client's to forge).
fn client_ip(headers: &HeaderMap, peer: SocketAddr, trust_forwarded_for: bool) -> IpAddr {
    if trust_forwarded_for
        && let Some(ip) = headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .and_then(|last| last.trim().parse().ok())
    {
        return ip;
    }
    peer.ip()
}
