//! A verified domain in emails and on requests; a domain that stops resolving; a removed one.

use serde_json::{Value, json};

use super::*;
use crate::dns::DnsFixture;

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
