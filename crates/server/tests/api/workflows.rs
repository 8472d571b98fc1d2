//! Workflows end to end: triggers from the store's events (custom, email.click), every step
//! type, timers across a restart, webhooks, re-entry, marketing-only tracking, statistics.

mod api;
mod reentry_limit;
mod ssrf;
mod subscribe;
mod webhook;

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{Opts, TestApp, spawn_app, spawn_with};
use crate::tracking::{BROWSER, hit, send_one, set_mode, tracking_urls};

pub async fn template(app: &TestApp, kind: &str, subject: &str, body: &str) -> String {
    let r = app
        .post(
            "/v1/templates",
            &json!({ "name": subject, "subject": subject, "body": body, "type": kind }),
        )
        .await;
    let v: Value = r.json().await.unwrap();
    v["data"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{v}"))
        .to_string()
}

/// Creates a workflow (asserting 201) and returns its `data`.
pub async fn workflow(app: &TestApp, body: Value) -> Value {
    let r = app.post("/v1/workflows", &body).await;
    let status = r.status();
    let v: Value = r.json().await.unwrap();
    assert_eq!(status, 201, "{v}");
    v["data"].clone()
}

/// `/v1/track` a custom event; returns the contact id.
pub async fn track(app: &TestApp, email: &str, event: &str, extra: Value) -> String {
    let mut body = json!({ "email": email, "event": event });
    if let (Value::Object(b), Value::Object(x)) = (&mut body, extra) {
        b.extend(x);
    }
    let v: Value = app.post("/v1/track", &body).await.json().await.unwrap();
    v["data"]["contact"]
        .as_str()
        .unwrap_or_else(|| panic!("{v}"))
        .to_string()
}

pub async fn executions(app: &TestApp, wf: &Value) -> Vec<Value> {
    let path = format!("/v1/workflows/{}/executions", wf["id"].as_str().unwrap());
    app.get_json(&path).await["data"]
        .as_array()
        .unwrap()
        .clone()
}

/// Polls until the workflow's executions satisfy `done` (or panics after 10 s).
pub async fn until(app: &TestApp, wf: &Value, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    for _ in 0..200 {
        let list = executions(app, wf).await;
        if done(&list) {
            return list;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "workflow never got there: {:#}",
        json!(executions(app, wf).await)
    );
}

pub fn all(status: &'static str, n: usize) -> impl Fn(&[Value]) -> bool {
    move |l| l.len() == n && l.iter().all(|e| e["status"] == status)
}

pub fn kinds(execution: &Value) -> Vec<String> {
    execution["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["kind"].as_str().unwrap().to_string())
        .collect()
}

fn sent_email(execution: &Value) -> Vec<String> {
    execution["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["kind"] == "sent")
        .map(|h| h["emailId"].as_str().unwrap().to_string())
        .collect()
}

async fn contact(app: &TestApp, id: &str) -> Value {
    app.get_json(&format!("/v1/contacts/{id}")).await["data"].clone()
}

const LINKS: &str = r#"<p>Hi</p><a href="https://example.com/pricing">Pricing</a> <a href="https://example.com/other">Other</a>"#;

#[tokio::test]
async fn a_click_starts_a_workflow_that_sends_a_follow_up_with_stats() {
    let app = spawn_app().await;
    let follow = template(&app, "TRANSACTIONAL", "About pricing", LINKS).await;
    let wf = workflow(
        &app,
        json!({
            "name": "Pricing follow-up",
            "trigger": { "event": "email.click", "filter": { "linkUrl": "https://example.com/pricing" } },
            "steps": [{ "id": "send", "type": "SEND_EMAIL", "template": follow }],
        }),
    )
    .await;
    let (email, contact_id) = send_one(
        &app,
        json!({ "to": "clicker@example.com", "subject": "News", "body": LINKS }),
    )
    .await;
    let links = tracking_urls(&app, email["html"].as_str().unwrap(), "/c/");
    // The other link does not match the filter.
    assert_eq!(hit(&app, &links[1], BROWSER).await.status(), 302);
    assert_eq!(hit(&app, &links[0], BROWSER).await.status(), 302);

    let list = until(&app, &wf, all("COMPLETED", 1)).await;
    assert_eq!(list[0]["contact"]["id"], contact_id.as_str());
    assert_eq!(kinds(&list[0]), ["entered", "sent", "completed"]);
    let trigger = &list[0]["history"][0]["detail"]["event"];
    assert_eq!(trigger["name"], "email.click");
    assert_eq!(trigger["data"]["link"], "https://example.com/pricing");
    let sent = sent_email(&list[0]).remove(0);
    let follow_up = app.wait_status(&sent, "SENT").await;
    assert_eq!(follow_up["subject"], "About pricing");
    assert_eq!(follow_up["sourceType"], "TRANSACTIONAL");
    assert_eq!(follow_up["templateId"], follow.as_str());
    let events = app.events(&contact_id).await;
    assert_eq!(
        events.iter().filter(|e| e["name"] == "email.sent").count(),
        2
    );

    // Opened and clicked by a person: counted on the step.
    let html = follow_up["html"].as_str().unwrap();
    hit(&app, &tracking_urls(&app, html, "/o/")[0], BROWSER).await;
    hit(&app, &tracking_urls(&app, html, "/c/")[1], BROWSER).await;
    let path = format!("/v1/workflows/{}/stats", wf["id"].as_str().unwrap());
    let stats = app.get_json(&path).await["data"].clone();
    assert_eq!(stats["executions"]["completed"], 1);
    assert_eq!(stats["executions"]["total"], 1);
    let step = &stats["steps"][0];
    assert_eq!(
        (&step["id"], &step["entered"], &step["sent"]),
        (&json!("send"), &json!(1), &json!(1))
    );
    assert_eq!((&step["opened"], &step["clicked"]), (&json!(1), &json!(1)));
    app.stop().await;
}

#[tokio::test]
async fn a_wait_for_an_open_times_out_and_another_resumes_on_its_event() {
    let app = spawn_app().await;
    let timeout = workflow(
        &app,
        json!({
            "name": "Nudge", "trigger": { "event": "signup" },
            "steps": [
                { "id": "wait", "type": "WAIT_FOR_EVENT", "event": "email.open",
                  "timeout": { "amount": 1, "unit": "seconds" }, "next": "opened", "onTimeout": "nudge" },
                { "id": "opened", "type": "UPDATE_CONTACT", "data": { "opened": true } },
                { "id": "nudge", "type": "UPDATE_CONTACT", "data": { "nudged": true } },
            ],
        }),
    )
    .await;
    let resume = workflow(
        &app,
        json!({
            "name": "Paid", "trigger": { "event": "trial" }, "start": "wait",
            "steps": [
                { "id": "thanks", "type": "UPDATE_CONTACT", "data": { "paid": "yes" } },
                { "id": "wait", "type": "WAIT_FOR_EVENT", "event": "paid",
                  "timeout": { "amount": 1, "unit": "hours" }, "next": "thanks", "onTimeout": "bye" },
                { "id": "bye", "type": "EXIT" },
            ],
        }),
    )
    .await;
    let a = track(&app, "a@example.com", "signup", json!({})).await;
    let b = track(&app, "b@example.com", "trial", json!({})).await;
    let waiting = until(&app, &resume, all("WAITING", 1)).await;
    assert_eq!(waiting[0]["waitingFor"], "paid");
    assert_eq!(waiting[0]["step"], "wait");
    track(&app, "b@example.com", "paid", json!({})).await;

    let done = until(&app, &resume, all("COMPLETED", 1)).await;
    assert_eq!(
        kinds(&done[0]),
        [
            "entered",
            "waiting",
            "resumed",
            "entered",
            "updated",
            "completed"
        ]
    );
    assert_eq!(contact(&app, &b).await["data"]["paid"], "yes");

    let done = until(&app, &timeout, all("COMPLETED", 1)).await;
    assert_eq!(
        kinds(&done[0]),
        [
            "entered",
            "waiting",
            "timed_out",
            "entered",
            "updated",
            "completed"
        ]
    );
    let data = &contact(&app, &a).await["data"];
    assert_eq!(
        (&data["nudged"], &data["opened"]),
        (&json!(true), &Value::Null)
    );
    app.stop().await;
}

#[tokio::test]
async fn a_delay_then_update_contact() {
    let app = spawn_app().await;
    let wf = workflow(
        &app,
        json!({
            "name": "Later", "trigger": { "event": "signup" },
            "steps": [
                { "id": "d", "type": "DELAY", "amount": 1, "unit": "seconds", "next": "u" },
                { "id": "u", "type": "UPDATE_CONTACT", "data": { "plan": "pro", "drop": null }, "subscribed": false },
            ],
        }),
    )
    .await;
    let started = std::time::Instant::now();
    let c = track(
        &app,
        "d@example.com",
        "signup",
        json!({ "data": { "drop": 1 } }),
    )
    .await;
    let list = until(&app, &wf, all("DELAYED", 1)).await;
    assert_eq!(list[0]["step"], "d");
    assert!(list[0]["dueAt"].is_string());
    assert_eq!(contact(&app, &c).await["data"]["plan"], Value::Null);
    until(&app, &wf, all("COMPLETED", 1)).await;
    assert!(started.elapsed() >= Duration::from_millis(900));
    let after = contact(&app, &c).await;
    assert_eq!(after["data"], json!({ "plan": "pro" }));
    assert_eq!(after["subscribed"], false);
    app.stop().await;
}

#[tokio::test]
async fn a_delay_fires_once_after_a_restart() {
    let app = spawn_app().await;
    let t = template(&app, "TRANSACTIONAL", "Day two", "<p>Hello {{email}}</p>").await;
    let wf = workflow(
        &app,
        json!({
            "name": "Drip", "trigger": { "event": "signup" },
            "steps": [
                { "id": "d", "type": "DELAY", "amount": 2, "unit": "seconds", "next": "s" },
                { "id": "s", "type": "SEND_EMAIL", "template": t },
            ],
        }),
    )
    .await;
    let c = track(&app, "r@example.com", "signup", json!({})).await;
    until(&app, &wf, all("DELAYED", 1)).await;
    let db_url = app.db_url.clone();
    app.stop().await;

    let app = spawn_with(Opts {
        db_url: Some(db_url),
        ..Opts::default()
    })
    .await;
    let list = until(&app, &wf, all("COMPLETED", 1)).await;
    let sent = sent_email(&list[0]);
    assert_eq!(sent.len(), 1);
    app.wait_status(&sent[0], "SENT").await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    let events = app.events(&c).await;
    assert_eq!(
        events.iter().filter(|e| e["name"] == "email.sent").count(),
        1
    );
    assert_eq!(executions(&app, &wf).await.len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn reentry_is_refused_unless_allowed() {
    let app = spawn_app().await;
    let step = json!([{ "id": "u", "type": "UPDATE_CONTACT", "data": { "seen": true } }]);
    let once = workflow(
        &app,
        json!({ "name": "Once", "trigger": { "event": "visit" }, "steps": step }),
    )
    .await;
    let again = workflow(
        &app,
        json!({ "name": "Again", "trigger": { "event": "visit" }, "steps": step, "allowReentry": true }),
    )
    .await;
    track(&app, "v@example.com", "visit", json!({})).await;
    until(&app, &again, all("COMPLETED", 1)).await;
    track(&app, "v@example.com", "visit", json!({})).await;
    until(&app, &again, all("COMPLETED", 2)).await;
    assert_eq!(until(&app, &once, all("COMPLETED", 1)).await.len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn marketing_only_tracks_workflow_marketing_sends_but_not_transactional() {
    let app = spawn_app().await;
    set_mode(&app, "MARKETING_ONLY").await;
    let m = template(&app, "MARKETING", "Offer", LINKS).await;
    let t = template(&app, "TRANSACTIONAL", "Receipt", LINKS).await;
    let wf = workflow(
        &app,
        json!({
            "name": "Both", "trigger": { "event": "go" },
            "steps": [
                { "id": "m", "type": "SEND_EMAIL", "template": m, "next": "t" },
                { "id": "t", "type": "SEND_EMAIL", "template": t },
            ],
        }),
    )
    .await;
    track(&app, "sub@example.com", "go", json!({})).await;
    let list = until(&app, &wf, all("COMPLETED", 1)).await;
    let sent = sent_email(&list[0]);
    let marketing = app.email(&sent[0]).await;
    let transactional = app.email(&sent[1]).await;
    assert_eq!(
        (&marketing["sourceType"], &marketing["tracked"]),
        (&json!("WORKFLOW"), &json!(true))
    );
    assert!(
        marketing["html"]
            .as_str()
            .unwrap()
            .contains("/unsubscribe/")
    );
    assert_eq!(
        (&transactional["sourceType"], &transactional["tracked"]),
        (&json!("TRANSACTIONAL"), &json!(false))
    );
    assert!(tracking_urls(&app, transactional["html"].as_str().unwrap(), "/c/").is_empty());

    // An unsubscribed contact is skipped by the MARKETING step, not by the TRANSACTIONAL one.
    track(
        &app,
        "unsub@example.com",
        "go",
        json!({ "subscribed": false }),
    )
    .await;
    let list = until(&app, &wf, all("COMPLETED", 2)).await;
    assert_eq!(
        kinds(&list[1]),
        ["entered", "skipped", "entered", "sent", "completed"]
    );
    app.stop().await;
}

#[tokio::test]
async fn a_condition_takes_the_yes_or_the_no_branch() {
    let app = spawn_app().await;
    let wf = workflow(
        &app,
        json!({
            "name": "Plan", "trigger": { "event": "signup" },
            "steps": [
                { "id": "c", "type": "CONDITION", "rule": { "field": "data.plan", "op": "equals", "value": "pro" },
                  "yes": "y", "no": "n" },
                { "id": "y", "type": "UPDATE_CONTACT", "data": { "branch": "yes" } },
                { "id": "n", "type": "UPDATE_CONTACT", "data": { "branch": "no" } },
            ],
        }),
    )
    .await;
    let pro = track(
        &app,
        "pro@example.com",
        "signup",
        json!({ "data": { "plan": "pro" } }),
    )
    .await;
    let free = track(
        &app,
        "free@example.com",
        "signup",
        json!({ "data": { "plan": "free" } }),
    )
    .await;
    until(&app, &wf, all("COMPLETED", 2)).await;
    assert_eq!(contact(&app, &pro).await["data"]["branch"], "yes");
    assert_eq!(contact(&app, &free).await["data"]["branch"], "no");
    app.stop().await;
}
