//! `/v1/templates`: create, list, get, patch, delete.

use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};

async fn expect(r: reqwest::Response, status: u16) -> Value {
    let got = r.status().as_u16();
    let body: Value = r.json().await.unwrap();
    assert_eq!(got, status, "{body}");
    body
}

async fn expect_err(r: reqwest::Response, status: u16, needle: &str) -> Value {
    let body = expect(r, status).await;
    assert_eq!(body["success"], false, "{body}");
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains(needle),
        "{message:?} should mention {needle:?}"
    );
    body
}

async fn create(app: &TestApp, body: Value) -> Value {
    let body = expect(app.post("/v1/templates", &body).await, 201).await;
    assert_eq!(body["success"], true);
    body["data"].clone()
}

fn welcome() -> Value {
    json!({ "name": "Welcome", "subject": "Hi {{name}}", "body": "<p>Hello {{name}}</p>" })
}

#[tokio::test]
async fn create_and_get_a_template() {
    let app = spawn_app().await;
    let t = create(&app, welcome()).await;
    let id = t["id"].as_str().unwrap();
    assert_eq!(t["name"], "Welcome");
    assert_eq!(t["subject"], "Hi {{name}}");
    assert_eq!(t["body"], "<p>Hello {{name}}</p>");
    assert_eq!(t["type"], "TRANSACTIONAL", "the default type");
    assert!(t["createdAt"].as_str().unwrap().ends_with('Z'));
    assert_eq!(t["createdAt"], t["updatedAt"]);
    assert_eq!(
        app.get_json(&format!("/v1/templates/{id}")).await["data"],
        t
    );

    for kind in ["MARKETING", "HEADLESS", "TRANSACTIONAL"] {
        let mut body = welcome();
        body["type"] = json!(kind);
        assert_eq!(create(&app, body).await["type"], kind);
    }
    expect_err(app.get("/v1/templates/no-such-id").await, 404, "no-such-id").await;
    app.stop().await;
}

#[tokio::test]
async fn create_refuses_bad_input() {
    let app = spawn_app().await;
    let with = |key: &str, value: Value| {
        let mut body = welcome();
        body[key] = value;
        body
    };
    let body = expect_err(
        app.post("/v1/templates", &with("type", json!("NEWSLETTER")))
            .await,
        422,
        "NEWSLETTER",
    )
    .await;
    assert_eq!(body["field"], "type");
    let message = body["message"].as_str().unwrap();
    for valid in ["TRANSACTIONAL", "MARKETING", "HEADLESS"] {
        assert!(message.contains(valid), "{message:?} should list {valid}");
    }
    let body = expect_err(
        app.post("/v1/templates", &with("subject", json!("a\r\nBcc: x@y.co")))
            .await,
        422,
        "line breaks",
    )
    .await;
    assert_eq!(body["field"], "subject");
    for field in ["name", "subject", "body"] {
        let body = expect_err(
            app.post("/v1/templates", &with(field, json!("  "))).await,
            422,
            "empty",
        )
        .await;
        assert_eq!(body["field"], field);
    }
    expect_err(
        app.post("/v1/templates", &with("colour", json!("red")))
            .await,
        422,
        "colour",
    )
    .await;
    expect_err(
        app.post("/v1/templates", &json!({ "name": "n", "subject": "s" }))
            .await,
        422,
        "body",
    )
    .await;
    // Nothing was created.
    assert_eq!(app.get_json("/v1/templates").await["data"], json!([]));
    app.stop().await;
}

#[tokio::test]
async fn list_pages_through_every_template() {
    let app = spawn_app().await;
    let mut created = Vec::new();
    for i in 0..5 {
        created.push(
            create(
                &app,
                json!({ "name": format!("t{i}"), "subject": "s", "body": "b" }),
            )
            .await["id"]
                .clone(),
        );
    }
    let mut seen = Vec::new();
    let mut pages = 0;
    let mut path = "/v1/templates?limit=2".to_string();
    loop {
        let page = app.get_json(&path).await;
        pages += 1;
        seen.extend(
            page["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["id"].clone()),
        );
        match page["nextCursor"].as_str() {
            Some(cursor) => path = format!("/v1/templates?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, created);
    expect_err(app.get("/v1/templates?limit=500").await, 400, "limit").await;
    app.stop().await;
}

#[tokio::test]
async fn patch_changes_only_the_given_fields() {
    let app = spawn_app().await;
    let t = create(&app, welcome()).await;
    let path = format!("/v1/templates/{}", t["id"].as_str().unwrap());

    let patched = expect(
        app.patch(
            &path,
            &json!({ "subject": "Welcome, {{name}}", "type": "MARKETING" }),
        )
        .await,
        200,
    )
    .await["data"]
        .clone();
    assert_eq!(patched["id"], t["id"]);
    assert_eq!(patched["name"], "Welcome");
    assert_eq!(patched["subject"], "Welcome, {{name}}");
    assert_eq!(patched["body"], t["body"]);
    assert_eq!(patched["type"], "MARKETING");
    assert_eq!(patched["createdAt"], t["createdAt"]);
    assert!(patched["updatedAt"].as_str().unwrap() >= t["updatedAt"].as_str().unwrap());
    assert_eq!(app.get_json(&path).await["data"], patched);

    let renamed = expect(
        app.patch(&path, &json!({ "name": "Hello", "body": "<p>new</p>" }))
            .await,
        200,
    )
    .await["data"]
        .clone();
    assert_eq!(renamed["name"], "Hello");
    assert_eq!(renamed["body"], "<p>new</p>");
    assert_eq!(renamed["type"], "MARKETING");
    assert_eq!(
        expect(app.patch(&path, &json!({})).await, 200).await["data"],
        renamed
    );

    // Refused changes leave the template as it was.
    let body = expect_err(
        app.patch(&path, &json!({ "name": "x", "type": "bulk" }))
            .await,
        422,
        "TRANSACTIONAL, MARKETING, HEADLESS",
    )
    .await;
    assert_eq!(body["field"], "type");
    let body = expect_err(
        app.patch(&path, &json!({ "subject": "two\nlines" })).await,
        422,
        "line breaks",
    )
    .await;
    assert_eq!(body["field"], "subject");
    expect_err(app.patch(&path, &json!({ "body": "" })).await, 422, "empty").await;
    expect_err(
        app.patch(&path, &json!({ "html": "<p>x</p>" })).await,
        422,
        "html",
    )
    .await;
    assert_eq!(app.get_json(&path).await["data"], renamed);
    expect_err(
        app.patch("/v1/templates/no-such-id", &json!({ "name": "x" }))
            .await,
        404,
        "no-such-id",
    )
    .await;
    app.stop().await;
}

#[tokio::test]
async fn delete_then_not_found() {
    let app = spawn_app().await;
    let t = create(&app, welcome()).await;
    let id = t["id"].as_str().unwrap();
    let path = format!("/v1/templates/{id}");
    assert_eq!(
        expect(app.delete(&path).await, 200).await,
        json!({ "success": true })
    );
    expect_err(app.get(&path).await, 404, id).await;
    expect_err(app.delete(&path).await, 404, id).await;
    expect_err(app.patch(&path, &json!({ "name": "x" })).await, 404, id).await;
    // A send naming it is refused.
    let r = app
        .post(
            "/v1/send",
            &json!({ "to": "a@example.com", "template": id }),
        )
        .await;
    expect_err(r, 422, "no template").await;
    app.stop().await;
}

#[tokio::test]
async fn another_projects_templates_are_not_found() {
    let app = spawn_app().await;
    let t = create(&app, welcome()).await;
    let id = t["id"].as_str().unwrap();
    let db = beacon::store::Db::connect(&app.db_url).await.unwrap();
    let other = beacon::store::projects::create(&db, "other")
        .await
        .unwrap()
        .secret_key;
    db.close().await;

    let path = format!("/v1/templates/{id}");
    let r = app
        .client
        .get(app.url(&path))
        .bearer_auth(&other)
        .send()
        .await
        .unwrap();
    expect_err(r, 404, id).await;
    let r = app
        .client
        .patch(app.url(&path))
        .bearer_auth(&other)
        .json(&json!({ "name": "mine now" }))
        .send()
        .await
        .unwrap();
    expect_err(r, 404, id).await;
    let r = app
        .client
        .delete(app.url(&path))
        .bearer_auth(&other)
        .send()
        .await
        .unwrap();
    expect_err(r, 404, id).await;
    let r = app
        .client
        .get(app.url("/v1/templates"))
        .bearer_auth(&other)
        .send()
        .await
        .unwrap();
    assert_eq!(expect(r, 200).await["data"], json!([]));
    // Still ours, unchanged.
    assert_eq!(app.get_json(&path).await["data"], t);
    app.stop().await;
}
