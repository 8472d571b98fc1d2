//! Calls with the public key (browser-safe, so anyone's) are rate-limited per client address
//! and per key: 429 with `Retry-After`, before the key is even looked up. The secret key is
//! not limited. Limits of 1 a second here, so two calls in a row are over whatever the
//! database's pace (bursts are tested in `api::ratelimit`'s unit tests).

use serde_json::{Value, json};

use crate::helpers::{Opts, TestApp, spawn_with};

async fn track(app: &TestApp, key: &str, client: &str) -> reqwest::Response {
    app.client
        .post(app.url("/v1/track"))
        .bearer_auth(key)
        // Tests trust X-Forwarded-For, so each value stands for a client address.
        .header("x-forwarded-for", client)
        .json(&json!({ "event": "visit", "email": "v@example.com" }))
        .send()
        .await
        .unwrap()
}

async fn count(app: &TestApp, client: &str) -> u16 {
    app.client
        .get(app.url("/v1/contacts/count"))
        .bearer_auth(&app.public_key)
        .header("x-forwarded-for", client)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn a_client_over_its_limit_gets_429_with_retry_after() {
    let app = spawn_with(Opts {
        configure: Some(|s| {
            s.public_key_client_rate = 1;
            s.public_key_rate = 1000;
        }),
        ..Opts::default()
    })
    .await;
    let pk = app.public_key.clone();
    assert_eq!(track(&app, &pk, "203.0.113.7").await.status(), 200);
    let refused = track(&app, &pk, "203.0.113.7").await;
    assert_eq!(refused.status(), 429);
    let wait: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&wait), "Retry-After: {wait}");
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["code"], 429);
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains("BEACON_PUBLIC_KEY_CLIENT_RATE"),
        "{message}"
    );
    // The secret key from the same address goes on.
    for _ in 0..5 {
        let r = track(&app, &app.secret_key, "203.0.113.7").await;
        assert_eq!(r.status(), 200);
    }
    // Made-up public keys are counted before the look-up: the second is refused unread.
    assert_eq!(track(&app, "pk_made_up", "203.0.113.8").await.status(), 401);
    assert_eq!(track(&app, "pk_made_up", "203.0.113.8").await.status(), 429);
    // Plunk's routes that take the public key are counted too.
    assert_eq!(count(&app, "203.0.113.9").await, 200);
    assert_eq!(count(&app, "203.0.113.9").await, 429);
    // The allowance comes back.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(track(&app, &pk, "203.0.113.7").await.status(), 200);
    app.stop().await;
}

#[tokio::test]
async fn a_key_over_its_limit_gets_429_from_every_address() {
    let app = spawn_with(Opts {
        configure: Some(|s| {
            s.public_key_client_rate = 1000;
            s.public_key_rate = 1;
        }),
        ..Opts::default()
    })
    .await;
    let pk = app.public_key.clone();
    assert_eq!(track(&app, &pk, "198.51.100.1").await.status(), 200);
    let refused = track(&app, &pk, "198.51.100.2").await;
    assert_eq!(refused.status(), 429);
    assert!(refused.headers().contains_key("retry-after"));
    let body: Value = refused.json().await.unwrap();
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("BEACON_PUBLIC_KEY_RATE")
    );
    app.stop().await;
}

#[tokio::test]
async fn zero_turns_the_limits_off() {
    let app = spawn_with(Opts {
        configure: Some(|s| {
            s.public_key_client_rate = 0;
            s.public_key_rate = 0;
        }),
        ..Opts::default()
    })
    .await;
    for _ in 0..30 {
        let r = track(&app, &app.public_key, "203.0.113.9").await;
        assert_eq!(r.status(), 200);
    }
    app.stop().await;
}
