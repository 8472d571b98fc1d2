//! WEBHOOK steps against a local receiver: the signature, retries, a failure for good, and
//! redirects never followed.

use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use super::{all, kinds, track, until, workflow};
use crate::helpers::{Opts, TestApp, spawn_with};

/// Beacon allowed to post to the local receiver (webhooks reach only public addresses unless
/// BEACON_WEBHOOK_ALLOW names the host or range).
pub async fn spawn_allowing_loopback() -> TestApp {
    spawn_with(Opts {
        configure: Some(|s| {
            s.webhook_allow = beacon::workflows::guard::AllowList::parse("127.0.0.1").unwrap();
        }),
        ..Opts::default()
    })
    .await
}

/// (path, signature header, body) of a request.
pub type Seen = (String, String, Vec<u8>);

#[derive(Clone, Default)]
pub struct Receiver {
    pub seen: Arc<Mutex<Vec<Seen>>>,
}

/// Serves `/flaky` (500 twice, then 204), `/down` (always 503), `/moved` (302 to `/trap`).
pub async fn receiver() -> (String, Receiver) {
    let r = Receiver::default();
    async fn handle(
        State(r): State<Receiver>,
        uri: axum::http::Uri,
        headers: HeaderMap,
        body: axum::body::Bytes,
    ) -> Response {
        let path = uri.path().to_string();
        let sig = headers
            .get("x-beacon-signature")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let n = {
            let mut seen = r.seen.lock().unwrap();
            seen.push((path.clone(), sig, body.to_vec()));
            seen.iter().filter(|(p, _, _)| *p == path).count()
        };
        match path.as_str() {
            "/flaky" if n <= 2 => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
            "/flaky" | "/trap" => StatusCode::NO_CONTENT.into_response(),
            "/moved" => (StatusCode::FOUND, [("location", "/trap")]).into_response(),
            _ => StatusCode::SERVICE_UNAVAILABLE.into_response(),
        }
    }
    let app = axum::Router::new()
        .route("/{path}", post(handle))
        .with_state(r.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, r)
}

fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256={hex}")
}

#[tokio::test]
async fn a_webhook_is_signed_and_retried_until_it_succeeds() {
    let app = spawn_allowing_loopback().await;
    let (base, rx) = receiver().await;
    let wf = workflow(
        &app,
        json!({
            "name": "Notify CRM", "trigger": { "event": "signup" },
            "steps": [{ "id": "hook", "type": "WEBHOOK", "url": format!("{base}/flaky") }],
        }),
    )
    .await;
    let secret = wf["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_"));
    let contact = track(
        &app,
        "w@example.com",
        "signup",
        json!({ "data": { "plan": "pro" } }),
    )
    .await;
    let list = until(&app, &wf, all("COMPLETED", 1)).await;
    assert_eq!(
        kinds(&list[0]),
        ["entered", "retry", "retry", "webhook", "completed"]
    );

    let seen = rx.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 3);
    for (_, sig, body) in &seen {
        assert_eq!(*sig, sign(&secret, body), "signature over the exact body");
    }
    let body: Value = serde_json::from_slice(&seen[2].2).unwrap();
    assert_eq!(body["workflow"]["id"], wf["id"]);
    assert_eq!(body["execution"]["id"], list[0]["id"]);
    assert_eq!(body["contact"]["id"], contact.as_str());
    assert_eq!(body["contact"]["email"], "w@example.com");
    assert_eq!(body["event"]["name"], "signup");
    assert_eq!(body["event"]["data"]["plan"], "pro");
    app.stop().await;
}

#[tokio::test]
async fn a_webhook_that_keeps_failing_fails_the_step_and_redirects_are_not_followed() {
    let app = spawn_allowing_loopback().await;
    let (base, rx) = receiver().await;
    let down = workflow(
        &app,
        json!({
            "name": "Down", "trigger": { "event": "signup" },
            "steps": [
                { "id": "hook", "type": "WEBHOOK", "url": format!("{base}/down"), "next": "after" },
                { "id": "after", "type": "UPDATE_CONTACT", "data": { "after": true } },
            ],
        }),
    )
    .await;
    let moved = workflow(
        &app,
        json!({
            "name": "Moved", "trigger": { "event": "signup" },
            "steps": [{ "id": "hook", "type": "WEBHOOK", "url": format!("{base}/moved") }],
        }),
    )
    .await;
    track(&app, "f@example.com", "signup", json!({})).await;
    let list = until(&app, &down, all("FAILED", 1)).await;
    assert_eq!(
        kinds(&list[0]),
        ["entered", "retry", "retry", "retry", "failed"]
    );
    let reason = list[0]["history"][4]["detail"]["reason"].as_str().unwrap();
    assert!(
        reason.contains("failed 4 times") && reason.contains("503"),
        "{reason}"
    );
    assert_eq!(list[0]["step"], "hook");

    let list = until(&app, &moved, all("FAILED", 1)).await;
    let reason = list[0]["history"][4]["detail"]["reason"].as_str().unwrap();
    assert!(
        reason.contains("302") && reason.contains("redirects are not followed"),
        "{reason}"
    );
    let seen = rx.seen.lock().unwrap().clone();
    assert_eq!(seen.iter().filter(|(p, _, _)| p == "/down").count(), 4);
    assert_eq!(seen.iter().filter(|(p, _, _)| p == "/trap").count(), 0);
    app.stop().await;
}
