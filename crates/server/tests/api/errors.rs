//! Bad input gets a clear 4xx naming what is wrong, and writes nothing.

use serde_json::{Value, json};

use crate::helpers::spawn_app;

async fn expect(r: reqwest::Response, status: u16, needle: &str) -> Value {
    let got = r.status().as_u16();
    let body: Value = r.json().await.unwrap();
    assert_eq!(got, status, "{body}");
    assert_eq!(body["success"], false);
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains(needle),
        "{message:?} should mention {needle:?}"
    );
    body
}

#[tokio::test]
async fn send_refuses_bad_input_with_the_reason() {
    let app = spawn_app().await;
    let cases = [
        (
            json!({ "to": "not-an-address", "subject": "s", "body": "b" }),
            422,
            "not a valid email address",
            Some("to"),
        ),
        (
            json!({ "to": "a@example.com", "body": "b" }),
            422,
            "subject",
            Some("subject"),
        ),
        (
            json!({ "to": "a@example.com", "subject": "s" }),
            422,
            "body",
            Some("body"),
        ),
        (
            json!({ "to": "a@example.com", "template": "nope" }),
            422,
            "no template",
            Some("template"),
        ),
        (
            json!({ "to": [], "subject": "s", "body": "b" }),
            422,
            "recipients",
            Some("to"),
        ),
        (
            json!({ "to": "a@example.com", "subject": "s", "body": "b", "from": "bad" }),
            422,
            "not a valid",
            Some("from"),
        ),
        (
            json!({ "to": "a@example.com", "subject": "s", "body": "b", "reply": "x" }),
            422,
            "not a valid",
            Some("reply"),
        ),
        (
            json!({ "to": "a@example.com", "subject": "s", "body": "b", "headers": { "Subject": "x" } }),
            422,
            "Subject",
            None,
        ),
        (
            json!({ "to": "a@example.com", "subject": "s", "body": "b", "headers": { "X-A": "1\r\nBcc: e@vil.com" } }),
            422,
            "line break",
            None,
        ),
        (
            json!({ "to": "a@example.com", "subject": "s", "body": "b", "attachments": [{ "filename": "a", "content": "%%%" }] }),
            422,
            "base64",
            None,
        ),
        (
            json!({ "to": "a@example.com", "subject": "s", "body": "b", "type": "pdf" }),
            422,
            "markdown",
            Some("type"),
        ),
        (
            json!({ "to": "a@example.com", "subject": "s", "body": "b", "colour": "red" }),
            422,
            "colour",
            None,
        ),
        (
            json!({ "to": "a@example.com", "subject": "a\nBcc: x@y.co", "body": "b" }),
            422,
            "line breaks",
            Some("subject"),
        ),
    ];
    for (body, status, needle, field) in cases {
        let err = expect(app.post("/v1/send", &body).await, status, needle).await;
        if let Some(field) = field {
            assert_eq!(err["field"], field, "{body}");
        }
    }
    // None of it created a contact or an email.
    let contacts = app.get_json("/v1/contacts").await;
    assert_eq!(contacts["data"].as_array().unwrap().len(), 0);
    app.stop().await;
}

#[tokio::test]
async fn malformed_json_missing_and_wrong_keys() {
    let app = spawn_app().await;
    let r = app
        .client
        .post(app.url("/v1/send"))
        .bearer_auth(&app.secret_key)
        .header("content-type", "application/json")
        .body("{\"to\": ")
        .send()
        .await
        .unwrap();
    expect(r, 400, "not valid JSON").await;

    let r = app
        .client
        .post(app.url("/v1/send"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    expect(r, 401, "Authorization").await;
    let r = app
        .client
        .post(app.url("/v1/send"))
        .bearer_auth("sk_wrong")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    expect(r, 401, "unknown API key").await;

    // A missing field is named, also inside an object.
    let r = app
        .post("/v1/send", &json!({ "subject": "s", "body": "b" }))
        .await;
    assert_eq!(expect(r, 422, "missing field `to`").await["field"], "to");
    let wf = json!({ "name": "n", "trigger": {}, "steps": [] });
    let r = app.post("/v1/workflows", &wf).await;
    assert_eq!(expect(r, 422, "event").await["field"], "trigger.event");

    // Every name follows one rule: 1 to 200 characters, no control characters.
    let long = "n".repeat(201);
    let named = [
        (
            "/v1/templates",
            json!({ "name": long, "subject": "s", "body": "b" }),
        ),
        (
            "/v1/segments",
            json!({ "name": long, "condition": { "field": "subscribed", "op": "equals", "value": true } }),
        ),
        (
            "/v1/campaigns",
            json!({ "name": "a\u{7}b", "subject": "s", "body": "b", "from": "a@example.com", "audience": { "all": true } }),
        ),
    ];
    for (path, body) in named {
        let r = app.post(path, &body).await;
        assert_eq!(expect(r, 422, "the name").await["field"], "name", "{path}");
    }
    app.stop().await;
}

/// serde reads a struct from an array of its fields in order; the API takes objects only
/// (found by schemathesis: `PATCH /v1/segments/{id}` with `[null, null]` answered 200).
#[tokio::test]
async fn an_array_body_is_refused() {
    let app = spawn_app().await;
    let segment: Value = app
        .post("/v1/segments", &json!({ "name": "S", "condition": { "field": "subscribed", "op": "equals", "value": true } }))
        .await
        .json()
        .await
        .unwrap();
    let id = segment["data"]["id"].as_str().unwrap();
    for (method, path, body) in [
        ("PATCH", format!("/v1/segments/{id}"), json!([null, null])),
        (
            "POST",
            "/v1/contacts".to_string(),
            json!(["a@example.com", true, null]),
        ),
        (
            "POST",
            "/v1/send".to_string(),
            json!(["a@example.com", "s", "b"]),
        ),
    ] {
        let r = app
            .client
            .request(method.parse().unwrap(), app.url(&path))
            .bearer_auth(&app.secret_key)
            .json(&body)
            .send()
            .await
            .unwrap();
        expect(r, 422, "must be a JSON object").await;
    }
    app.stop().await;
}

#[tokio::test]
async fn an_over_size_body_is_413() {
    let app = spawn_app().await;
    let big = "x".repeat(11 * 1024 * 1024);
    let r = app
        .post(
            "/v1/send",
            &json!({ "to": "a@example.com", "subject": "s", "body": big }),
        )
        .await;
    expect(r, 413, "size limit").await;
    app.stop().await;
}

#[tokio::test]
async fn another_projects_ids_are_not_found() {
    let app = spawn_app().await;
    let ids = app
        .send(&json!({ "to": "a@example.com", "subject": "s", "body": "b" }))
        .await;
    let db = beacon::store::Db::connect(&app.db_url).await.unwrap();
    let other = beacon::store::projects::create(&db, "other").await.unwrap();
    let r = app
        .client
        .get(app.url(&format!("/v1/emails/{}", ids[0])))
        .bearer_auth(&other.secret_key)
        .send()
        .await
        .unwrap();
    expect(r, 404, "no email").await;
    db.close().await;
    app.stop().await;
}
