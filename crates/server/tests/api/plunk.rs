//! Plunk's contact and campaign routes, as aliases of Beacon's own: the same effect as the
//! Beacon route, in Plunk's answer shape (the object's fields beside `success`).

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};

mod campaigns;

pub async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    key: &str,
    body: Value,
) -> (u16, Value) {
    let r = app
        .client
        .request(method, app.url(path))
        .bearer_auth(key)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// Each `(body, status, field)`: the secret-key call answers `status`, naming `field` if given.
pub async fn expect_each(
    app: &TestApp,
    method: Method,
    path: &str,
    cases: &[(Value, u16, Option<&str>)],
) {
    for (body, status, field) in cases {
        let (s, v) = call(app, method.clone(), path, &app.secret_key, body.clone()).await;
        assert_eq!(s, *status, "{method} {path} {body}: {v}");
        if let Some(field) = field {
            assert_eq!(v["field"], *field, "{method} {path} {body}: {v}");
        }
    }
}

/// Plunk's `DELETE {path}` with `{"id"}`: answers the object (returned) with `success`, the
/// Beacon route then has no such id, and a second delete is a 404.
pub async fn delete_by_body(app: &TestApp, path: &str, id: &Value) -> Value {
    let body = json!({ "id": id });
    let (s, v) = call(app, Method::DELETE, path, &app.secret_key, body.clone()).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!((&v["success"], &v["id"]), (&json!(true), id));
    let gone = app.get(&format!("{path}/{}", id.as_str().unwrap())).await;
    assert_eq!(gone.status(), 404);
    expect_each(app, Method::DELETE, path, &[(body, 404, None)]).await;
    v
}

async fn new_contact(app: &TestApp, email: &str) -> Value {
    let v: Value = app
        .post(
            "/v1/contacts",
            &json!({ "email": email, "data": { "a": 1, "b": 2 } }),
        )
        .await
        .json()
        .await
        .unwrap();
    v["data"].clone()
}

#[tokio::test]
async fn put_contacts_changes_the_contact_named_by_id_or_email() {
    let app = spawn_app().await;
    let sk = app.secret_key.clone();
    let c = new_contact(&app, "p@example.com").await;
    let id = c["id"].as_str().unwrap();

    // By email: subscription and data merged as PATCH merges them (null removes a key).
    let (s, v) = call(
        &app,
        Method::PUT,
        "/v1/contacts",
        &sk,
        json!({ "email": "P@example.com", "subscribed": true, "data": { "b": null, "c": 3 } }),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["success"], true);
    assert_eq!(v["id"], id);
    assert_eq!(v["subscribed"], true);
    assert_eq!(v["data"], json!({ "a": 1, "c": 3 }));
    assert!(v["createdAt"].is_string() && v["updatedAt"].is_string());

    // By id: `email` is the new address; the Beacon route shows the same contact.
    let (s, v) = call(
        &app,
        Method::PUT,
        "/v1/contacts",
        &sk,
        json!({ "id": id, "email": "new@example.com" }),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["email"], "new@example.com");
    let beacon = app.get_json(&format!("/v1/contacts/{id}")).await;
    let mut flat = beacon["data"].clone();
    flat["success"] = json!(true);
    assert_eq!(flat, v);

    // The same rules as PATCH: a taken address is a 409, a bad one a 422, an unknown id a 404.
    new_contact(&app, "other@example.com").await;
    let unknown = "0190a000-0000-7000-8000-000000000000";
    expect_each(
        &app,
        Method::PUT,
        "/v1/contacts",
        &[
            (json!({ "id": id, "email": "other@example.com" }), 409, None),
            (json!({ "id": id, "email": "nope" }), 422, Some("email")),
            (json!({ "id": unknown }), 404, None),
            (json!({ "email": "ghost@example.com" }), 404, None),
            (json!({ "subscribed": true }), 422, Some("id")),
        ],
    )
    .await;
    // The secret key only.
    let (s, _) = call(
        &app,
        Method::PUT,
        "/v1/contacts",
        &app.public_key,
        json!({ "id": id }),
    )
    .await;
    assert_eq!(s, 401);
    app.stop().await;
}

#[tokio::test]
async fn delete_contacts_takes_the_id_in_the_body_and_answers_the_contact() {
    let app = spawn_app().await;
    let c = new_contact(&app, "d@example.com").await;
    let v = delete_by_body(&app, "/v1/contacts", &c["id"]).await;
    assert_eq!(v["email"], "d@example.com");
    expect_each(
        &app,
        Method::DELETE,
        "/v1/contacts",
        &[(json!({}), 422, None)],
    )
    .await;
    app.stop().await;
}

#[tokio::test]
async fn subscribe_unsubscribe_and_count_take_either_key() {
    let app = spawn_app().await;
    let c = new_contact(&app, "s@example.com").await;
    for key in [app.secret_key.clone(), app.public_key.clone()] {
        let (s, v) = call(
            &app,
            Method::POST,
            "/v1/contacts/subscribe",
            &key,
            json!({ "email": "s@example.com" }),
        )
        .await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(
            v,
            json!({ "success": true, "contact": c["id"], "subscribed": true })
        );
        let (s, v) = call(
            &app,
            Method::POST,
            "/v1/contacts/unsubscribe",
            &key,
            json!({ "id": c["id"] }),
        )
        .await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(
            v,
            json!({ "success": true, "contact": c["id"], "subscribed": false })
        );
        let beacon = app
            .get_json(&format!("/v1/contacts/{}", c["id"].as_str().unwrap()))
            .await;
        assert_eq!(beacon["data"]["subscribed"], false);

        let r = app
            .client
            .get(app.url("/v1/contacts/count"))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(
            r.json::<Value>().await.unwrap(),
            json!({ "success": true, "count": 1 })
        );
    }
    let (s, _) = call(
        &app,
        Method::POST,
        "/v1/contacts/subscribe",
        &app.public_key,
        json!({ "email": "ghost@example.com" }),
    )
    .await;
    assert_eq!(s, 404);
    app.stop().await;
}
