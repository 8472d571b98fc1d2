//! Campaigns at scale: statistics, segment audiences, and a fan-out that survives restarts.

use std::time::Duration;

use serde_json::{Value, json};

use crate::campaigns::{create, futures_join, send_now, wait_campaign, wait_sent};
use crate::helpers::{Opts, spawn_app, spawn_with};
use crate::tracking::{BROWSER, hit, tracking_urls};

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
    app.settle().await;

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

#[tokio::test]
async fn campaigns_due_at_the_same_time_all_go_out_without_waiting_out_a_lease() {
    let app = spawn_app().await;
    futures_join(&app, &["d1@example.com"], true).await;
    let at = (chrono::Utc::now() + chrono::Duration::seconds(1))
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let mut ids = Vec::new();
    for n in 0..3 {
        let c = create(&app, json!({ "name": format!("due {n}") })).await;
        let id = c["id"].as_str().unwrap().to_string();
        let r = app
            .post(
                &format!("/v1/campaigns/{id}/send"),
                &json!({ "scheduledAt": at }),
            )
            .await;
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
        ids.push(id);
    }
    // One claim used to take every due campaign on PostgreSQL and run only the first; the
    // rest sat SENDING until their lease (30 s) ran out, past wait_campaign's 15 s.
    for id in &ids {
        assert_eq!(wait_campaign(&app, id, "SENT").await["recipients"], 1);
    }
    app.stop().await;
}
