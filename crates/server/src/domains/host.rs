//! Which host a request came to.
//!
//! - **Beacon's own**: no `Host` header, the public URL's host, an IP address or `localhost`
//!   (any port): everything works as it always did, every token on every tracking path.
//! - **A project's tracking domain** (verified at least once, live or removed): only the
//!   tracking paths (`/o/`, `/c/`, `/unsubscribe/`) answer, and only for tokens of that
//!   project's emails; any other token or path is a 404, so one project's domain cannot be used
//!   to bounce through another's links.
//! - **Any other host**: a 404 on the tracking paths; other paths as on Beacon's own host.
//!
//! [`by_host`] is the middleware in front of every route but the pixel and the click redirect:
//! those two, the hottest paths Beacon has, call [`admit`] themselves once their token is open
//! (a middleware's per-request cost was measurable there, and it would open the token twice).
//!
//! The `Host` header is the client's to forge: it is parsed as a [`Hostname`] before anything
//! is looked up, and garbage is just another unknown host.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use beacon_tracking::token::strip_extension;

use crate::domain::Hostname;
use crate::startup::AppState;

/// Where a request came to.
#[derive(Debug, PartialEq, Eq)]
pub enum Arrival {
    Own,
    /// Another host, parsed (`None`: not a hostname at all).
    Other(Option<Hostname>),
}

/// Classifies a `Host` header value (`None`: no header); `is_own` tells the public URL's host
/// (any case, no port). Beacon's own hosts are told without allocating.
pub fn arrival(is_own: impl Fn(&str) -> bool, host: Option<&[u8]>) -> Arrival {
    let Some(raw) = host else {
        return Arrival::Own;
    };
    let Ok(raw) = std::str::from_utf8(raw) else {
        return Arrival::Other(None);
    };
    let name = without_port(raw.trim());
    let bare = name
        .strip_prefix('[')
        .and_then(|n| n.strip_suffix(']'))
        .unwrap_or(name);
    if name.eq_ignore_ascii_case("localhost")
        || bare.parse::<std::net::IpAddr>().is_ok()
        || is_own(name)
    {
        return Arrival::Own;
    }
    Arrival::Other(Hostname::parse(name).ok())
}

/// `host[:port]` → host; an IPv6 literal keeps its brackets.
fn without_port(value: &str) -> &str {
    if value.starts_with('[') {
        return value
            .split_once(']')
            .map_or(value, |(h, _)| &value[..=h.len()]);
    }
    match value.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => value,
    }
}

/// The tracking paths and the token each carries: `(kind, token)`.
fn tracking_token(path: &str) -> Option<(char, &str)> {
    let (kind, rest) = if let Some(rest) = path.strip_prefix("/o/") {
        ('o', strip_extension(rest))
    } else if let Some(rest) = path.strip_prefix("/c/") {
        ('c', rest)
    } else if let Some(rest) = path.strip_prefix("/unsubscribe/") {
        ('u', rest)
    } else {
        return None;
    };
    Some((kind, rest))
}

fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "This link is not valid.\n",
    )
        .into_response()
}

fn unavailable(e: &sqlx::Error, what: &str) -> Response {
    tracing::error!(error = %e, "looking up {what} failed");
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::RETRY_AFTER, "5")],
    )
        .into_response()
}

/// For a tracking path whose token is open: whether the email's hit is served on the host the
/// request came to; `Err` is the answer to give instead (a 404, or a 503 when the store could
/// not be asked).
///
/// # Errors
/// See above.
pub async fn admit(state: &AppState, headers: &HeaderMap, email: [u8; 16]) -> Result<(), Response> {
    let host = headers
        .get(header::HOST)
        .map(axum::http::HeaderValue::as_bytes);
    match arrival(|h| state.domains.is_own(h), host) {
        Arrival::Own => Ok(()),
        Arrival::Other(None) => Err(not_found()),
        Arrival::Other(Some(name)) => match state.domains.serving(&state.db, name.as_str()).await {
            Ok(Some(project)) => email_of(state, email, &project).await,
            Ok(None) => Err(not_found()),
            Err(e) => Err(unavailable(&e, "a tracking domain")),
        },
    }
}

/// The email is one of `project`'s, or the 404 (503) to answer.
async fn email_of(state: &AppState, email: [u8; 16], project: &str) -> Result<(), Response> {
    match state.domains.email_in(&state.db, email, project).await {
        Ok(true) => Ok(()),
        Ok(false) => Err(not_found()),
        Err(e) => Err(unavailable(&e, "a tracked email's project")),
    }
}

/// The middleware (see the module's documentation).
pub async fn by_host(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let host = request
        .headers()
        .get(header::HOST)
        .map(axum::http::HeaderValue::as_bytes);
    let Arrival::Other(name) = arrival(|h| state.domains.is_own(h), host) else {
        return next.run(request).await;
    };
    let token = tracking_token(request.uri().path());
    let Some(name) = name else {
        return match token {
            Some(_) => not_found(),
            None => next.run(request).await,
        };
    };
    let project = match state.domains.serving(&state.db, name.as_str()).await {
        Ok(project) => project,
        Err(e) => return unavailable(&e, "a tracking domain"),
    };
    match (project, token) {
        (None, None) => next.run(request).await,
        (None, Some(_)) | (Some(_), None) => not_found(),
        (Some(project), Some((kind, token))) => {
            let keys = &state.tracking.keyring;
            let email = match kind {
                'c' => keys.open_click(token).map(|c| c.email_id),
                _ => keys.open_open(token),
            };
            let Ok(email) = email else {
                return not_found();
            };
            match email_of(&state, email, &project).await {
                Ok(()) => next.run(request).await,
                Err(response) => response,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arrives(host: &[u8]) -> Arrival {
        arrival(|h| h.eq_ignore_ascii_case("beacon.example.com"), Some(host))
    }

    #[test]
    fn beacons_own_hosts_are_told_apart_from_any_other() {
        assert_eq!(arrival(|_| false, None), Arrival::Own);
        for own in [
            &b"beacon.example.com"[..],
            b"BEACON.example.com:8443",
            b"127.0.0.1:8080",
            b"[::1]:8080",
            b"localhost:8080",
            b"10.1.2.3",
        ] {
            assert_eq!(
                arrives(own),
                Arrival::Own,
                "{}",
                String::from_utf8_lossy(own)
            );
        }
        assert_eq!(
            arrives(b"Links.Shop.test:443"),
            Arrival::Other(Hostname::parse("links.shop.test").ok())
        );
        // Whatever a client writes is just another host, never Beacon's own.
        for hostile in [
            &b"beacon.example.com.evil.test"[..],
            b"evil.test/beacon.example.com",
            b"beacon.example.com@evil.test",
            b"\xff\xfe",
            b"a b",
            b"",
            b"[::1",
        ] {
            assert!(
                matches!(arrives(hostile), Arrival::Other(_)),
                "{}",
                String::from_utf8_lossy(hostile)
            );
        }
    }

    #[test]
    fn ports_are_dropped() {
        assert_eq!(without_port("links.example.com:8080"), "links.example.com");
        assert_eq!(without_port("[::1]:8080"), "[::1]");
        assert_eq!(without_port("[::1]"), "[::1]");
        assert_eq!(without_port("a.example:x"), "a.example:x");
    }

    #[test]
    fn tracking_paths_carry_their_token() {
        assert_eq!(tracking_token("/o/abc.gif"), Some(('o', "abc")));
        assert_eq!(tracking_token("/c/abc"), Some(('c', "abc")));
        assert_eq!(tracking_token("/unsubscribe/abc"), Some(('u', "abc")));
        assert_eq!(tracking_token("/v1/send"), None);
    }
}
