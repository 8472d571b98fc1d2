//! Settings → Tracking and the project statistics.

use serde_json::{Value, json};

use crate::helpers::spawn_app;
use crate::tracking::{BROWSER, NEWSLETTER, hit, send_one, set_mode, tracking_urls};

#[tokio::test]
async fn settings_change_the_next_send_and_refuse_unknown_modes() {
    let app = spawn_app().await;
    let project = app.get_json("/v1/project").await;
    assert_eq!(project["data"]["tracking"], "ENABLED");
    let (before, _) = send_one(
        &app,
        json!({ "to": "p@example.com", "subject": "s", "body": NEWSLETTER }),
    )
    .await;
    let r = app
        .patch("/v1/project", &json!({ "tracking": "SOMETIMES" }))
        .await;
    assert_eq!(r.status(), 422);
    let err: Value = r.json().await.unwrap();
    let msg = err["message"].as_str().unwrap();
    for valid in ["ENABLED", "DISABLED", "MARKETING_ONLY"] {
        assert!(msg.contains(valid), "{msg}");
    }
    set_mode(&app, "DISABLED").await;
    assert_eq!(
        app.get_json("/v1/project").await["data"]["tracking"],
        "DISABLED"
    );
    let (after, _) = send_one(
        &app,
        json!({ "to": "p@example.com", "subject": "s", "body": NEWSLETTER }),
    )
    .await;
    assert_eq!(after["tracked"], false);
    // Already rendered emails keep their decision.
    assert_eq!(
        app.email(before["id"].as_str().unwrap()).await["tracked"],
        true
    );
    app.stop().await;
}

#[tokio::test]
async fn stats_count_humans_and_machines_apart() {
    let app = spawn_app().await;
    let mut emails = Vec::new();
    for i in 0..4 {
        emails.push(
            send_one(
                &app,
                json!({ "to": format!("s{i}@example.com"), "subject": "s", "body": NEWSLETTER }),
            )
            .await
            .0,
        );
    }
    set_mode(&app, "DISABLED").await;
    send_one(
        &app,
        json!({ "to": "u@example.com", "subject": "s", "body": NEWSLETTER }),
    )
    .await;
    let html = |i: usize| emails[i]["html"].as_str().unwrap().to_string();
    hit(&app, &tracking_urls(&app, &html(0), "/o/")[0], BROWSER).await;
    hit(&app, &tracking_urls(&app, &html(1), "/o/")[0], BROWSER).await;
    hit(&app, &tracking_urls(&app, &html(1), "/c/")[0], BROWSER).await;
    hit(&app, &tracking_urls(&app, &html(2), "/c/")[1], BROWSER).await;
    app.client
        .head(&tracking_urls(&app, &html(3), "/o/")[0])
        .header("user-agent", BROWSER)
        .send()
        .await
        .unwrap();
    app.settle().await;
    hit(
        &app,
        &tracking_urls(&app, &html(3), "/c/")[0],
        "Mozilla/5.0 (compatible; Proofpoint URL Defense)",
    )
    .await;

    let s = app.get_json("/v1/stats").await["data"].clone();
    assert_eq!(s["sent"], 5);
    assert_eq!(s["tracked"], 4);
    assert_eq!(
        s["uniqueOpens"], 3,
        "two pixel opens and one inferred from a click"
    );
    assert_eq!(s["uniqueClicks"], 2);
    assert_eq!(s["machineOpens"], 1);
    assert_eq!(s["machineClicks"], 1);
    assert_eq!(s["openRate"], 0.75);
    assert_eq!(s["clickRate"], 0.5);
    let links = s["links"].as_array().unwrap();
    let cta = links.iter().find(|l| l["index"] == 0).unwrap();
    assert_eq!(cta["tag"], "cta");
    assert_eq!(cta["humanClicks"], 1);
    assert_eq!(cta["machineClicks"], 1);
    let second = links.iter().find(|l| l["index"] == 1).unwrap();
    assert_eq!(second["url"], "https://example.com/a?x=1&y=%20z#frag");
    assert_eq!(second["humanClicks"], 1);

    let r = app.get("/v1/stats?from=yesterday").await;
    assert_eq!(r.status(), 400);
    app.stop().await;
}
