//! Activity rules driven by real sends, opens and clicks through the pixel and the redirect.

use beacon::segments::{self, Condition};
use beacon::store::{Db, projects};
use serde_json::{Value, json};

use super::{expect, matching};
use crate::helpers::{TestApp, spawn_app};
use crate::tracking::{BROWSER, hit, send_one, tracking_urls};

const PAGE: &str = r#"<html><body><a href="https://example.com/x">x</a></body></html>"#;

/// Sends one tracked email to `to`; returns (email id, contact id, click URL, pixel URL).
async fn tracked(app: &TestApp, to: &str, extra: Value) -> (String, String, String, String) {
    let mut body = json!({ "to": to, "subject": "s", "body": PAGE });
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let (email, contact) = send_one(app, body).await;
    let html = email["html"].as_str().unwrap();
    let click = tracking_urls(app, html, "/c/").remove(0);
    let pixel = tracking_urls(app, html, "/o/").remove(0);
    (email["id"].as_str().unwrap().into(), contact, click, pixel)
}

#[tokio::test]
async fn clicked_campaign_within_7_days_humans_only() {
    let app = spawn_app().await;
    let db = Db::connect(&app.db_url).await.unwrap();
    let project = projects::list(&db).await.unwrap().remove(0);
    // No campaigns API to lean on here: the campaign and its emails are made in SQL.
    sqlx::query(
        "INSERT INTO campaigns (id, project_id, name, subject, body, from_email, type, audience, \
         status, created_at, updated_at) VALUES ('camp-x', $1, 'X', 's', 'b', 'a@example.com', \
         'MARKETING', '{}', 'SENT', 0, 0)",
    )
    .bind(&project.id)
    .execute(&db.write)
    .await
    .unwrap();
    let mut urls = Vec::new();
    for to in [
        "human@x.com",
        "bot@x.com",
        "other@x.com",
        "old@x.com",
        "none@x.com",
    ] {
        let (email, contact, click, pixel) = tracked(&app, to, json!({})).await;
        if to != "other@x.com" {
            sqlx::query("UPDATE emails SET campaign_id = 'camp-x' WHERE id = $1")
                .bind(&email)
                .execute(&db.write)
                .await
                .unwrap();
        }
        urls.push((to, contact, click, pixel));
    }
    for (to, _, click, _) in &urls {
        match *to {
            "human@x.com" | "other@x.com" | "old@x.com" => {
                assert_eq!(hit(&app, click, BROWSER).await.status(), 302);
            }
            // HEAD is a link checker: recorded, flagged machine.
            "bot@x.com" => {
                let r = app
                    .client
                    .head(click.as_str())
                    .header("user-agent", BROWSER)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 302);
                app.settle().await;
            }
            _ => {}
        }
    }
    let (_, bot, _, _) = &urls[1];
    let clicks: Vec<Value> = app
        .events(bot)
        .await
        .into_iter()
        .filter(|e| e["name"] == "email.click")
        .collect();
    assert!(clicks[0]["data"]["machine"].is_string(), "{clicks:?}");
    // The old one clicked 10 days ago.
    sqlx::query("UPDATE events SET created_at = created_at - 864000000 WHERE contact_id = $1")
        .bind(&urls[3].1)
        .execute(&db.write)
        .await
        .unwrap();

    let within = |human: Value| {
        let mut r = json!({"activity": "email.clicked", "op": "triggeredWithin", "amount": 7,
                           "unit": "days", "campaignId": "camp-x"});
        if !human.is_null() {
            r["humanOnly"] = human;
        }
        r
    };
    assert_eq!(matching(&app, within(json!(true))).await, ["human@x.com"]);
    assert_eq!(
        matching(&app, within(Value::Null)).await,
        ["human@x.com"],
        "humans by default"
    );
    assert_eq!(
        matching(&app, within(json!(false))).await,
        ["bot@x.com", "human@x.com"]
    );
    let ever = json!({"activity": "email.clicked", "op": "triggered", "campaignId": "camp-x"});
    assert_eq!(matching(&app, ever).await, ["human@x.com", "old@x.com"]);
    let not = json!({"activity": "email.clicked", "op": "notTriggeredWithin", "amount": 7, "unit": "days"});
    assert_eq!(
        matching(&app, not).await,
        ["bot@x.com", "none@x.com", "old@x.com"]
    );
    let not_ever = json!({"activity": "email.clicked", "op": "notTriggered", "humanOnly": false});
    assert_eq!(matching(&app, not_ever).await, ["none@x.com"]);
    let sent =
        json!({"activity": "email.sent", "op": "triggeredWithin", "amount": 5, "unit": "minutes"});
    // The old contact's send moved back 10 days with its click.
    assert_eq!(matching(&app, sent).await.len(), 4);

    // `matches` (what workflows call) agrees, for one contact at a time.
    let cond = Condition::parse(&within(json!(true))).unwrap();
    for (to, contact, _, _) in &urls {
        let m = segments::matches(&db, &project.id, contact, &cond)
            .await
            .unwrap();
        assert_eq!(m, *to == "human@x.com", "{to}");
    }
    app.stop().await;
}

#[tokio::test]
async fn opens_templates_and_custom_events() {
    let app = spawn_app().await;
    let t: Value = app
        .post(
            "/v1/templates",
            &json!({"name": "t", "subject": "s", "body": PAGE, "type": "TRANSACTIONAL"}),
        )
        .await
        .json()
        .await
        .unwrap();
    let template = t["data"]["id"].as_str().unwrap();
    let (_, _, _, pixel) = tracked(&app, "opener@x.com", json!({"template": template})).await;
    hit(&app, &pixel, BROWSER).await;
    let (_, _, _, pixel) = tracked(&app, "plain@x.com", json!({})).await;
    hit(&app, &pixel, BROWSER).await;
    let (_, _, _, pixel) = tracked(&app, "apple@x.com", json!({"template": template})).await;
    let r = app
        .client
        .get(&pixel)
        .header("user-agent", "Mozilla/5.0")
        .header("x-forwarded-for", "17.58.1.2")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let track = json!({"event": "signed-up", "email": "plain@x.com"});
    expect(app.post("/v1/track", &track).await, 200).await;

    let opened = |extra: Value| {
        let mut r = json!({"activity": "email.opened", "op": "triggered"});
        for (k, v) in extra.as_object().unwrap() {
            r[k] = v.clone();
        }
        r
    };
    assert_eq!(
        matching(&app, opened(json!({}))).await,
        ["opener@x.com", "plain@x.com"]
    );
    assert_eq!(
        matching(&app, opened(json!({"templateId": template}))).await,
        ["opener@x.com"]
    );
    assert_eq!(
        matching(
            &app,
            opened(json!({"templateId": template, "humanOnly": false}))
        )
        .await,
        ["apple@x.com", "opener@x.com"]
    );
    let event = json!({"activity": "event.signed-up", "op": "triggeredWithin", "amount": 1, "unit": "hours"});
    assert_eq!(matching(&app, event.clone()).await, ["plain@x.com"]);
    let both = json!({"all": [event, {"activity": "event.signed-up", "op": "notTriggered"}]});
    assert_eq!(matching(&app, both).await, Vec::<String>::new());
    let either = json!({"any": [
        {"activity": "event.signed-up", "op": "triggered"},
        opened(json!({"templateId": template, "humanOnly": false}))
    ]});
    assert_eq!(
        matching(&app, either).await,
        ["apple@x.com", "opener@x.com", "plain@x.com"]
    );
    app.stop().await;
}
