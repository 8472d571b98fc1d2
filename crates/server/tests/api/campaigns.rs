//! Campaigns: drafts, fan-out to subscribers, unsubscribe, tracking by mode, stats, restarts.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{Opts, TestApp, spawn_app, spawn_with};
use crate::tracking::{BROWSER, hit, set_mode, tracking_urls};

const BODY: &str = r#"<html><body><h1>News</h1><a href="https://example.com/post" data-beacon-tag="read">Read</a></body></html>"#;

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
async fn emails_of(app: &TestApp, contacts: &[String], campaign: &str) -> Vec<Value> {
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

async fn send_now(app: &TestApp, id: &str) {
    let r = app
        .client
        .post(app.url(&format!("/v1/campaigns/{id}/send")))
        .bearer_auth(&app.secret_key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
}

async fn wait_sent(app: &TestApp, contacts: &[String], campaign: &str, n: usize) -> Vec<Value> {
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

async fn futures_join(app: &TestApp, emails: &[&str], subscribed: bool) -> Vec<String> {
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
    let later = chrono_in(1500);
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

#[tokio::test]
async fn campaign_stats_show_opens_and_clicks_by_link_and_hour() {
    let app = spawn_app().await;
    let ids = futures_join(&app, &["x1@example.com", "x2@example.com"], true).await;
    let c = create(&app, json!({})).await;
    let id = c["id"].as_str().unwrap();
    send_now(&app, id).await;
    let emails = wait_sent(&app, &ids, id, 2).await;
    for e in &emails {
        app.wait_status(e["id"].as_str().unwrap(), "SENT").await;
    }
    let html0 = emails[0]["html"].as_str().unwrap();
    hit(&app, &tracking_urls(&app, html0, "/o/")[0], BROWSER).await;
    hit(&app, &tracking_urls(&app, html0, "/c/")[0], BROWSER).await;
    let html1 = emails[1]["html"].as_str().unwrap();
    app.client
        .head(&tracking_urls(&app, html1, "/o/")[0])
        .header("user-agent", BROWSER)
        .send()
        .await
        .unwrap();

    let s = app.get_json(&format!("/v1/campaigns/{id}/stats")).await["data"].clone();
    assert_eq!(s["recipients"], 2);
    assert_eq!(s["sent"], 2);
    assert_eq!(s["uniqueOpens"], 1);
    assert_eq!(s["uniqueClicks"], 1);
    assert_eq!(s["machineOpens"], 1);
    assert_eq!(s["openRate"], 0.5);
    assert_eq!(s["links"][0]["tag"], "read");
    assert_eq!(s["links"][0]["url"], "https://example.com/post");
    assert_eq!(
        s["hourly"][0],
        json!({ "hour": 0, "opens": 1, "clicks": 1, "machineOpens": 1, "machineClicks": 0 })
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_mid_fan_out_neither_skips_nor_doubles() {
    let app = spawn_with(Opts {
        configure: Some(|s| s.campaign_lease_ms = 300),
        ..Opts::default()
    })
    .await;
    // Contacts straight into the store: 1,500 of them is three fan-out pages.
    let db = beacon::store::Db::connect(&app.db_url).await.unwrap();
    let project = beacon::store::projects::list(&db).await.unwrap().remove(0);
    let mut tx = db.begin().await.unwrap();
    let changes = beacon::store::contacts::Changes {
        subscribed: Some(true),
        data: None,
    };
    for i in 0..1500 {
        beacon::store::contacts::upsert(
            &mut tx,
            &project.id,
            &format!("r{i:04}@example.com"),
            &changes,
            true,
        )
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    let c = create(&app, json!({})).await;
    let id = c["id"].as_str().unwrap().to_string();
    send_now(&app, &id).await;
    // Stop while the fan-out is under way (or just done), then start again on the same store.
    for _ in 0..400 {
        let c = app.get_json(&format!("/v1/campaigns/{id}")).await["data"].clone();
        if c["recipients"].as_i64().unwrap() > 0 || c["status"] == "SENT" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let db_url = app.db_url.clone();
    app.stop().await;
    // A runner that died without a trace: its lease simply runs out.
    sqlx::query("UPDATE campaigns SET lease_until = 1 WHERE id = $1 AND status = 'SENDING'")
        .bind(&id)
        .execute(&db.write)
        .await
        .unwrap();
    let app = spawn_with(Opts {
        db_url: Some(db_url),
        ..Opts::default()
    })
    .await;
    let done = wait_campaign(&app, &id, "SENT").await;
    assert_eq!(done["recipients"], 1500);
    let (total, distinct): (i64, i64) = sqlx::query_as(
        "SELECT COUNT(*), COUNT(DISTINCT contact_id) FROM emails WHERE campaign_id = $1",
    )
    .bind(&id)
    .fetch_one(&db.read)
    .await
    .unwrap();
    assert_eq!((total, distinct), (1500, 1500));
    db.close().await;
    app.stop().await;
}

#[tokio::test]
async fn a_campaign_to_a_segment_reaches_only_its_members_and_its_stats_show_their_activity() {
    let app = spawn_app().await;
    let mut pro = Vec::new();
    for (email, plan) in [
        ("p1@example.com", "pro"),
        ("p2@example.com", "pro"),
        ("f1@example.com", "free"),
    ] {
        let r: Value = app
            .post(
                "/v1/contacts",
                &json!({ "email": email, "subscribed": true, "data": { "plan": plan } }),
            )
            .await
            .json()
            .await
            .unwrap();
        if plan == "pro" {
            pro.push(r["data"]["id"].as_str().unwrap().to_string());
        }
    }
    let seg: Value = app
        .post("/v1/segments", &json!({ "name": "Pro", "condition": { "field": "data.plan", "op": "equals", "value": "pro" } }))
        .await
        .json()
        .await
        .unwrap();
    let seg_id = seg["data"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{seg}"));
    let c = create(&app, json!({ "audience": { "segmentId": seg_id } })).await;
    let id = c["id"].as_str().unwrap();
    let r = app.delete(&format!("/v1/segments/{seg_id}")).await;
    assert_eq!(
        r.status(),
        409,
        "a campaign still to go out needs its segment"
    );
    send_now(&app, id).await;
    let done = wait_campaign(&app, id, "SENT").await;
    assert_eq!(done["recipients"], 2, "only the segment's members");
    let emails = wait_sent(&app, &pro, id, 2).await;
    let html = emails[0]["html"].as_str().unwrap();
    hit(&app, &tracking_urls(&app, html, "/c/")[0], BROWSER).await;
    let s = app.get_json(&format!("/v1/campaigns/{id}/stats")).await["data"].clone();
    assert_eq!(s["uniqueClicks"], 1);
    assert_eq!(s["uniqueOpens"], 1, "the click implies an open");
    assert_eq!(s["clickRate"], 0.5);
    app.stop().await;
}
