use serde_json::{Value, json};

use crate::helpers::spawn_app;

#[tokio::test]
async fn track_records_an_event_and_creates_a_subscribed_contact() {
    let app = spawn_app().await;
    let r = app
        .client
        .post(app.url("/v1/track"))
        .bearer_auth(&app.public_key)
        .json(&json!({ "event": "signed-up", "email": "new@example.com", "data": { "plan": "pro", "tmp": { "value": "x", "persistent": false } } }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["success"], true);
    let contact_id = body["data"]["contact"].as_str().unwrap();
    assert!(body["data"]["event"].is_string());

    let contact = app.get_json(&format!("/v1/contacts/{contact_id}")).await["data"].clone();
    assert_eq!(contact["subscribed"], true);
    assert_eq!(contact["data"]["plan"], "pro");
    assert!(
        contact["data"].get("tmp").is_none(),
        "non-persistent data stays off the contact"
    );

    let events = app.events(contact_id).await;
    assert_eq!(events[0]["name"], "signed-up");
    assert_eq!(events[0]["data"]["tmp"], "x");
    app.stop().await;
}

#[tokio::test]
async fn reserved_event_names_are_refused() {
    let app = spawn_app().await;
    for name in [
        "email.open",
        "contact.deleted",
        "segment.entry",
        "Email.click",
    ] {
        let r = app
            .post(
                "/v1/track",
                &json!({ "event": name, "email": "x@example.com" }),
            )
            .await;
        assert_eq!(r.status(), 400, "{name}");
        let body: Value = r.json().await.unwrap();
        assert!(body["message"].as_str().unwrap().contains("reserved"));
    }
    app.stop().await;
}

#[tokio::test]
async fn the_public_key_works_only_for_track() {
    let app = spawn_app().await;
    let r = app
        .client
        .post(app.url("/v1/send"))
        .bearer_auth(&app.public_key)
        .json(&json!({ "to": "a@example.com", "subject": "s", "body": "b" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let body: Value = r.json().await.unwrap();
    assert!(body["message"].as_str().unwrap().contains("secret key"));
    app.stop().await;
}
