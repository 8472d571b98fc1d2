//! `/v1/contacts`: upsert, list, find, get, patch, delete and a contact's events.

use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};

/// Status and JSON body of a response, the status asserted.
async fn expect(r: reqwest::Response, status: u16) -> Value {
    let got = r.status().as_u16();
    let body: Value = r.json().await.unwrap();
    assert_eq!(got, status, "{body}");
    body
}

/// An error answer with `status` whose message mentions `needle`.
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
    expect(app.post("/v1/contacts", &body).await, 201).await["data"].clone()
}

/// The secret key of a second project in the same database.
async fn other_project_key(app: &TestApp) -> String {
    let db = beacon::store::Db::connect(&app.db_url).await.unwrap();
    let other = beacon::store::projects::create(&db, "other").await.unwrap();
    db.close().await;
    other.secret_key
}

#[tokio::test]
async fn upsert_creates_then_updates_and_merges_data() {
    let app = spawn_app().await;
    let r = app
        .post(
            "/v1/contacts",
            &json!({ "email": " Ada@Example.com ", "data": { "plan": "pro", "n": 1 } }),
        )
        .await;
    let body = expect(r, 201).await;
    assert_eq!(body["success"], true);
    let c = &body["data"];
    let id = c["id"].as_str().unwrap();
    assert_eq!(c["email"], "ada@example.com");
    assert_eq!(c["subscribed"], false, "opt-in is explicit");
    assert_eq!(c["data"], json!({ "plan": "pro", "n": 1 }));
    assert!(c["createdAt"].as_str().unwrap().ends_with('Z'));
    assert_eq!(c["createdAt"], c["updatedAt"]);

    // Same address (any case): 200, the same contact, data merged and `null` removing a key.
    let r = app
        .post("/v1/contacts", &json!({ "email": "ADA@example.com", "subscribed": true, "data": { "n": null, "city": "Paris" } }))
        .await;
    let again = expect(r, 200).await["data"].clone();
    assert_eq!(again["id"], id);
    assert_eq!(again["subscribed"], true);
    assert_eq!(again["data"], json!({ "plan": "pro", "city": "Paris" }));

    // No changes: 200 and untouched.
    let same = expect(
        app.post("/v1/contacts", &json!({ "email": "ada@example.com" }))
            .await,
        200,
    )
    .await["data"]
        .clone();
    assert_eq!(same, again);

    let stored = app.get_json(&format!("/v1/contacts/{id}")).await["data"].clone();
    assert_eq!(stored, again);

    let sub = create(
        &app,
        json!({ "email": "sub@example.com", "subscribed": true }),
    )
    .await;
    assert_eq!(sub["subscribed"], true);
    assert_eq!(sub["data"], json!({}));
    app.stop().await;
}

#[tokio::test]
async fn upsert_refuses_bad_input() {
    let app = spawn_app().await;
    let body = expect_err(
        app.post("/v1/contacts", &json!({ "email": "not-an-address" }))
            .await,
        422,
        "not a valid email",
    )
    .await;
    assert_eq!(body["field"], "email");
    let body = expect_err(
        app.post(
            "/v1/contacts",
            &json!({ "email": "a@example.com", "data": [1, 2] }),
        )
        .await,
        422,
        "JSON object",
    )
    .await;
    assert_eq!(body["field"], "data");
    expect_err(
        app.post(
            "/v1/contacts",
            &json!({ "email": "a@example.com", "colour": "red" }),
        )
        .await,
        422,
        "colour",
    )
    .await;
    expect_err(
        app.post("/v1/contacts", &json!({ "subscribed": true }))
            .await,
        422,
        "email",
    )
    .await;
    expect_err(
        app.post(
            "/v1/contacts",
            &json!({ "email": "a@example.com", "subscribed": "yes" }),
        )
        .await,
        422,
        "subscribed",
    )
    .await;
    // The public key may not manage contacts.
    let r = app
        .client
        .get(app.url("/v1/contacts"))
        .bearer_auth(&app.public_key)
        .send()
        .await
        .unwrap();
    expect_err(r, 401, "secret key").await;
    // Nothing was created.
    assert_eq!(app.get_json("/v1/contacts").await["data"], json!([]));
    app.stop().await;
}

#[tokio::test]
async fn list_pages_through_every_contact_in_creation_order() {
    let app = spawn_app().await;
    let mut created = Vec::new();
    for i in 0..5 {
        created.push(
            create(&app, json!({ "email": format!("p{i}@example.com") })).await["id"].clone(),
        );
    }
    let mut seen = Vec::new();
    let mut pages = 0;
    let mut path = "/v1/contacts?limit=2".to_string();
    loop {
        let page = app.get_json(&path).await;
        pages += 1;
        assert_eq!(page["success"], true);
        let items = page["data"].as_array().unwrap();
        assert!(items.len() <= 2);
        seen.extend(items.iter().map(|c| c["id"].clone()));
        match page["nextCursor"].as_str() {
            Some(cursor) => path = format!("/v1/contacts?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, created);

    let all = app.get_json("/v1/contacts").await;
    assert_eq!(all["data"].as_array().unwrap().len(), 5);
    assert!(all["nextCursor"].is_null());
    expect_err(app.get("/v1/contacts?limit=0").await, 400, "limit").await;
    expect_err(app.get("/v1/contacts?limit=101").await, 400, "limit").await;
    app.stop().await;
}

#[tokio::test]
async fn find_by_email() {
    let app = spawn_app().await;
    let c = create(
        &app,
        json!({ "email": "find@example.com", "data": { "k": "v" } }),
    )
    .await;
    let found = app
        .get_json("/v1/contacts/find?email=FIND@example.com")
        .await["data"]
        .clone();
    assert_eq!(found, c);
    expect_err(
        app.get("/v1/contacts/find?email=nobody@example.com").await,
        404,
        "nobody@example.com",
    )
    .await;
    let body = expect_err(
        app.get("/v1/contacts/find?email=nope").await,
        422,
        "not a valid email",
    )
    .await;
    assert_eq!(body["field"], "email");
    expect(app.get("/v1/contacts/find").await, 400).await;
    // `+` must be percent-encoded in a query string; the error says so.
    create(&app, json!({ "email": "first+tag@example.com" })).await;
    let found = app
        .get_json("/v1/contacts/find?email=first%2Btag@example.com")
        .await;
    assert_eq!(found["data"]["email"], "first+tag@example.com");
    expect_err(
        app.get("/v1/contacts/find?email=first+tag@example.com")
            .await,
        422,
        "%2B",
    )
    .await;
    app.stop().await;
}

#[tokio::test]
async fn patch_changes_email_subscription_and_merges_data() {
    let app = spawn_app().await;
    let c = create(
        &app,
        json!({ "email": "old@example.com", "data": { "a": 1, "b": 2 } }),
    )
    .await;
    let id = c["id"].as_str().unwrap();
    let path = format!("/v1/contacts/{id}");

    let r = app.patch(&path, &json!({ "email": "New@Example.com", "subscribed": true, "data": { "b": null, "c": 3 } })).await;
    let patched = expect(r, 200).await["data"].clone();
    assert_eq!(patched["id"], id);
    assert_eq!(patched["email"], "new@example.com");
    assert_eq!(patched["subscribed"], true);
    assert_eq!(patched["data"], json!({ "a": 1, "c": 3 }));
    assert_eq!(patched["createdAt"], c["createdAt"]);
    assert!(patched["updatedAt"].as_str().unwrap() >= c["updatedAt"].as_str().unwrap());
    assert_eq!(app.get_json(&path).await["data"], patched);
    expect(
        app.get("/v1/contacts/find?email=old@example.com").await,
        404,
    )
    .await;

    // Only what is given changes; its own email again is no clash.
    let r = app
        .patch(
            &path,
            &json!({ "email": "new@example.com", "subscribed": false }),
        )
        .await;
    let again = expect(r, 200).await["data"].clone();
    assert_eq!(again["subscribed"], false);
    assert_eq!(again["data"], json!({ "a": 1, "c": 3 }));
    assert_eq!(
        expect(app.patch(&path, &json!({})).await, 200).await["data"]["email"],
        "new@example.com"
    );

    // Another contact's address: 409, and nothing changed.
    create(&app, json!({ "email": "taken@example.com" })).await;
    expect_err(
        app.patch(
            &path,
            &json!({ "email": "TAKEN@example.com", "subscribed": true }),
        )
        .await,
        409,
        "taken@example.com",
    )
    .await;
    let stored = app.get_json(&path).await["data"].clone();
    assert_eq!(stored["email"], "new@example.com");
    assert_eq!(stored["subscribed"], false);

    let body = expect_err(
        app.patch(&path, &json!({ "email": "bad address" })).await,
        422,
        "not a valid email",
    )
    .await;
    assert_eq!(body["field"], "email");
    let body = expect_err(
        app.patch(&path, &json!({ "data": "x" })).await,
        422,
        "JSON object",
    )
    .await;
    assert_eq!(body["field"], "data");
    expect_err(
        app.patch(&path, &json!({ "name": "Ada" })).await,
        422,
        "name",
    )
    .await;
    expect_err(
        app.patch("/v1/contacts/no-such-id", &json!({ "subscribed": true }))
            .await,
        404,
        "no-such-id",
    )
    .await;
    app.stop().await;
}

#[tokio::test]
async fn delete_removes_the_contact_and_its_events() {
    let app = spawn_app().await;
    let r = app
        .post(
            "/v1/track",
            &json!({ "event": "signed-up", "email": "gone@example.com" }),
        )
        .await;
    let id = expect(r, 200).await["data"]["contact"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("/v1/contacts/{id}");
    assert_eq!(app.events(&id).await.len(), 1);

    let body = expect(app.delete(&path).await, 200).await;
    assert_eq!(body, json!({ "success": true }));
    expect_err(app.get(&path).await, 404, &id).await;
    expect_err(app.get(&format!("{path}/events")).await, 404, &id).await;
    expect_err(app.delete(&path).await, 404, &id).await;
    expect_err(
        app.patch(&path, &json!({ "subscribed": true })).await,
        404,
        &id,
    )
    .await;
    expect(
        app.get("/v1/contacts/find?email=gone@example.com").await,
        404,
    )
    .await;

    // The address is free again, for a new contact without the old events.
    let fresh = create(&app, json!({ "email": "gone@example.com" })).await;
    assert_ne!(fresh["id"], id.as_str());
    assert!(app.events(fresh["id"].as_str().unwrap()).await.is_empty());
    app.stop().await;
}

#[tokio::test]
async fn events_are_listed_newest_first_in_pages() {
    let app = spawn_app().await;
    let mut contact = String::new();
    for i in 0..5 {
        let r = app.post("/v1/track", &json!({ "event": format!("step-{i}"), "email": "ev@example.com", "data": { "i": i } })).await;
        contact = expect(r, 200).await["data"]["contact"]
            .as_str()
            .unwrap()
            .to_string();
        // Distinct milliseconds, so "newest first" is unambiguous.
        tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    }
    let mut names = Vec::new();
    let mut pages = 0;
    let mut path = format!("/v1/contacts/{contact}/events?limit=2");
    loop {
        let page = app.get_json(&path).await;
        pages += 1;
        for e in page["data"].as_array().unwrap() {
            assert!(e["id"].is_string());
            assert!(e["emailId"].is_null());
            assert!(e["createdAt"].as_str().unwrap().ends_with('Z'));
            assert_eq!(
                e["data"]["i"],
                e["name"].as_str().unwrap()["step-".len()..]
                    .parse::<i64>()
                    .unwrap()
            );
            names.push(e["name"].as_str().unwrap().to_string());
        }
        match page["nextCursor"].as_str() {
            Some(cursor) => path = format!("/v1/contacts/{contact}/events?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(names, ["step-4", "step-3", "step-2", "step-1", "step-0"]);
    expect_err(
        app.get("/v1/contacts/no-such-id/events").await,
        404,
        "no-such-id",
    )
    .await;
    app.stop().await;
}

#[tokio::test]
async fn another_projects_contacts_are_not_found() {
    let app = spawn_app().await;
    let c = create(&app, json!({ "email": "mine@example.com" })).await;
    let id = c["id"].as_str().unwrap();
    let other = other_project_key(&app).await;
    let as_other = |req: reqwest::RequestBuilder| req.bearer_auth(&other).send();

    for path in [
        format!("/v1/contacts/{id}"),
        format!("/v1/contacts/{id}/events"),
    ] {
        expect_err(
            as_other(app.client.get(app.url(&path))).await.unwrap(),
            404,
            id,
        )
        .await;
    }
    let path = format!("/v1/contacts/{id}");
    let r = as_other(
        app.client
            .patch(app.url(&path))
            .json(&json!({ "subscribed": true })),
    )
    .await
    .unwrap();
    expect_err(r, 404, id).await;
    expect_err(
        as_other(app.client.delete(app.url(&path))).await.unwrap(),
        404,
        id,
    )
    .await;
    let r = as_other(
        app.client
            .get(app.url("/v1/contacts/find?email=mine@example.com")),
    )
    .await
    .unwrap();
    expect(r, 404).await;
    let listed = expect(
        as_other(app.client.get(app.url("/v1/contacts")))
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(listed["data"], json!([]));

    // The same address is a separate contact in the other project.
    let r = as_other(
        app.client
            .post(app.url("/v1/contacts"))
            .json(&json!({ "email": "mine@example.com" })),
    )
    .await
    .unwrap();
    let theirs = expect(r, 201).await["data"].clone();
    assert_ne!(theirs["id"], c["id"]);
    // Untouched in ours.
    assert_eq!(app.get_json(&path).await["data"], c);
    app.stop().await;
}
