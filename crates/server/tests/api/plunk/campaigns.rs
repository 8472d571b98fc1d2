//! Plunk's campaign routes: `PUT`/`DELETE /v1/campaigns` and `POST /v1/campaigns/send`.

use reqwest::Method;
use serde_json::{Value, json};

use super::{call, delete_by_body, expect_each};
use crate::helpers::{TestApp, spawn_app};

async fn draft(app: &TestApp) -> Value {
    let r = app
        .post(
            "/v1/campaigns",
            &json!({ "name": "Launch", "subject": "Hello", "body": "<p>Hi</p>",
            "from": "news@acme.example", "audience": { "all": true } }),
        )
        .await;
    assert_eq!(r.status(), 201);
    r.json::<Value>().await.unwrap()["data"].clone()
}

#[tokio::test]
async fn put_and_delete_campaigns_take_the_id_in_the_body() {
    let app = spawn_app().await;
    let sk = app.secret_key.clone();
    let c = draft(&app).await;
    let (s, v) = call(&app, Method::PUT, "/v1/campaigns", &sk,
        json!({ "id": c["id"], "subject": "New subject", "body": "<p>New</p>", "recipients": ["all"], "style": "HTML" })).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["success"], true);
    assert_eq!(v["subject"], "New subject");
    assert_eq!(v["audience"], json!({ "all": true }));
    let beacon = app
        .get_json(&format!("/v1/campaigns/{}", c["id"].as_str().unwrap()))
        .await;
    assert_eq!(beacon["data"]["body"], "<p>New</p>");

    expect_each(
        &app,
        Method::PUT,
        "/v1/campaigns",
        &[
            (
                json!({ "id": c["id"], "recipients": ["a@example.com"] }),
                422,
                Some("recipients"),
            ),
            (
                json!({ "id": c["id"], "style": "PLUNK" }),
                422,
                Some("style"),
            ),
            (
                json!({ "id": c["id"], "subject": "a\nb" }),
                422,
                Some("subject"),
            ),
        ],
    )
    .await;

    let v = delete_by_body(&app, "/v1/campaigns", &c["id"]).await;
    assert_eq!(v["subject"], "New subject");
    app.stop().await;
}

#[tokio::test]
async fn campaigns_send_live_schedules_like_beacons_send() {
    let app = spawn_app().await;
    let sk = app.secret_key.clone();
    app.post(
        "/v1/contacts",
        &json!({ "email": "r@example.com", "subscribed": true }),
    )
    .await;
    let c = draft(&app).await;
    let id = c["id"].as_str().unwrap();
    // Without `live` Plunk tests to the project's members; a project with none says so.
    let (s, v) = call(
        &app,
        Method::POST,
        "/v1/campaigns/send",
        &sk,
        json!({ "id": id }),
    )
    .await;
    assert_eq!((s, v["field"].clone()), (422, json!("live")), "{v}");
    // With a member (the dashboard's owner), the test goes to them, as POST …/{id}/test sends.
    crate::dashboard::owner(&app).await;
    let (s, v) = call(
        &app,
        Method::POST,
        "/v1/campaigns/send",
        &sk,
        json!({ "id": id }),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let tests = v["data"]["tests"].as_array().unwrap();
    assert_eq!(tests.len(), 1);
    let test = app.email(tests[0]["email"].as_str().unwrap()).await;
    assert_eq!(test["to"], crate::dashboard::OWNER);
    assert_eq!(test["subject"], "[Test] Hello");
    assert_eq!(test["campaignId"], Value::Null);
    // A delay schedules it that many minutes ahead.
    let (s, v) = call(
        &app,
        Method::POST,
        "/v1/campaigns/send",
        &sk,
        json!({ "id": id, "live": true, "delay": 60 }),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["data"]["status"], "SCHEDULED");
    let at =
        chrono::DateTime::parse_from_rfc3339(v["data"]["scheduledAt"].as_str().unwrap()).unwrap();
    let ahead = at.timestamp_millis() - chrono::Utc::now().timestamp_millis();
    assert!((3_500_000..=3_600_000).contains(&ahead), "{ahead} ms ahead");
    // Only a DRAFT can be sent, as on Beacon's route.
    let (s, _) = call(
        &app,
        Method::POST,
        "/v1/campaigns/send",
        &sk,
        json!({ "id": id, "live": true }),
    )
    .await;
    assert_eq!(s, 409);

    let now = draft(&app).await;
    let (s, v) = call(
        &app,
        Method::POST,
        "/v1/campaigns/send",
        &sk,
        json!({ "id": now["id"], "live": true }),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    for _ in 0..200 {
        let c = app
            .get_json(&format!("/v1/campaigns/{}", now["id"].as_str().unwrap()))
            .await;
        if c["data"]["status"] == "SENT" {
            assert_eq!(c["data"]["recipients"], 1);
            app.stop().await;
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the campaign never went out");
}
