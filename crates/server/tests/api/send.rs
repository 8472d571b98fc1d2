use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};

async fn outbox_message(app: &TestApp, email_id: &str) -> String {
    for _ in 0..200 {
        let r = app.get(&format!("/v1/outbox/{email_id}")).await;
        if r.status() == 200 {
            assert_eq!(r.headers()["content-type"], "message/rfc822");
            return r.text().await.unwrap();
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("email {email_id} never reached the outbox");
}

#[tokio::test]
async fn send_answers_like_plunk_and_delivers_to_the_outbox() {
    let app = spawn_app().await;
    let r = app
        .post("/v1/send", &json!({ "to": "Ada@Example.com", "subject": "Hi {{name}}", "body": "<p>Hello {{name}}</p>", "data": { "name": "Ada" }, "tracking": false }))
        .await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["success"], true);
    let emails = body["data"]["emails"].as_array().unwrap();
    assert_eq!(emails.len(), 1);
    assert_eq!(emails[0]["contact"]["email"], "ada@example.com");
    assert!(body["data"]["timestamp"].as_str().unwrap().ends_with('Z'));
    let id = emails[0]["email"].as_str().unwrap();

    let email = app.wait_status(id, "SENT").await;
    assert_eq!(email["subject"], "Hi Ada");
    assert_eq!(email["sourceType"], "TRANSACTIONAL");
    assert_eq!(email["html"], "<p>Hello Ada</p>");
    assert!(email["text"].as_str().unwrap().contains("Hello Ada"));
    assert!(email["sentAt"].is_string());

    let raw = outbox_message(&app, id).await;
    assert!(raw.contains("Subject: Hi Ada"), "{raw}");
    assert!(raw.contains("multipart/alternative"), "{raw}");
    assert!(
        raw.contains("To: <ada@example.com>") || raw.contains("To: ada@example.com"),
        "{raw}"
    );

    // The contact got an email.sent event naming the email.
    let contact = emails[0]["contact"]["id"].as_str().unwrap();
    let sent = app.event(contact, "email.sent").await;
    assert_eq!(sent["data"]["emailId"], id);
    assert_eq!(sent["data"]["sourceType"], "TRANSACTIONAL");
    app.stop().await;
}

#[tokio::test]
async fn several_recipients_names_reply_headers_and_attachments() {
    let app = spawn_app().await;
    let ids = app
        .send(&json!({
            "to": ["a@example.com", { "name": "Bea", "email": "b@example.com" }],
            "subject": "Report",
            "body": "<p>See attached</p>",
            "from": { "name": "Acme", "email": "news@acme.example" },
            "reply": "help@acme.example",
            "headers": { "X-Campaign": "q3" },
            "attachments": [{ "filename": "r.txt", "content": "aGVsbG8=", "contentType": "text/plain" }],
        }))
        .await;
    assert_eq!(ids.len(), 2);
    let raw = outbox_message(&app, &ids[1]).await;
    assert!(raw.contains("Bea"), "{raw}");
    assert!(raw.contains("Acme"), "{raw}");
    assert!(raw.contains("Reply-To:"), "{raw}");
    assert!(raw.contains("X-Campaign: q3"), "{raw}");
    assert!(raw.contains("r.txt"), "{raw}");
    // "hello", in whichever transfer encoding the builder chose.
    assert!(
        raw.contains("aGVsbG8=") || raw.contains("\r\n\r\nhello"),
        "{raw}"
    );
    app.stop().await;
}

#[tokio::test]
async fn markdown_bodies_are_rendered_and_values_escaped() {
    let app = spawn_app().await;
    let ids = app
        .send(&json!({ "to": "m@example.com", "subject": "md", "body": "# Title {{who}}", "type": "markdown", "data": { "who": "<b>x</b>" }, "tracking": false }))
        .await;
    let email = app.email(&ids[0]).await;
    assert_eq!(email["html"], "<h1>Title &lt;b&gt;x&lt;/b&gt;</h1>\n");
    app.stop().await;
}

#[tokio::test]
async fn templates_fill_subject_and_body_and_marketing_needs_a_subscriber() {
    let app = spawn_app().await;
    let make = |kind: &str| json!({ "name": kind, "subject": "S {{x}}", "body": "<p>B {{x}}</p>", "type": kind });
    let r = app.post("/v1/templates", &make("TRANSACTIONAL")).await;
    assert_eq!(r.status(), 201);
    let tx: Value = r.json().await.unwrap();
    let tx_id = tx["data"]["id"].as_str().unwrap().to_string();
    let ids = app
        .send(&json!({ "to": "t@example.com", "template": tx_id, "data": { "x": "1" } }))
        .await;
    let email = app.email(&ids[0]).await;
    assert_eq!(email["subject"], "S 1");
    assert_eq!(email["templateId"], tx_id.as_str());

    let mk: Value = app
        .post("/v1/templates", &make("MARKETING"))
        .await
        .json()
        .await
        .unwrap();
    let mk_id = mk["data"]["id"].as_str().unwrap();
    let r = app
        .post(
            "/v1/send",
            &json!({ "to": "u@example.com", "template": mk_id }),
        )
        .await;
    assert_eq!(r.status(), 422);
    let err: Value = r.json().await.unwrap();
    assert!(
        err["message"].as_str().unwrap().contains("unsubscribed"),
        "{err}"
    );
    // Nothing half-written: the refused send created no contact.
    let found = app.get("/v1/contacts/find?email=u@example.com").await;
    assert_eq!(found.status(), 404);
    // A subscribed contact may get it.
    app.send(&json!({ "to": "u@example.com", "template": mk_id, "subscribed": true }))
        .await;
    app.stop().await;
}

#[tokio::test]
async fn idempotency_key_gives_the_same_answer_and_no_second_email() {
    let app = spawn_app().await;
    let body = json!({ "to": "i@example.com", "subject": "once", "body": "<p>once</p>" });
    let send = || {
        app.client
            .post(app.url("/v1/send"))
            .bearer_auth(&app.secret_key)
            .header("Idempotency-Key", "k-1")
            .json(&body)
            .send()
    };
    let first: Value = send().await.unwrap().json().await.unwrap();
    let second: Value = send().await.unwrap().json().await.unwrap();
    assert_eq!(first, second);
    let contact = first["data"]["emails"][0]["contact"]["id"]
        .as_str()
        .unwrap();
    app.wait_status(
        first["data"]["emails"][0]["email"].as_str().unwrap(),
        "SENT",
    )
    .await;
    let sent = app
        .events(contact)
        .await
        .iter()
        .filter(|e| e["name"] == "email.sent")
        .count();
    assert_eq!(sent, 1);

    let other = app
        .client
        .post(app.url("/v1/send"))
        .bearer_auth(&app.secret_key)
        .header("Idempotency-Key", "k-1")
        .json(&json!({ "to": "i@example.com", "subject": "different", "body": "x" }))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 409);
    app.stop().await;
}

/// A retry re-serialised by the client (other key order, spacing, escapes) is the same
/// request: the stored answer, not a 409 (the key compares the parsed request).
#[tokio::test]
async fn idempotency_key_compares_the_parsed_request_not_its_bytes() {
    let app = spawn_app().await;
    let send = |raw: &'static str| {
        app.client
            .post(app.url("/v1/send"))
            .bearer_auth(&app.secret_key)
            .header("Idempotency-Key", "k-parsed")
            .header("content-type", "application/json")
            .body(raw)
            .send()
    };
    let first = send(r#"{"to":"p@example.com","subject":"caf\u00e9","body":"<p>x</p>","data":{"a":1,"b":[1,2]}}"#)
        .await
        .unwrap();
    assert_eq!(first.status(), 200);
    let first: Value = first.json().await.unwrap();
    let again = send("{\n  \"data\": { \"b\": [1, 2], \"a\": 1 },\n  \"body\": \"<p>x</p>\",\n  \"subject\": \"café\",\n  \"to\": \"p@example.com\"\n}")
        .await
        .unwrap();
    assert_eq!(again.status(), 200, "{}", again.text().await.unwrap());
    assert_eq!(again.json::<Value>().await.unwrap(), first);
    // A different value under the same key is still refused.
    let other = send(
        r#"{"to":"p@example.com","subject":"café","body":"<p>x</p>","data":{"a":2,"b":[1,2]}}"#,
    )
    .await
    .unwrap();
    assert_eq!(other.status(), 409);
    app.stop().await;
}

#[tokio::test]
async fn the_outbox_lists_messages_newest_first_in_pages() {
    let app = spawn_app().await;
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.extend(app.send(&json!({ "to": format!("o{i}@example.com"), "subject": format!("n{i}"), "body": "<p>x</p>" })).await);
    }
    for id in &ids {
        app.wait_status(id, "SENT").await;
    }
    let first = app.get_json("/v1/outbox?limit=2").await;
    let page: Vec<&str> = first["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["email"].as_str().unwrap())
        .collect();
    assert_eq!(page, [ids[2].as_str(), ids[1].as_str()]);
    assert!(
        first["data"][0]["message"]
            .as_str()
            .unwrap()
            .contains("Subject: n2")
    );
    let cursor = first["nextCursor"].as_str().unwrap();
    let second = app
        .get_json(&format!("/v1/outbox?limit=2&cursor={cursor}"))
        .await;
    assert_eq!(second["data"].as_array().unwrap().len(), 1);
    assert_eq!(second["data"][0]["email"], ids[0].as_str());
    assert!(second["nextCursor"].is_null());
    app.stop().await;
}
