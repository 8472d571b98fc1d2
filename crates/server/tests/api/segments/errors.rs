//! Bad conditions: each is a 422 naming the problem and its JSON path.

use beacon::store::{Db, projects};
use serde_json::{Value, json};

use super::{expect, rule};
use crate::helpers::spawn_app;

#[tokio::test]
async fn bad_conditions_name_the_problem_and_its_path() {
    let app = spawn_app().await;
    let db = Db::connect(&app.db_url).await.unwrap();
    let other = projects::create(&db, "other").await.unwrap();
    let theirs = beacon::store::templates::Template {
        id: "their-template".into(),
        project_id: other.id.clone(),
        name: "t".into(),
        subject: "s".into(),
        body: "b".into(),
        kind: "MARKETING".into(),
        created_at: 0,
        updated_at: 0,
    };
    beacon::store::templates::insert(&db, &theirs)
        .await
        .unwrap();
    let sub = rule("subscribed", "equals", json!(true));
    let click = |extra: Value| {
        let mut r = json!({"activity": "email.clicked", "op": "triggeredWithin", "amount": 7, "unit": "days"});
        for (k, v) in extra.as_object().unwrap() {
            r[k] = v.clone();
        }
        r
    };
    let mut deep = sub.clone();
    for _ in 0..9 {
        deep = json!({"all": [deep]});
    }
    let cases = [
        (json!([sub]), "condition", "must be an object"),
        (json!({"all": []}), "condition.all", "empty"),
        (json!({"any": {}}), "condition.any", "array"),
        (
            json!({"all": [sub, {"none": []}]}),
            "condition.all[1]",
            "needs one of",
        ),
        (
            json!({"all": [sub], "any": [sub]}),
            "condition.any",
            "unknown key",
        ),
        (
            rule("name", "equals", json!("x")),
            "condition.field",
            "unknown field",
        ),
        (
            rule("data.a b", "exists", json!(1)),
            "condition.field",
            "bad data key",
        ),
        (
            rule("data.plan", "like", json!("x")),
            "condition.op",
            "unknown operator",
        ),
        (
            rule("data.plan", "gt", json!("x")),
            "condition.value",
            "number",
        ),
        (
            rule("data.plan", "equals", json!(null)),
            "condition.value",
            "exists",
        ),
        (
            rule("subscribed", "equals", json!("yes")),
            "condition.value",
            "true or false",
        ),
        (
            json!({"field": "data.x", "op": "exists", "extra": 1}),
            "condition.extra",
            "unknown key",
        ),
        (
            json!({"any": [sub, click(json!({"unit": "weeks"}))]}),
            "condition.any[1].unit",
            "weeks",
        ),
        (
            click(json!({"amount": "7"})),
            "condition.amount",
            "must be a number",
        ),
        (
            click(json!({"amount": 1.5})),
            "condition.amount",
            "whole number",
        ),
        (
            click(json!({"amount": 0})),
            "condition.amount",
            "whole number",
        ),
        (
            click(json!({"amount": 100000})),
            "condition.amount",
            "ten years",
        ),
        (
            json!({"activity": "email.clicked", "op": "triggered", "amount": 7}),
            "condition.amount",
            "triggeredWithin",
        ),
        (
            json!({"activity": "email.bounced", "op": "triggered"}),
            "condition.activity",
            "unknown activity",
        ),
        (
            json!({"activity": "email.opened", "op": "happened"}),
            "condition.op",
            "unknown operator",
        ),
        (
            json!({"activity": "event.x", "op": "triggered", "humanOnly": true}),
            "condition.humanOnly",
            "email activity",
        ),
        (
            click(json!({"humanOnly": "yes"})),
            "condition.humanOnly",
            "true or false",
        ),
        (
            click(json!({"campaignId": "nope"})),
            "condition.campaignId",
            "no campaign",
        ),
        (
            click(json!({"templateId": "their-template"})),
            "condition.templateId",
            "no template",
        ),
        (deep, "condition", "deep"),
    ];
    for (cond, field, needle) in cases {
        let r = app
            .post("/v1/segments", &json!({"name": "s", "condition": cond}))
            .await;
        let body = expect(r, 422).await;
        let msg = body["message"].as_str().unwrap();
        assert!(
            body["field"].as_str().unwrap().starts_with(field),
            "{cond}: {body}"
        );
        assert!(
            msg.contains(needle),
            "{cond}: {msg:?} should mention {needle:?}"
        );
    }
    let r = app
        .post("/v1/segments", &json!({"name": " ", "condition": sub}))
        .await;
    assert_eq!(expect(r, 422).await["field"], "name");
    // The body's own shape is the JSON extractor's: 422 naming the field, like every resource.
    let r = app.post("/v1/segments", &json!({"name": "s"})).await;
    assert!(
        expect(r, 422).await["message"]
            .as_str()
            .unwrap()
            .contains("condition")
    );
    let r = app
        .post(
            "/v1/segments",
            &json!({"name": "s", "condition": sub, "x": 1}),
        )
        .await;
    assert!(
        expect(r, 422).await["message"]
            .as_str()
            .unwrap()
            .contains("`x`")
    );
    app.stop().await;
}
