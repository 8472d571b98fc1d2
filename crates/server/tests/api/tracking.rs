//! Tracking end to end: the send decision, the pixel and the redirect, events on the contact.

use serde_json::{Value, json};

use crate::helpers::{Opts, TestApp, spawn_app, spawn_with};

pub const BROWSER: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";

/// Every attribute value in `html` that points at our tracking path `/o/` or `/c/`.
pub fn tracking_urls(app: &TestApp, html: &str, path: &str) -> Vec<String> {
    let prefix = format!("{}{path}", app.base);
    html.match_indices(&prefix)
        .map(|(at, _)| html[at..].split('"').next().unwrap().replace("&amp;", "&"))
        .collect()
}

pub async fn set_mode(app: &TestApp, mode: &str) {
    let r = app.patch("/v1/project", &json!({ "tracking": mode })).await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
}

/// Sends one email and waits until it is SENT; returns (email, contact id).
pub async fn send_one(app: &TestApp, body: Value) -> (Value, String) {
    let r: Value = app.post("/v1/send", &body).await.json().await.unwrap();
    let id = r["data"]["emails"][0]["email"]
        .as_str()
        .unwrap_or_else(|| panic!("{r}"))
        .to_string();
    let contact = r["data"]["emails"][0]["contact"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    (app.wait_status(&id, "SENT").await, contact)
}

/// One request to a pixel or link; returns once its effect is folded into counters and events.
pub async fn hit(app: &TestApp, url: &str, ua: &str) -> reqwest::Response {
    let r = app
        .client
        .get(url)
        .header("user-agent", ua)
        .send()
        .await
        .unwrap();
    app.settle().await;
    r
}

pub const NEWSLETTER: &str = r#"<html><body><a href="https://example.com/a?x=1&amp;y=%20z#frag" data-beacon-tag="cta">Go</a>
<a href="https://example.com/a?x=1&amp;y=%20z#frag">Again</a> <a href="mailto:hi@example.com">Mail</a></body></html>"#;

#[tokio::test]
async fn mode_and_override_decide_whether_a_send_is_tracked() {
    let app = spawn_app().await;
    let tx: Value = app
        .post(
            "/v1/templates",
            &json!({ "name": "t", "subject": "s", "body": NEWSLETTER, "type": "TRANSACTIONAL" }),
        )
        .await
        .json()
        .await
        .unwrap();
    let tx_id = tx["data"]["id"].as_str().unwrap();
    let cases = [
        ("ENABLED", None, false, true),
        ("ENABLED", Some(false), false, false),
        ("ENABLED", None, true, true),
        ("DISABLED", None, false, false),
        ("DISABLED", Some(true), false, true),
        // /v1/send is a transactional source: Marketing-only never tracks it.
        ("MARKETING_ONLY", None, false, false),
        ("MARKETING_ONLY", None, true, false),
        ("MARKETING_ONLY", Some(true), false, true),
    ];
    for (mode, override_, with_template, expect) in cases {
        set_mode(&app, mode).await;
        let mut body = if with_template {
            json!({ "to": "m@example.com", "template": tx_id })
        } else {
            json!({ "to": "m@example.com", "subject": "s", "body": NEWSLETTER })
        };
        if let Some(o) = override_ {
            body["tracking"] = json!(o);
        }
        let (email, _) = send_one(&app, body).await;
        let html = email["html"].as_str().unwrap();
        let case = format!("{mode} override={override_:?} template={with_template}");
        assert_eq!(email["tracked"], expect, "{case}");
        assert_eq!(
            !tracking_urls(&app, html, "/o/").is_empty(),
            expect,
            "pixel: {case}"
        );
        assert_eq!(
            tracking_urls(&app, html, "/c/").len(),
            if expect { 2 } else { 0 },
            "links: {case}"
        );
        // The outbox holds exactly the stored HTML's links.
        let raw = app
            .get(&format!("/v1/outbox/{}", email["id"].as_str().unwrap()))
            .await
            .text()
            .await
            .unwrap();
        assert_eq!(raw.contains("/c/"), expect, "outbox: {case}");
        assert!(html.contains(r#"href="mailto:hi@example.com""#), "{case}");
    }
    app.stop().await;
}

#[tokio::test]
async fn the_pixel_records_an_open_on_the_contact() {
    let app = spawn_app().await;
    let (email, contact) = send_one(
        &app,
        json!({ "to": "o@example.com", "subject": "Open me", "body": NEWSLETTER }),
    )
    .await;
    let pixel = tracking_urls(&app, email["html"].as_str().unwrap(), "/o/").remove(0);
    assert!(pixel.ends_with(".gif"));

    let r = hit(&app, &pixel, BROWSER).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/gif");
    assert_eq!(
        r.headers()["cache-control"],
        "no-store, no-cache, must-revalidate, private"
    );
    assert_eq!(r.headers()["pragma"], "no-cache");
    assert_eq!(r.headers()["expires"], "0");
    assert!(r.headers().get("set-cookie").is_none());
    assert_eq!(r.bytes().await.unwrap().len(), 43);

    let open = app.event(&contact, "email.open").await;
    let d = &open["data"];
    assert_eq!(d["emailId"], email["id"]);
    assert_eq!(d["subject"], "Open me");
    assert_eq!(d["sourceType"], "TRANSACTIONAL");
    assert_eq!(d["isFirstOpen"], true);
    assert_eq!(d["opens"], 1);
    assert!(d["machine"].is_null());
    assert!(d.get("templateId").is_some() && d.get("campaignId").is_some());
    assert_eq!(d["userAgent"], BROWSER);
    assert_eq!(d["ip"], "127.0.0.0", "IPs are truncated to /24 by default");

    hit(&app, &pixel, BROWSER).await;
    let e = app.email(email["id"].as_str().unwrap()).await;
    assert_eq!(e["status"], "OPENED");
    assert_eq!(e["opens"], json!({ "human": 2, "machine": 0 }));
    assert!(e["openedAt"].is_string());
    let second = &app.events(&contact).await[0];
    assert_eq!(second["data"]["isFirstOpen"], false);
    assert_eq!(second["data"]["opens"], 2);
    app.stop().await;
}

#[tokio::test]
async fn a_click_redirects_byte_exact_and_records_the_link() {
    let app = spawn_app().await;
    let (email, contact) = send_one(
        &app,
        json!({ "to": "c@example.com", "subject": "Click", "body": NEWSLETTER }),
    )
    .await;
    let links = tracking_urls(&app, email["html"].as_str().unwrap(), "/c/");
    assert_eq!(links.len(), 2);

    let r = hit(&app, &links[1], BROWSER).await;
    assert_eq!(r.status(), 302);
    assert_eq!(
        r.headers()["location"],
        "https://example.com/a?x=1&y=%20z#frag"
    );
    let click = app.event(&contact, "email.click").await;
    let d = &click["data"];
    assert_eq!(d["link"], "https://example.com/a?x=1&y=%20z#frag");
    assert_eq!(
        d["linkIndex"], 1,
        "the second link with the same URL keeps its own index"
    );
    assert!(d["linkTag"].is_null());
    assert_eq!(d["isFirstClick"], true);
    assert_eq!(d["clicks"], 1);
    assert!(d["machine"].is_null());

    let r = hit(&app, &links[0], BROWSER).await;
    assert_eq!(r.status(), 302);
    let tagged = &app.events(&contact).await[0];
    assert_eq!(tagged["data"]["linkTag"], "cta");
    assert_eq!(tagged["data"]["linkIndex"], 0);
    assert_eq!(tagged["data"]["isFirstClick"], false);

    // A click implies an open: the first open is set, marked inferred. A later open never
    // downgrades CLICKED.
    let e = app.email(email["id"].as_str().unwrap()).await;
    assert_eq!(e["status"], "CLICKED");
    assert!(e["openedAt"].is_string());
    assert_eq!(e["openInferred"], true);
    assert_eq!(e["clicks"], json!({ "human": 2, "machine": 0 }));
    let pixel = tracking_urls(&app, email["html"].as_str().unwrap(), "/o/").remove(0);
    hit(&app, &pixel, BROWSER).await;
    assert_eq!(
        app.email(email["id"].as_str().unwrap()).await["status"],
        "CLICKED"
    );
    app.stop().await;
}

#[tokio::test]
async fn forged_altered_and_truncated_tokens_are_404_never_a_redirect() {
    let app = spawn_app().await;
    let (email, contact) = send_one(
        &app,
        json!({ "to": "f@example.com", "subject": "s", "body": NEWSLETTER }),
    )
    .await;
    let link = tracking_urls(&app, email["html"].as_str().unwrap(), "/c/").remove(0);
    let pixel = tracking_urls(&app, email["html"].as_str().unwrap(), "/o/").remove(0);
    let token = link.rsplit('/').next().unwrap().to_string();
    let mut altered = token.clone().into_bytes();
    let mid = altered.len() / 2;
    altered[mid] = if altered[mid] == b'A' { b'B' } else { b'A' };
    let altered = String::from_utf8(altered).unwrap();
    let bad = [
        format!("{}/c/{}", app.base, &token[..token.len() - 3]),
        format!("{}/c/{altered}", app.base),
        format!("{}/c/AAAA", app.base),
        format!("{}/c/%E2%98%83", app.base),
        format!("{}/c/{}", app.base, "x".repeat(5000)),
        // An open token is not a click token.
        format!(
            "{}/c/{}",
            app.base,
            pixel.rsplit('/').next().unwrap().trim_end_matches(".gif")
        ),
        format!("{}/o/{altered}.gif", app.base),
    ];
    for url in bad {
        let r = hit(&app, &url, BROWSER).await;
        assert_eq!(r.status(), 404, "{url}");
        assert!(r.headers().get("location").is_none());
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/plain")
        );
    }
    let recorded = app
        .events(&contact)
        .await
        .iter()
        .filter(|e| e["name"] == "email.click" || e["name"] == "email.open")
        .count();
    assert_eq!(recorded, 0);
    app.stop().await;
}

#[tokio::test]
async fn machine_hits_are_flagged_not_dropped() {
    let app = spawn_app().await;
    let (email, contact) = send_one(
        &app,
        json!({ "to": "h@example.com", "subject": "s", "body": NEWSLETTER }),
    )
    .await;
    let pixel = tracking_urls(&app, email["html"].as_str().unwrap(), "/o/").remove(0);
    // HEAD: the pixel's headers, no body, flagged.
    let r = app
        .client
        .head(&pixel)
        .header("user-agent", BROWSER)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/gif");
    // Apple Mail Privacy Protection: the bare agent from Apple's 17.0.0.0/8.
    let r = app
        .client
        .get(&pixel)
        .header("user-agent", "Mozilla/5.0")
        .header("x-forwarded-for", "17.58.1.2")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // Gmail's image proxy is a person opening the email.
    let gmail =
        "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)";
    hit(&app, &pixel, gmail).await;

    let events = app.events(&contact).await;
    let verdicts: Vec<&Value> = events
        .iter()
        .filter(|e| e["name"] == "email.open")
        .map(|e| &e["data"]["machine"])
        .collect();
    assert_eq!(
        verdicts,
        [&Value::Null, &json!("apple_mpp"), &json!("head_request")]
    );
    let e = app.email(email["id"].as_str().unwrap()).await;
    assert_eq!(e["opens"], json!({ "human": 1, "machine": 2 }));
    app.stop().await;
}

#[tokio::test]
async fn hits_right_after_sending_are_judged_machine() {
    let app = spawn_with(Opts {
        machine_min_secs: Some(60.0),
        ..Opts::default()
    })
    .await;
    let (email, contact) = send_one(
        &app,
        json!({ "to": "s@example.com", "subject": "s", "body": NEWSLETTER }),
    )
    .await;
    let link = tracking_urls(&app, email["html"].as_str().unwrap(), "/c/").remove(0);
    assert_eq!(
        hit(&app, &link, BROWSER).await.status(),
        302,
        "a machine still gets its redirect"
    );
    let click = &app.events(&contact).await[0];
    assert_eq!(click["data"]["machine"], "too_soon");
    let e = app.email(email["id"].as_str().unwrap()).await;
    assert_eq!(e["clicks"], json!({ "human": 0, "machine": 1 }));
    assert_eq!(e["status"], "SENT", "machine hits do not move the status");
    app.stop().await;
}

#[tokio::test]
async fn a_valid_link_of_a_deleted_email_still_redirects_and_records_nothing() {
    let app = spawn_app().await;
    let (email, _) = send_one(
        &app,
        json!({ "to": "d@example.com", "subject": "s", "body": NEWSLETTER }),
    )
    .await;
    let link = tracking_urls(&app, email["html"].as_str().unwrap(), "/c/").remove(0);
    let db = beacon::store::Db::connect(&app.db_url).await.unwrap();
    sqlx::query("DELETE FROM emails WHERE id = $1")
        .bind(email["id"].as_str().unwrap())
        .execute(&db.write)
        .await
        .unwrap();
    let r = hit(&app, &link, BROWSER).await;
    assert_eq!(r.status(), 302);
    assert_eq!(
        r.headers()["location"],
        "https://example.com/a?x=1&y=%20z#frag"
    );
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM events WHERE name = 'email.click'")
        .fetch_one(&db.read)
        .await
        .unwrap();
    assert_eq!(n, 0);
    db.close().await;
    app.stop().await;
}
