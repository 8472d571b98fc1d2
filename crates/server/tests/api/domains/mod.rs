//! Custom tracking domains: verified by a real DNS lookup (against `dns::DnsFixture`), put in
//! a project's emails only while verified, served only for that project's tokens
//! (`serving`); what may be added and who gets a contested name (`rules`).

mod rules;
mod serving;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::dns::DnsFixture;
use crate::helpers::{Opts, TestApp, spawn_with};
use crate::tracking::BROWSER;

pub const PUBLIC: &str = "http://beacon.test";
const BODY: &str = r#"<html><body><a href="https://example.com/a">A</a> <a href="{{unsubscribeUrl}}">Unsubscribe</a></body></html>"#;

pub async fn spawn(
    dns: &DnsFixture,
    configure: Option<fn(&mut beacon::config::Settings)>,
) -> TestApp {
    spawn_with(Opts {
        dns_server: Some(dns.addr),
        public_url: Some(PUBLIC.into()),
        configure,
        ..Opts::default()
    })
    .await
}

/// The secret key of a second project in the same database.
pub async fn other_project(app: &TestApp) -> String {
    let db = beacon::store::Db::connect(&app.db_url).await.unwrap();
    let other = beacon::store::projects::create(&db, "other").await.unwrap();
    db.close().await;
    other.secret_key
}

pub async fn call(
    app: &TestApp,
    key: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut r = app
        .client
        .request(method.parse().unwrap(), app.url(path))
        .bearer_auth(key);
    if let Some(b) = body {
        r = r.json(&b);
    }
    let r = r.send().await.unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

pub async fn add(app: &TestApp, key: &str, hostname: &str) -> Value {
    let (status, body) = call(
        app,
        key,
        "POST",
        "/v1/domains",
        Some(json!({ "hostname": hostname })),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    body["data"].clone()
}

pub async fn verify(app: &TestApp, key: &str, id: &str) -> Value {
    let (status, body) = call(app, key, "POST", &format!("/v1/domains/{id}/verify"), None).await;
    assert_eq!(status, 200, "{body}");
    body["data"].clone()
}

/// An email of the project `key` to `to`, once SENT.
pub async fn send_as(app: &TestApp, key: &str, to: &str) -> Value {
    let (status, r) = call(
        app,
        key,
        "POST",
        "/v1/send",
        Some(json!({ "to": to, "subject": "s", "body": BODY })),
    )
    .await;
    assert_eq!(status, 200, "{r}");
    let id = r["data"]["emails"][0]["email"]
        .as_str()
        .unwrap()
        .to_string();
    for _ in 0..200 {
        let (_, email) = call(app, key, "GET", &format!("/v1/emails/{id}"), None).await;
        if email["data"]["status"] == "SENT" {
            return email["data"].clone();
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("email {id} was never sent");
}

/// The paths of the email's URLs under `base` (`/c/…`, `/o/….gif`, `/unsubscribe/…`).
pub fn paths(html: &str, base: &str) -> Vec<String> {
    html.match_indices(base)
        .map(|(at, _)| {
            html[at + base.len()..]
                .split('"')
                .next()
                .unwrap()
                .to_string()
        })
        .collect()
}

pub async fn get_on(app: &TestApp, host: &str, path: &str) -> StatusCode {
    app.client
        .get(app.url(path))
        .header("host", host)
        .header("user-agent", BROWSER)
        .send()
        .await
        .unwrap()
        .status()
}

/// The domain once a scheduled check gave it `status` (10 s at most).
pub async fn wait_for(app: &TestApp, id: &str, status: &str) -> Value {
    for _ in 0..100 {
        let domain = app.get_json(&format!("/v1/domains/{id}")).await["data"].clone();
        if domain["status"] == status {
            return domain;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("domain {id} never became {status}");
}
