//! The `/v1/workflows` resource: CRUD, paging, every refused definition, and templates that a
//! workflow uses.

use serde_json::{Value, json};

use super::{template, workflow};
use crate::helpers::{TestApp, spawn_app};

async fn refused(app: &TestApp, body: Value) -> (u16, String) {
    let r = app.post("/v1/workflows", &body).await;
    let status = r.status().as_u16();
    let v: Value = r.json().await.unwrap();
    (
        status,
        v["message"].as_str().unwrap_or_default().to_string(),
    )
}

fn with_steps(steps: Value) -> Value {
    json!({ "name": "Bad", "trigger": { "event": "signup" }, "steps": steps })
}

#[tokio::test]
async fn bad_definitions_are_refused_naming_the_problem() {
    let app = spawn_app().await;
    let update = json!({ "id": "u", "type": "UPDATE_CONTACT", "data": { "a": 1 } });
    let cases = [
        (
            "cycle through a delay",
            with_steps(json!([
                { "id": "a", "type": "DELAY", "amount": 1, "unit": "days", "next": "b" },
                { "id": "b", "type": "UPDATE_CONTACT", "data": { "x": 1 }, "next": "a" },
            ])),
            "cycle: a → b → a",
        ),
        (
            "dangling pointer",
            with_steps(
                json!([{ "id": "a", "type": "DELAY", "amount": 1, "unit": "days", "next": "zz" }]),
            ),
            "steps[0].next: step \"a\" points to \"zz\"",
        ),
        (
            "unknown step field",
            with_steps(json!([{ "id": "a", "type": "EXIT", "colour": "red" }])),
            "unknown field `colour`",
        ),
        (
            "unknown top-level field",
            json!({ "name": "x", "trigger": { "event": "e" }, "steps": [update], "retries": 3 }),
            "unknown field `retries`",
        ),
        (
            "unknown filter field",
            json!({ "name": "x", "trigger": { "event": "e", "filter": { "url": "x" } }, "steps": [update] }),
            "trigger.filter",
        ),
        (
            "unknown step type",
            with_steps(json!([{ "id": "a", "type": "SLEEP" }])),
            "unknown variant `SLEEP`",
        ),
        (
            "unreachable step",
            with_steps(json!([update, { "id": "lost", "type": "EXIT" }])),
            "\"lost\" cannot be reached",
        ),
        (
            "duplicate id",
            with_steps(json!([{ "id": "u", "type": "EXIT" }, update])),
            "two steps have the id \"u\"",
        ),
        (
            "bad start",
            json!({ "name": "x", "trigger": { "event": "e" }, "steps": [update], "start": "nope" }),
            "start: \"nope\" points to no step",
        ),
        (
            "zero delay",
            with_steps(json!([{ "id": "a", "type": "DELAY", "amount": 0, "unit": "days" }])),
            "steps[0].amount",
        ),
        (
            "bad unit",
            with_steps(json!([{ "id": "a", "type": "DELAY", "amount": 1, "unit": "fortnights" }])),
            "unknown variant `fortnights`",
        ),
        (
            "webhook scheme",
            with_steps(json!([{ "id": "a", "type": "WEBHOOK", "url": "file:///etc/passwd" }])),
            "only http and https",
        ),
        (
            "unknown template",
            with_steps(json!([{ "id": "a", "type": "SEND_EMAIL", "template": "nope" }])),
            "steps[0].template: no template with id \"nope\"",
        ),
        (
            "empty update",
            with_steps(json!([{ "id": "a", "type": "UPDATE_CONTACT" }])),
            "needs `data` and/or `subscribed`",
        ),
        ("no steps", with_steps(json!([])), "give 1 to 200 steps"),
    ];
    for (case, body, expect) in cases {
        let (status, message) = refused(&app, body).await;
        assert!((400..500).contains(&status), "{case}: {status} {message}");
        assert!(
            message.contains(expect),
            "{case}: {message:?} lacks {expect:?}"
        );
    }
    assert!(
        app.get_json("/v1/workflows").await["data"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    app.stop().await;
}

#[tokio::test]
async fn a_bad_rule_operator_is_refused() {
    let app = spawn_app().await;
    let (status, message) = refused(
        &app,
        with_steps(json!([{ "id": "c", "type": "CONDITION",
            "rule": { "field": "data.plan", "op": "resembles", "value": "pro" } }])),
    )
    .await;
    assert_eq!(status, 422, "{message}");
    assert!(message.contains("steps[0].rule"), "{message}");
    app.stop().await;
}

#[tokio::test]
async fn another_projects_template_is_refused() {
    let app = spawn_app().await;
    let db = beacon::store::Db::connect(&app.db_url).await.unwrap();
    let other = beacon::store::projects::create(&db, "other").await.unwrap();
    db.close().await;
    let theirs: Value = app
        .client
        .post(app.url("/v1/templates"))
        .bearer_auth(&other.secret_key)
        .json(&json!({ "name": "t", "subject": "s", "body": "b" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = theirs["data"]["id"].as_str().unwrap();
    let (status, message) = refused(
        &app,
        with_steps(json!([{ "id": "s", "type": "SEND_EMAIL", "template": id }])),
    )
    .await;
    assert_eq!(status, 422);
    assert!(message.contains("no template with id") && message.contains("in this project"));
    app.stop().await;
}

#[tokio::test]
async fn crud_paging_and_template_delete_refused_while_used() {
    let app = spawn_app().await;
    let t = template(&app, "MARKETING", "Hello", "<p>hi</p>").await;
    let body = json!({
        "name": "Welcome",
        "trigger": { "event": "email.open", "filter": { "template": t, "humanOnly": false } },
        "steps": [
            { "id": "s1", "type": "DELAY", "amount": 1, "unit": "hours", "next": "s2" },
            { "id": "s2", "type": "SEND_EMAIL", "template": t },
        ],
        "enabled": true,
        "allowReentry": false,
    });
    let wf = workflow(&app, body.clone()).await;
    assert_eq!(wf["start"], "s1");
    assert_eq!(wf["steps"], body["steps"]);
    assert_eq!(wf["trigger"], body["trigger"]);
    assert_eq!(
        (&wf["enabled"], &wf["allowReentry"]),
        (&json!(true), &json!(false))
    );
    let id = wf["id"].as_str().unwrap();
    let path = format!("/v1/workflows/{id}");
    assert_eq!(app.get_json(&path).await["data"], wf);
    workflow(&app, json!({ "name": "Second", "trigger": { "event": "x" }, "steps": [{ "id": "e", "type": "EXIT" }] })).await;

    let page = app.get_json("/v1/workflows?limit=1").await;
    assert_eq!(page["data"][0]["id"], id);
    let next = page["nextCursor"].as_str().unwrap();
    let page = app
        .get_json(&format!("/v1/workflows?limit=1&cursor={next}"))
        .await;
    assert_eq!(page["data"][0]["name"], "Second");

    // The template is in use: deleting it is refused, naming the workflow.
    let r = app.delete(&format!("/v1/templates/{t}")).await;
    assert_eq!(r.status(), 409);
    let v: Value = r.json().await.unwrap();
    assert!(
        v["message"].as_str().unwrap().contains("\"Welcome\""),
        "{v}"
    );

    let r = app
        .patch(
            &path,
            &json!({ "enabled": false, "steps": [{ "id": "x", "type": "EXIT" }] }),
        )
        .await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(
        (&v["data"]["enabled"], &v["data"]["start"]),
        (&json!(false), &json!("x"))
    );
    let r = app
        .patch(
            &path,
            &json!({ "steps": [{ "id": "x", "type": "EXIT", "next": "y" }] }),
        )
        .await;
    assert_eq!(r.status(), 422, "a bad patch is refused whole");
    assert_eq!(app.get_json(&path).await["data"]["steps"][0]["id"], "x");
    assert_eq!(
        app.get_json(&format!("{path}/executions")).await["data"],
        json!([])
    );
    let stats = app.get_json(&format!("{path}/stats")).await;
    assert_eq!(
        stats["data"]["steps"][0],
        json!({ "id": "x", "type": "EXIT", "entered": 0 })
    );

    // No longer used: the delete goes through.
    assert_eq!(
        app.delete(&format!("/v1/templates/{t}")).await.status(),
        200
    );
    assert_eq!(app.delete(&path).await.status(), 200);
    assert_eq!(app.get(&path).await.status(), 404);
    assert_eq!(app.delete(&path).await.status(), 404);
    app.stop().await;
}
