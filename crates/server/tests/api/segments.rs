//! `/v1/segments`: CRUD, every field operator, bad input, paging (activity rules: `activity`).

mod activity;
mod errors;

use beacon::store::{Db, projects};
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};

async fn expect(r: reqwest::Response, status: u16) -> Value {
    let got = r.status().as_u16();
    let body: Value = r.json().await.unwrap();
    assert_eq!(got, status, "{body}");
    body
}

async fn create(app: &TestApp, condition: Value) -> String {
    let body = json!({ "name": "s", "condition": condition });
    let r = expect(app.post("/v1/segments", &body).await, 201).await;
    r["data"]["id"].as_str().unwrap().to_string()
}

async fn contact(app: &TestApp, email: &str, subscribed: bool, data: Value) -> String {
    let body = json!({ "email": email, "subscribed": subscribed, "data": data });
    let r: Value = app.post("/v1/contacts", &body).await.json().await.unwrap();
    r["data"]["id"].as_str().unwrap().to_string()
}

/// The segment's members (sorted emails), checked against its count.
async fn members(app: &TestApp, id: &str) -> Vec<String> {
    let page = app
        .get_json(&format!("/v1/segments/{id}/contacts?limit=100"))
        .await;
    let mut emails: Vec<String> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["email"].as_str().unwrap().to_string())
        .collect();
    emails.sort();
    let count = app.get_json(&format!("/v1/segments/{id}/count")).await;
    assert_eq!(
        count["data"]["count"],
        emails.len(),
        "count agrees with contacts"
    );
    emails
}

async fn matching(app: &TestApp, condition: Value) -> Vec<String> {
    let id = create(app, condition).await;
    members(app, &id).await
}

fn rule(field: &str, op: &str, value: Value) -> Value {
    json!({ "field": field, "op": op, "value": value })
}

#[tokio::test]
async fn create_get_list_patch_delete() {
    let app = spawn_app().await;
    let cond = json!({"all": [rule("subscribed", "equals", json!(true))]});
    let r = expect(
        app.post("/v1/segments", &json!({"name": "Subs", "condition": cond}))
            .await,
        201,
    )
    .await;
    let seg = r["data"].clone();
    let id = seg["id"].as_str().unwrap();
    assert_eq!(seg["name"], "Subs");
    assert_eq!(seg["condition"], cond);
    assert_eq!(
        app.get_json(&format!("/v1/segments/{id}")).await["data"],
        seg
    );

    let second = create(&app, rule("subscribed", "equals", json!(false))).await;
    let page = app.get_json("/v1/segments?limit=1").await;
    assert_eq!(page["data"][0]["id"], id);
    let cursor = page["nextCursor"].as_str().unwrap();
    let page = app
        .get_json(&format!("/v1/segments?limit=1&cursor={cursor}"))
        .await;
    assert_eq!(page["data"][0]["id"], second);

    let new_cond = rule("data.plan", "exists", Value::Null);
    let new_cond = json!({"field": new_cond["field"], "op": "exists"});
    let r = expect(
        app.patch(
            &format!("/v1/segments/{id}"),
            &json!({"name": "Planned", "condition": new_cond}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(r["data"]["name"], "Planned");
    assert_eq!(r["data"]["condition"], new_cond);
    let r = expect(
        app.patch(
            &format!("/v1/segments/{id}"),
            &json!({"condition": {"any": []}}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(r["field"], "condition.any");

    expect(app.delete(&format!("/v1/segments/{id}")).await, 200).await;
    for path in ["", "/contacts", "/count"] {
        expect(app.get(&format!("/v1/segments/{id}{path}")).await, 404).await;
    }
    expect(app.delete(&format!("/v1/segments/{id}")).await, 404).await;
    app.stop().await;
}

#[tokio::test]
async fn another_projects_segment_is_not_found() {
    let app = spawn_app().await;
    let id = create(&app, rule("subscribed", "equals", json!(true))).await;
    let db = Db::connect(&app.db_url).await.unwrap();
    let other = projects::create(&db, "other").await.unwrap();
    let as_other = |req: reqwest::RequestBuilder| req.bearer_auth(&other.secret_key).send();
    let c = &app.client;
    for path in ["", "/contacts", "/count"] {
        let url = app.url(&format!("/v1/segments/{id}{path}"));
        expect(as_other(c.get(&url)).await.unwrap(), 404).await;
    }
    let url = app.url(&format!("/v1/segments/{id}"));
    let body = json!({"name": "mine now"});
    expect(as_other(c.patch(&url).json(&body)).await.unwrap(), 404).await;
    expect(as_other(c.delete(&url)).await.unwrap(), 404).await;
    let list: Value = as_other(c.get(app.url("/v1/segments")))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["data"], json!([]));
    // The public key is not enough.
    let r = c
        .get(app.url("/v1/segments"))
        .bearer_auth(&app.public_key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    app.stop().await;
}

#[tokio::test]
async fn field_operators() {
    let app = spawn_app().await;
    contact(
        &app,
        "a@x.com",
        true,
        json!({"plan": "pro", "age": 30, "tags": ["vip", "beta"], "addr": {"city": "Oslo"}}),
    )
    .await;
    contact(
        &app,
        "b@x.com",
        true,
        json!({"plan": "free", "age": 45, "tags": ["beta"], "n": "45"}),
    )
    .await;
    contact(
        &app,
        "c@y.org",
        false,
        json!({"plan": "professional", "age": 60.5, "trial": true}),
    )
    .await;
    contact(&app, "d@y.org", false, json!({"plan": 42, "trial": false})).await;

    let cases = [
        (
            rule("subscribed", "equals", json!(true)),
            vec!["a@x.com", "b@x.com"],
        ),
        (
            rule("subscribed", "notEquals", json!(true)),
            vec!["c@y.org", "d@y.org"],
        ),
        (rule("email", "equals", json!("B@X.com")), vec!["b@x.com"]),
        (
            rule("email", "contains", json!("@y.org")),
            vec!["c@y.org", "d@y.org"],
        ),
        (
            rule("email", "notContains", json!("@y.org")),
            vec!["a@x.com", "b@x.com"],
        ),
        (rule("data.plan", "equals", json!("pro")), vec!["a@x.com"]),
        (
            rule("data.plan", "notEquals", json!("pro")),
            vec!["b@x.com", "c@y.org", "d@y.org"],
        ),
        (rule("data.plan", "equals", json!(42)), vec!["d@y.org"]),
        (rule("data.plan", "equals", json!("42")), vec![]),
        (rule("data.trial", "equals", json!(true)), vec!["c@y.org"]),
        (rule("data.trial", "equals", json!(false)), vec!["d@y.org"]),
        (
            rule("data.plan", "contains", json!("pro")),
            vec!["a@x.com", "c@y.org"],
        ),
        (
            rule("data.tags", "contains", json!("beta")),
            vec!["a@x.com", "b@x.com"],
        ),
        (
            rule("data.tags", "notContains", json!("vip")),
            vec!["b@x.com", "c@y.org", "d@y.org"],
        ),
        (
            json!({"field": "data.trial", "op": "exists"}),
            vec!["c@y.org", "d@y.org"],
        ),
        (
            json!({"field": "data.tags", "op": "notExists"}),
            vec!["c@y.org", "d@y.org"],
        ),
        (rule("data.age", "gt", json!(45)), vec!["c@y.org"]),
        (
            rule("data.age", "gte", json!(45)),
            vec!["b@x.com", "c@y.org"],
        ),
        (rule("data.age", "lt", json!(45)), vec!["a@x.com"]),
        (
            rule("data.age", "lte", json!(60.5)),
            vec!["a@x.com", "b@x.com", "c@y.org"],
        ),
        (rule("data.age", "equals", json!(30)), vec!["a@x.com"]),
        // A number stored as a string is not a number.
        (rule("data.n", "gt", json!(1)), vec![]),
        (
            rule("data.addr.city", "equals", json!("Oslo")),
            vec!["a@x.com"],
        ),
        (
            json!({"any": [
                {"all": [rule("subscribed", "equals", json!(true)), rule("data.age", "gt", json!(40))]},
                {"all": [rule("subscribed", "equals", json!(false)), rule("data.trial", "equals", json!(false))]}
            ]}),
            vec!["b@x.com", "d@y.org"],
        ),
    ];
    for (cond, want) in cases {
        assert_eq!(matching(&app, cond.clone()).await, want, "{cond}");
    }
    app.stop().await;
}

#[tokio::test]
async fn segment_contacts_are_paged_by_contact_id() {
    let app = spawn_app().await;
    for i in 0..7 {
        contact(&app, &format!("p{i}@x.com"), i % 2 == 0, json!({"i": i})).await;
    }
    let id = create(&app, rule("subscribed", "equals", json!(true))).await;
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let q = cursor
            .as_ref()
            .map(|c| format!("&cursor={c}"))
            .unwrap_or_default();
        let page = app
            .get_json(&format!("/v1/segments/{id}/contacts?limit=2{q}"))
            .await;
        for c in page["data"].as_array().unwrap() {
            assert_eq!(c["subscribed"], true);
            seen.push(c["data"]["i"].as_i64().unwrap());
        }
        match page["nextCursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(seen, [0, 2, 4, 6]);
    let r = app
        .get(&format!("/v1/segments/{id}/contacts?limit=0"))
        .await;
    assert_eq!(expect(r, 400).await["field"], "limit");
    app.stop().await;
}
