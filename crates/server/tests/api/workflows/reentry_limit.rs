//! A workflow that re-triggers itself: triggered by `email.sent`, it sends an email, whose
//! `email.sent` triggers it again. With re-entry allowed it would never end; the entry limit
//! stops it and records why.

use std::time::Duration;

use serde_json::{Value, json};

use super::{executions, template, until, workflow};
use crate::helpers::{Opts, TestApp, spawn_with};

/// The loop: a re-entrant workflow triggered by `email.sent` that sends an email, started by
/// one `/v1/send`. Returns the workflow and the send's answer.
async fn echo(app: &TestApp) -> (Value, Value) {
    let again = template(app, "TRANSACTIONAL", "Again", "<p>again</p>").await;
    let wf = workflow(
        app,
        json!({
            "name": "Echo", "trigger": { "event": "email.sent" }, "allowReentry": true,
            "steps": [{ "id": "send", "type": "SEND_EMAIL", "template": again }],
        }),
    )
    .await;
    let sent: Value = app
        .post(
            "/v1/send",
            &json!({ "to": "loop@example.com", "subject": "start", "body": "<p>go</p>" }),
        )
        .await
        .json()
        .await
        .unwrap();
    (wf, sent)
}

async fn emails_to(app: &TestApp, contact: &str) -> usize {
    let events = app.events(contact).await;
    events.iter().filter(|e| e["name"] == "email.sent").count()
}

#[tokio::test]
async fn a_workflow_that_triggers_itself_is_stopped_by_the_entry_limit() {
    let app = spawn_with(Opts {
        configure: Some(|s| {
            s.workflow_entry_limit = 3;
            s.workflow_entry_window_ms = 3_600_000;
        }),
        ..Opts::default()
    })
    .await;
    let (wf, sent) = echo(&app).await;
    let contact = sent["data"]["emails"][0]["contact"]["id"]
        .as_str()
        .unwrap()
        .to_string();

    // Three executions run (each sends one email), then every further entry is refused and
    // counted on one REFUSED execution.
    let refused = |l: &[Value]| {
        l.iter().filter(|e| e["status"] == "COMPLETED").count() == 3
            && l.iter().any(|e| e["status"] == "REFUSED")
    };
    let list = until(&app, &wf, refused).await;
    let refusal = list.iter().find(|e| e["status"] == "REFUSED").unwrap();
    assert_eq!(refusal["history"][0]["kind"], "refused");
    let reason = refusal["history"][0]["detail"]["reason"].as_str().unwrap();
    assert!(reason.contains("BEACON_WORKFLOW_ENTRY_LIMIT"), "{reason}");
    assert_eq!(
        refusal["history"][0]["detail"]["event"]["name"],
        "email.sent"
    );

    // The loop has ended: the start email and three sends, and nothing more comes.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(emails_to(&app, &contact).await, 4);
    let list = executions(&app, &wf).await;
    assert_eq!(list.len(), 4, "three runs and one refusal: {list:#?}");
    let stats = app
        .get_json(&format!(
            "/v1/workflows/{}/stats",
            wf["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(stats["data"]["executions"]["refused"], 1);
    assert_eq!(stats["data"]["executions"]["completed"], 3);
    app.stop().await;
}

#[tokio::test]
async fn without_a_limit_the_loop_goes_on() {
    // The test above must be able to fail: with the limit off the same workflow keeps going.
    let app = spawn_with(Opts {
        configure: Some(|s| s.workflow_entry_limit = 0),
        ..Opts::default()
    })
    .await;
    let (wf, _) = echo(&app).await;
    until(&app, &wf, |l| l.len() >= 6).await;
    // Disable it so the test ends cleanly.
    app.patch(
        &format!("/v1/workflows/{}", wf["id"].as_str().unwrap()),
        &json!({ "enabled": false }),
    )
    .await;
    app.stop().await;
}
