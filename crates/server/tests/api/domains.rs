//! Custom tracking domains: verified by a real DNS lookup (against `dns::DnsFixture`), put in
//! a project's emails only while verified, served only for that project's tokens.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::dns::DnsFixture;
use crate::helpers::{Opts, TestApp, spawn_with};
use crate::tracking::BROWSER;

const PUBLIC: &str = "http://beacon.test";
const BODY: &str = r#"<html><body><a href="https://example.com/a">A</a> <a href="{{unsubscribeUrl}}">Unsubscribe</a></body></html>"#;

async fn spawn(dns: &DnsFixture, configure: Option<fn(&mut beacon::config::Settings)>) -> TestApp {
    spawn_with(Opts {
        dns_server: Some(dns.addr),
        public_url: Some(PUBLIC.into()),
        configure,
        ..Opts::default()
    })
    .await
}

/// The secret key of a second project in the same database.
async fn other_project(app: &TestApp) -> String {
    let db = beacon::store::Db::connect(&app.db_url).await.unwrap();
    let other = beacon::store::projects::create(&db, "other").await.unwrap();
    db.close().await;
    other.secret_key
}

async fn call(
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

async fn add(app: &TestApp, key: &str, hostname: &str) -> Value {
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

async fn verify(app: &TestApp, key: &str, id: &str) -> Value {
    let (status, body) = call(app, key, "POST", &format!("/v1/domains/{id}/verify"), None).await;
    assert_eq!(status, 200, "{body}");
    body["data"].clone()
}

/// An email of the project `key` to `to`, once SENT.
async fn send_as(app: &TestApp, key: &str, to: &str) -> Value {
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
fn paths(html: &str, base: &str) -> Vec<String> {
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

async fn get_on(app: &TestApp, host: &str, path: &str) -> StatusCode {
    app.client
        .get(app.url(path))
        .header("host", host)
        .header("user-agent", BROWSER)
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn a_verified_domain_carries_the_links_and_serves_only_its_projects_tokens() {
    let dns = DnsFixture::start().await;
    let app = spawn(&dns, None).await;
    let key = app.secret_key.clone();
    let domain = add(&app, &key, "Links.Shop.test").await;
    assert_eq!(domain["hostname"], "links.shop.test");
    assert_eq!(domain["status"], "PENDING");
    assert_eq!(domain["url"], "https://links.shop.test");
    assert_eq!(
        domain["records"],
        json!([
            { "type": "CNAME", "name": "links.shop.test", "value": "beacon.test" },
            { "type": "TXT", "name": "_beacon.links.shop.test", "value": domain["records"][1]["value"] },
        ])
    );
    let id = domain["id"].as_str().unwrap();

    // Unverified: never in an email, never served.
    let before = send_as(&app, &key, "a@example.com").await;
    let html = before["html"].as_str().unwrap();
    assert!(!html.contains("links.shop.test"), "{html}");
    assert_eq!(paths(html, PUBLIC).len(), 3, "{html}");
    let checked = verify(&app, &key, id).await;
    assert_eq!(checked["status"], "PENDING");
    assert!(
        checked["lastError"].as_str().unwrap().contains("no CNAME"),
        "{checked}"
    );
    let old_click = paths(html, PUBLIC)
        .into_iter()
        .find(|p| p.starts_with("/c/"))
        .unwrap();
    assert_eq!(get_on(&app, "links.shop.test", &old_click).await, 404);

    // The CNAME to Beacon's host verifies it; new emails use it for links, pixel, unsubscribe.
    dns.cname("links.shop.test", "beacon.test.");
    let checked = verify(&app, &key, id).await;
    assert_eq!(checked["status"], "VERIFIED", "{checked}");
    assert_eq!(checked["inUse"], true);
    let project = app.get_json("/v1/project").await["data"].clone();
    assert_eq!(project["trackingUrl"], "https://links.shop.test");
    assert_eq!(project["trackingDomain"]["id"], id);
    let email = send_as(&app, &key, "b@example.com").await;
    let html = email["html"].as_str().unwrap();
    let own = paths(html, "https://links.shop.test");
    assert_eq!(own.len(), 3, "{html}");
    assert!(paths(html, PUBLIC).is_empty(), "{html}");
    let click = own.iter().find(|p| p.starts_with("/c/")).unwrap();
    let pixel = own.iter().find(|p| p.starts_with("/o/")).unwrap();
    let unsubscribe = own.iter().find(|p| p.starts_with("/unsubscribe/")).unwrap();

    // Requests with that Host record hits.
    assert_eq!(get_on(&app, "links.shop.test", click).await, 302);
    assert_eq!(get_on(&app, "LINKS.shop.test:443", pixel).await, 200);
    assert_eq!(get_on(&app, "links.shop.test", unsubscribe).await, 200);
    app.settle().await;
    let eid = email["id"].as_str().unwrap();
    let after = app.email(eid).await;
    assert_eq!(after["clicks"]["human"], 1, "{after}");
    assert_eq!(after["opens"]["human"], 1, "{after}");
    // The same token on Beacon's own host still works; the tracking domain serves nothing else.
    assert_eq!(app.get(click).await.status(), 302);
    assert_eq!(get_on(&app, "links.shop.test", "/v1/project").await, 404);

    // Another project's domain does not honour this project's tokens, nor the other way round.
    let other = other_project(&app).await;
    let theirs = add(&app, &other, "go.other.test").await;
    let token = theirs["records"][1]["value"].as_str().unwrap().to_string();
    dns.txt("_beacon.go.other.test", &token);
    let theirs = verify(&app, &other, theirs["id"].as_str().unwrap()).await;
    assert_eq!(theirs["status"], "VERIFIED", "{theirs}");
    let their_email = send_as(&app, &other, "c@example.com").await;
    let their_html = their_email["html"].as_str().unwrap();
    let their_click = paths(their_html, "https://go.other.test")
        .into_iter()
        .find(|p| p.starts_with("/c/"))
        .unwrap();
    assert_eq!(get_on(&app, "go.other.test", &their_click).await, 302);
    assert_eq!(get_on(&app, "links.shop.test", &their_click).await, 404);
    for path in [click, pixel, unsubscribe] {
        assert_eq!(get_on(&app, "go.other.test", path).await, 404, "{path}");
        assert_eq!(get_on(&app, "unknown.example", path).await, 404, "{path}");
        assert_eq!(get_on(&app, "not a host", path).await, 404, "{path}");
    }
    // Unknown hosts still reach the API and dashboard as before.
    assert_eq!(get_on(&app, "unknown.example", "/health").await, 200);

    // Caddy's on-demand TLS asks before getting a certificate.
    for (domain, status) in [
        ("links.shop.test", 200),
        ("go.other.test", 200),
        ("beacon.test", 200),
        ("unknown.example", 404),
        ("10.0.0.1", 404),
    ] {
        let r = app
            .client
            .get(app.url(&format!("/tls/ask?domain={domain}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), status, "{domain}");
    }
    let r = app.client.get(app.url("/tls/ask")).send().await.unwrap();
    assert_eq!(r.status(), 400);
    app.stop().await;
}

#[tokio::test]
async fn bad_domains_get_422s_that_say_which() {
    let dns = DnsFixture::start().await;
    let app = spawn(&dns, None).await;
    let key = app.secret_key.clone();
    let other = other_project(&app).await;
    let taken = add(&app, &other, "taken.example.com").await;
    dns.txt(
        "_beacon.taken.example.com",
        taken["records"][1]["value"].as_str().unwrap(),
    );
    let taken = verify(&app, &other, taken["id"].as_str().unwrap()).await;
    assert_eq!(taken["status"], "VERIFIED", "{taken}");
    let cases = [
        (
            json!({ "hostname": "not a host" }),
            "hostname",
            "not a hostname",
        ),
        (
            json!({ "hostname": "203.0.113.9" }),
            "hostname",
            "IP address",
        ),
        (
            json!({ "hostname": "[2001:db8::1]" }),
            "hostname",
            "IP address",
        ),
        (
            json!({ "hostname": "beacon.test" }),
            "hostname",
            "Beacon's own host",
        ),
        (
            json!({ "hostname": "taken.example.com" }),
            "hostname",
            "another project",
        ),
        (
            json!({ "hostname": "https://links.example.com" }),
            "hostname",
            "hostname alone",
        ),
        (json!({ "hostname": "links" }), "hostname", "full name"),
        (json!({ "hostname": "" }), "hostname", "give a hostname"),
        (
            json!({ "hostname": "links.example.com", "scheme": "ftp" }),
            "scheme",
            "https",
        ),
    ];
    for (body, field, words) in cases {
        let (status, r) = call(&app, &key, "POST", "/v1/domains", Some(body.clone())).await;
        assert_eq!(status, 422, "{body}: {r}");
        assert_eq!(r["field"], field, "{body}: {r}");
        let message = r["message"].as_str().unwrap();
        assert!(message.contains(words), "{body}: {message}");
    }
    // One domain per project, and nothing was added by the refusals.
    let (_, list) = call(&app, &key, "GET", "/v1/domains", None).await;
    assert_eq!(list["data"], json!([]));
    add(&app, &key, "links.example.com").await;
    let (status, r) = call(
        &app,
        &key,
        "POST",
        "/v1/domains",
        Some(json!({ "hostname": "x.example.com" })),
    )
    .await;
    assert_eq!(status, 422, "{r}");
    assert!(
        r["message"].as_str().unwrap().contains("remove it first"),
        "{r}"
    );
    // Unknown ids are 404, another project's too.
    let theirs = call(&app, &other, "GET", "/v1/domains", None).await.1["data"][0]["id"].clone();
    let theirs = theirs.as_str().unwrap();
    for (method, path) in [
        ("GET", format!("/v1/domains/{theirs}")),
        ("POST", format!("/v1/domains/{theirs}/verify")),
        ("DELETE", format!("/v1/domains/{theirs}")),
        ("GET", "/v1/domains/nope".to_string()),
    ] {
        assert_eq!(
            call(&app, &key, method, &path, None).await.0,
            404,
            "{method} {path}"
        );
    }
    app.stop().await;
}

/// The domain once a scheduled check gave it `status` (10 s at most).
async fn wait_for(app: &TestApp, id: &str, status: &str) -> Value {
    for _ in 0..100 {
        let domain = app.get_json(&format!("/v1/domains/{id}")).await["data"].clone();
        if domain["status"] == status {
            return domain;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("domain {id} never became {status}");
}

#[tokio::test]
async fn a_domain_that_stops_resolving_is_reported_and_old_links_keep_working() {
    let dns = DnsFixture::start().await;
    let app = spawn(&dns, Some(|s| s.domain_recheck_ms = 1_000)).await;
    let key = app.secret_key.clone();
    let domain = add(&app, &key, "t.shop.test").await;
    let id = domain["id"].as_str().unwrap().to_string();
    dns.txt(
        "_beacon.t.shop.test",
        domain["records"][1]["value"].as_str().unwrap(),
    );
    // The scheduled check verifies it without being asked.
    wait_for(&app, &id, "VERIFIED").await;
    let sent = send_as(&app, &key, "a@example.com").await;
    let click = paths(sent["html"].as_str().unwrap(), "https://t.shop.test")
        .into_iter()
        .find(|p| p.starts_with("/c/"))
        .unwrap();

    // The record goes: the next scheduled check reports it, with since when and why.
    dns.clear("_beacon.t.shop.test");
    let failing = wait_for(&app, &id, "FAILING").await;
    assert!(failing["failingSince"].is_string(), "{failing}");
    assert!(
        failing["lastError"]
            .as_str()
            .unwrap()
            .contains("no TXT record"),
        "{failing}"
    );
    assert_eq!(failing["inUse"], false);
    assert_eq!(app.metric("beacon_tracking_domains_failing").await, 1);
    // New emails go out on the public URL; the email already sent keeps its links, which work.
    let next = send_as(&app, &key, "b@example.com").await;
    assert!(!next["html"].as_str().unwrap().contains("t.shop.test"));
    assert_eq!(
        app.email(sent["id"].as_str().unwrap()).await["html"],
        sent["html"]
    );
    assert_eq!(get_on(&app, "t.shop.test", &click).await, 302);

    // Removed: still serves the links already sent; gone from the project.
    let (status, _) = call(&app, &key, "DELETE", &format!("/v1/domains/{id}"), None).await;
    assert_eq!(status, 200);
    assert_eq!(get_on(&app, "t.shop.test", &click).await, 302);
    let project = app.get_json("/v1/project").await["data"].clone();
    assert_eq!(project["trackingDomain"], Value::Null);
    assert_eq!(project["trackingUrl"], PUBLIC);
    assert_eq!(
        call(&app, &key, "GET", &format!("/v1/domains/{id}"), None)
            .await
            .0,
        404
    );
    app.stop().await;
}

#[tokio::test]
async fn a_name_two_projects_ask_for_goes_to_the_one_that_proves_it() {
    let dns = DnsFixture::start().await;
    let app = spawn(&dns, None).await;
    let key = app.secret_key.clone();
    let other = other_project(&app).await;
    // Adding a name does not hold it: another project may add it too.
    let ours = add(&app, &key, "links.contested.test").await;
    let theirs = add(&app, &other, "links.contested.test").await;
    // The CNAME points at Beacon, but says nothing of which project: it verifies neither.
    dns.cname("links.contested.test", "beacon.test");
    let checked = verify(&app, &key, ours["id"].as_str().unwrap()).await;
    assert_eq!(checked["status"], "PENDING", "{checked}");
    assert!(
        checked["lastError"]
            .as_str()
            .unwrap()
            .contains("only the TXT record verifies it"),
        "{checked}"
    );
    // Their own TXT token does; then the name is theirs, and ours cannot be verified.
    dns.txt(
        "_beacon.links.contested.test",
        theirs["records"][1]["value"].as_str().unwrap(),
    );
    let won = verify(&app, &other, theirs["id"].as_str().unwrap()).await;
    assert_eq!(won["status"], "VERIFIED", "{won}");
    let lost = verify(&app, &key, ours["id"].as_str().unwrap()).await;
    assert_eq!(lost["status"], "PENDING", "{lost}");
    assert!(
        lost["lastError"]
            .as_str()
            .unwrap()
            .contains("verified it first"),
        "{lost}"
    );
    let project = app.get_json("/v1/project").await["data"].clone();
    assert_eq!(project["trackingUrl"], PUBLIC);
    app.stop().await;
}
