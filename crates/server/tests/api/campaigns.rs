//! Campaigns: drafts, fan-out to subscribers, unsubscribe, tracking by mode, stats, restarts.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};
use crate::tracking::{BROWSER, hit, set_mode, tracking_urls};

pub const BODY: &str = r#"<html><body><h1>News</h1><a href="https://example.com/post" data-beacon-tag="read">Read</a></body></html>"#;

pub async fn contact(app: &TestApp, email: &str, subscribed: bool) -> String {
    let r: Value = app
        .post(
            "/v1/contacts",
            &json!({ "email": email, "subscribed": subscribed }),
        )
        .await
        .json()
        .await
        .unwrap();
    r["data"]["id"].as_str().unwrap().to_string()
}

pub async fn create(app: &TestApp, extra: Value) -> Value {
    let mut body = json!({ "name": "Launch", "subject": "Hello {{email}}", "body": BODY, "from": "news@acme.example", "audience": { "all": true } });
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    let r = app.post("/v1/campaigns", &body).await;
    let status = r.status();
    let v: Value = r.json().await.unwrap();
    assert_eq!(status, 201, "{v}");
    v["data"].clone()
}

pub async fn wait_campaign(app: &TestApp, id: &str, status: &str) -> Value {
    for _ in 0..300 {
        let c = app.get_json(&format!("/v1/campaigns/{id}")).await["data"].clone();
        if c["status"] == status {
            return c;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("campaign {id} never became {status}");
}

/// The campaign's emails, as stored (via each contact's events).
pub async fn emails_of(app: &TestApp, contacts: &[String], campaign: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for c in contacts {
        for e in app.events(c).await {
            if e["name"] == "email.sent" && e["data"]["campaignId"] == campaign {
                out.push(app.email(e["data"]["emailId"].as_str().unwrap()).await);
            }
        }
    }
    out
}

pub async fn send_now(app: &TestApp, id: &str) {
    let r = app
        .client
        .post(app.url(&format!("/v1/campaigns/{id}/send")))
        .bearer_auth(&app.secret_key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
}

pub async fn wait_sent(app: &TestApp, contacts: &[String], campaign: &str, n: usize) -> Vec<Value> {
    for _ in 0..200 {
        let got = emails_of(app, contacts, campaign).await;
        if got.len() >= n {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("campaign {campaign} did not reach {n} sent emails");
}

#[tokio::test]
async fn a_marketing_campaign_reaches_subscribers_with_a_one_click_unsubscribe() {
    let app = spawn_app().await;
    let subs: Vec<String> = futures_join(
        &app,
        &["a@example.com", "b@example.com", "c@example.com"],
        true,
    )
    .await;
    let unsub = contact(&app, "u@example.com", false).await;
    let c = create(&app, json!({})).await;
    assert_eq!(c["status"], "DRAFT");
    assert_eq!(c["type"], "MARKETING");
    send_now(&app, c["id"].as_str().unwrap()).await;
    let done = wait_campaign(&app, c["id"].as_str().unwrap(), "SENT").await;
    assert_eq!(done["recipients"], 3);
    let mut all = subs.clone();
    all.push(unsub.clone());
    let emails = wait_sent(&app, &all, c["id"].as_str().unwrap(), 3).await;
    assert_eq!(emails.len(), 3, "the unsubscribed contact got nothing");
    let e = &emails[0];
    assert_eq!(e["sourceType"], "CAMPAIGN");
    assert_eq!(e["tracked"], true);
    assert!(e["subject"].as_str().unwrap().starts_with("Hello "));
    let html = e["html"].as_str().unwrap();
    // Content links are tracked; the unsubscribe link never is.
    assert_eq!(tracking_urls(&app, html, "/c/").len(), 1);
    let unsubscribe = tracking_urls(&app, html, "/unsubscribe/").remove(0);
    let raw = app
        .get(&format!("/v1/outbox/{}", e["id"].as_str().unwrap()))
        .await
        .text()
        .await
        .unwrap();
    assert!(raw.contains("List-Unsubscribe: <"), "{raw}");
    assert!(
        raw.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"),
        "{raw}"
    );

    // A GET (what link scanners do) only shows the confirmation page.
    let page = hit(&app, &unsubscribe, BROWSER).await;
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("method=\"post\""));
    let contact_id = e["contact"].as_str().unwrap();
    let contact_path = format!("/v1/contacts/{contact_id}");
    assert_eq!(
        app.get_json(&contact_path).await["data"]["subscribed"],
        true
    );
    // The RFC 8058 one-click POST unsubscribes.
    let r = app
        .client
        .post(&unsubscribe)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        app.get_json(&contact_path).await["data"]["subscribed"],
        false
    );
    let ev = app.events(contact_id).await;
    assert!(
        ev.iter()
            .any(|e| e["name"] == "contact.unsubscribed" && e["data"]["campaignId"] == c["id"])
    );
    // A forged token is a 404 page.
    assert_eq!(
        hit(&app, &format!("{}/unsubscribe/nope", app.base), BROWSER)
            .await
            .status(),
        404
    );
    app.stop().await;
}

pub async fn futures_join(app: &TestApp, emails: &[&str], subscribed: bool) -> Vec<String> {
    let mut ids = Vec::new();
    for e in emails {
        ids.push(contact(app, e, subscribed).await);
    }
    ids
}

#[tokio::test]
async fn transactional_campaigns_reach_everyone_and_modes_decide_tracking() {
    let app = spawn_app().await;
    let ids = futures_join(&app, &["t1@example.com", "t2@example.com"], false).await;
    set_mode(&app, "MARKETING_ONLY").await;
    let tx = create(
        &app,
        json!({ "type": "TRANSACTIONAL", "name": "Terms update" }),
    )
    .await;
    send_now(&app, tx["id"].as_str().unwrap()).await;
    let emails = wait_sent(&app, &ids, tx["id"].as_str().unwrap(), 2).await;
    assert_eq!(
        emails.len(),
        2,
        "transactional campaigns ignore subscription"
    );
    for e in &emails {
        assert_eq!(
            e["tracked"], false,
            "Marketing-only mode never tracks a TRANSACTIONAL campaign"
        );
        assert!(tracking_urls(&app, e["html"].as_str().unwrap(), "/unsubscribe/").is_empty());
    }
    // A marketing campaign in the same mode is tracked.
    let subs = futures_join(&app, &["m1@example.com"], true).await;
    let mk = create(&app, json!({})).await;
    send_now(&app, mk["id"].as_str().unwrap()).await;
    let emails = wait_sent(&app, &subs, mk["id"].as_str().unwrap(), 1).await;
    assert_eq!(emails[0]["tracked"], true);
    // DISABLED: nothing is tracked.
    set_mode(&app, "DISABLED").await;
    let off = create(&app, json!({})).await;
    send_now(&app, off["id"].as_str().unwrap()).await;
    let emails = wait_sent(&app, &subs, off["id"].as_str().unwrap(), 1).await;
    assert_eq!(emails[0]["tracked"], false);
    app.stop().await;
}

#[tokio::test]
async fn drafts_are_edited_and_bad_input_is_refused() {
    let app = spawn_app().await;
    let c = create(&app, json!({})).await;
    let id = c["id"].as_str().unwrap();
    let r: Value = app
        .patch(
            &format!("/v1/campaigns/{id}"),
            &json!({ "subject": "New subject", "fromName": "Acme" }),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(r["data"]["subject"], "New subject");
    assert_eq!(r["data"]["fromName"], "Acme");
    let listed = app.get_json("/v1/campaigns").await;
    assert_eq!(listed["data"].as_array().unwrap().len(), 1);
    for (body, field) in [
        (json!({ "type": "NEWSLETTER" }), "type"),
        (json!({ "audience": { "everyone": true } }), "audience"),
        (json!({ "audience": { "segmentId": "nope" } }), "audience"),
        (json!({ "from": "not-an-address" }), "from"),
        (json!({ "subject": "a\nb" }), "subject"),
    ] {
        let r = app.patch(&format!("/v1/campaigns/{id}"), &body).await;
        assert_eq!(r.status(), 422, "{body}");
        let err: Value = r.json().await.unwrap();
        assert_eq!(err["field"], field, "{err}");
    }
    let r = app
        .post(
            "/v1/campaigns",
            &json!({ "name": "x", "subject": "s", "body": "b", "from": "a@b.co" }),
        )
        .await;
    assert_eq!(r.status(), 422, "audience is required");
    let r = app.post("/v1/campaigns", &json!({ "name": "x", "subject": "s", "body": "b", "from": "a@b.co", "audience": { "all": true }, "colour": 1 })).await;
    assert_eq!(r.status(), 422, "unknown fields are refused");

    // Once sent, a campaign is no longer a draft.
    send_now(&app, id).await;
    wait_campaign(&app, id, "SENT").await;
    let r = app
        .patch(&format!("/v1/campaigns/{id}"), &json!({ "name": "late" }))
        .await;
    assert_eq!(r.status(), 409);
    let r = app
        .client
        .post(app.url(&format!("/v1/campaigns/{id}/send")))
        .bearer_auth(&app.secret_key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    assert_eq!(
        app.delete(&format!("/v1/campaigns/{id}")).await.status(),
        200
    );
    assert_eq!(app.get(&format!("/v1/campaigns/{id}")).await.status(), 404);
    app.stop().await;
}

#[tokio::test]
async fn scheduled_campaigns_wait_and_cancel_stops_them() {
    let app = spawn_app().await;
    let ids = futures_join(&app, &["s@example.com"], true).await;
    let later = chrono_in(3000);
    let c = create(&app, json!({})).await;
    let id = c["id"].as_str().unwrap();
    let r: Value = app
        .post(
            &format!("/v1/campaigns/{id}/send"),
            &json!({ "scheduledAt": later }),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(r["data"]["status"], "SCHEDULED");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        app.get_json(&format!("/v1/campaigns/{id}")).await["data"]["status"],
        "SCHEDULED"
    );
    wait_campaign(&app, id, "SENT").await;
    assert_eq!(wait_sent(&app, &ids, id, 1).await.len(), 1);

    let c2 = create(&app, json!({})).await;
    let id2 = c2["id"].as_str().unwrap();
    app.post(
        &format!("/v1/campaigns/{id2}/send"),
        &json!({ "scheduledAt": chrono_in(60_000) }),
    )
    .await;
    let r: Value = app
        .post(&format!("/v1/campaigns/{id2}/cancel"), &json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(r["data"]["status"], "CANCELLED");
    assert_eq!(
        app.post(&format!("/v1/campaigns/{id2}/cancel"), &json!({}))
            .await
            .status(),
        409
    );
    let r = app
        .post(&format!("/v1/campaigns/{id2}/send"), &json!({}))
        .await;
    assert_eq!(r.status(), 409, "a cancelled campaign cannot be sent again");
    app.stop().await;
}

fn chrono_in(ms: i64) -> String {
    beacon::time::iso(beacon::store::now_ms() + ms)
}

#[tokio::test]
async fn a_test_send_is_never_tracked_or_counted() {
    let app = spawn_app().await;
    let c = create(&app, json!({})).await;
    let id = c["id"].as_str().unwrap();
    let r: Value = app
        .post(
            &format!("/v1/campaigns/{id}/test"),
            &json!({ "to": "me@acme.example" }),
        )
        .await
        .json()
        .await
        .unwrap();
    let email = app
        .wait_status(r["data"]["email"].as_str().unwrap(), "SENT")
        .await;
    assert_eq!(email["tracked"], false);
    assert!(email["campaignId"].is_null());
    assert!(email["subject"].as_str().unwrap().starts_with("[Test] "));
    let stats = app.get_json(&format!("/v1/campaigns/{id}/stats")).await["data"].clone();
    assert_eq!(stats["emails"], 0);
    assert_eq!(stats["recipients"], 0);
    assert_eq!(
        app.post(&format!("/v1/campaigns/{id}/test"), &json!({ "to": "bad" }))
            .await
            .status(),
        422
    );
    app.stop().await;
}
