//! Webhooks reach public addresses only: loopback, private, link-local and metadata addresses
//! are refused after resolution (literal or by name), at once and with the reason, unless
//! BEACON_WEBHOOK_ALLOW names the host or the range.

use serde_json::{Value, json};

use super::webhook::receiver;
use super::{all, kinds, track, until, workflow};
use crate::helpers::{Opts, spawn_app, spawn_with};

fn reason(execution: &Value) -> String {
    let history = execution["history"].as_array().unwrap();
    history.last().unwrap()["detail"]["reason"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn webhooks_to_loopback_private_and_metadata_addresses_are_refused() {
    let app = spawn_app().await;
    let (base, rx) = receiver().await;
    let port = base.rsplit(':').next().unwrap().to_string();
    let cases = [
        // The local receiver, by address and by a name that resolves to it.
        ("loopback", format!("{base}/flaky"), "loopback"),
        (
            "by name",
            format!("http://localhost:{port}/flaky"),
            "loopback",
        ),
        (
            "metadata",
            "http://169.254.169.254/latest/meta-data/".to_string(),
            "link-local",
        ),
        ("private", "http://10.0.0.1:9/hook".to_string(), "private"),
        (
            "mapped",
            format!("http://[::ffff:127.0.0.1]:{port}/flaky"),
            "loopback",
        ),
        (
            "decimal",
            format!("http://2130706433:{port}/flaky"),
            "loopback",
        ),
    ];
    let mut flows = Vec::new();
    for (name, url, _) in &cases {
        let wf = workflow(
            &app,
            json!({ "name": name, "trigger": { "event": "signup" },
                    "steps": [{ "id": "hook", "type": "WEBHOOK", "url": url }] }),
        )
        .await;
        flows.push(wf);
    }
    track(&app, "s@example.com", "signup", json!({})).await;
    for ((name, _, why), wf) in cases.iter().zip(&flows) {
        let list = until(&app, wf, all("FAILED", 1)).await;
        // Refused at the first attempt: no retries for an address that will not change.
        assert_eq!(kinds(&list[0]), ["entered", "failed"], "{name}");
        let reason = reason(&list[0]);
        assert!(
            reason.starts_with("refused:")
                && reason.contains(why)
                && reason.contains("BEACON_WEBHOOK_ALLOW"),
            "{name}: {reason}"
        );
    }
    assert!(
        rx.seen.lock().unwrap().is_empty(),
        "nothing reached the receiver"
    );
    app.stop().await;
}

#[tokio::test]
async fn an_allowed_host_or_range_is_reached() {
    let app = spawn_with(Opts {
        configure: Some(|s| {
            s.webhook_allow = beacon::workflows::guard::AllowList::parse("localhost").unwrap();
        }),
        ..Opts::default()
    })
    .await;
    let (base, rx) = receiver().await;
    let port = base.rsplit(':').next().unwrap().to_string();
    // The name is allowed; the same address written as a literal is not.
    let named = workflow(
        &app,
        json!({ "name": "named", "trigger": { "event": "signup" },
                "steps": [{ "id": "hook", "type": "WEBHOOK", "url": format!("http://localhost:{port}/trap") }] }),
    )
    .await;
    let literal = workflow(
        &app,
        json!({ "name": "literal", "trigger": { "event": "signup" },
                "steps": [{ "id": "hook", "type": "WEBHOOK", "url": format!("{base}/trap") }] }),
    )
    .await;
    track(&app, "a@example.com", "signup", json!({})).await;
    until(&app, &named, all("COMPLETED", 1)).await;
    let list = until(&app, &literal, all("FAILED", 1)).await;
    assert!(reason(&list[0]).starts_with("refused:"));
    assert_eq!(rx.seen.lock().unwrap().len(), 1);
    app.stop().await;
}
