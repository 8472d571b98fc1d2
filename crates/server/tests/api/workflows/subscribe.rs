//! Subscribing and unsubscribing a contact (the API, Plunk's calls) records `contact.subscribed`
//! and `contact.unsubscribed`, once per change, so a welcome workflow starts on a subscription;
//! contacts a send or a tracked event creates record nothing.

use serde_json::{Value, json};

use super::{all, template, until, workflow};
use crate::helpers::{TestApp, spawn_app};

async fn names(app: &TestApp, contact: &str) -> Vec<String> {
    app.events(contact)
        .await
        .iter()
        .filter_map(|e| e["name"].as_str())
        .filter(|n| n.starts_with("contact."))
        .map(str::to_string)
        .collect()
}

#[tokio::test]
async fn a_subscription_starts_the_welcome_workflow_and_each_change_is_recorded_once() {
    let app = spawn_app().await;
    let welcome = template(&app, "MARKETING", "Welcome", "<p>Hi</p>").await;
    let wf = workflow(
        &app,
        json!({ "name": "Welcome", "trigger": { "event": "contact.subscribed" }, "allowReentry": true,
                "steps": [{ "id": "hi", "type": "SEND_EMAIL", "template": welcome }] }),
    )
    .await;
    // Created subscribed: a subscription.
    let made: Value = app
        .post(
            "/v1/contacts",
            &json!({ "email": "ada@example.com", "subscribed": true }),
        )
        .await
        .json()
        .await
        .unwrap();
    let ada = made["data"]["id"].as_str().unwrap().to_string();
    until(&app, &wf, all("COMPLETED", 1)).await;
    // Again subscribed: no change, nothing recorded.
    app.post(
        "/v1/contacts",
        &json!({ "email": "ada@example.com", "subscribed": true }),
    )
    .await;
    // Plunk's calls change it both ways.
    let r = app
        .post("/v1/contacts/unsubscribe", &json!({ "id": ada }))
        .await;
    assert_eq!(r.status(), 200);
    let r = app
        .post(
            "/v1/contacts/subscribe",
            &json!({ "email": "ada@example.com" }),
        )
        .await;
    assert_eq!(r.status(), 200);
    // A patch that leaves the subscription alone records nothing.
    let r = app
        .patch(
            &format!("/v1/contacts/{ada}"),
            &json!({ "data": { "plan": "pro" } }),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        names(&app, &ada).await,
        [
            "contact.subscribed",
            "contact.unsubscribed",
            "contact.subscribed"
        ]
    );
    // Subscribing again welcomes again (the workflow allows re-entry).
    until(&app, &wf, all("COMPLETED", 2)).await;

    // Created not subscribed, or by a send or a tracked event: nothing.
    let made: Value = app
        .post("/v1/contacts", &json!({ "email": "bob@example.com" }))
        .await
        .json()
        .await
        .unwrap();
    let bob = made["data"]["id"].as_str().unwrap().to_string();
    let tracked: Value = app
        .post(
            "/v1/track",
            &json!({ "email": "cy@example.com", "event": "joined" }),
        )
        .await
        .json()
        .await
        .unwrap();
    let cy = tracked["data"]["contact"].as_str().unwrap().to_string();
    for c in [&bob, &cy] {
        assert_eq!(names(&app, c).await, Vec::<String>::new());
    }
    app.stop().await;
}
