//! Delivery through a real SMTP sink: retries, permanent failures, restarts.

use std::time::Duration;

use serde_json::json;

use crate::helpers::{Opts, sink, spawn_with};

#[tokio::test]
async fn smtp_delivery_records_the_relays_reply() {
    let sink = sink().await;
    let app = spawn_with(Opts {
        smtp: Some(sink.port()),
        ..Opts::default()
    })
    .await;
    let ids = app
        .send(&json!({ "to": "s@example.com", "subject": "via smtp", "body": "<p>hi</p>" }))
        .await;
    let email = app.wait_status(&ids[0], "SENT").await;
    let got = sink.wait_for(1, Duration::from_secs(5)).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].rcpt_to, vec!["s@example.com".to_string()]);
    assert!(String::from_utf8_lossy(&got[0].data).contains("Subject: via smtp"));
    assert!(
        email["providerMessageId"]
            .as_str()
            .unwrap()
            .starts_with("250"),
        "{email}"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_temporary_failure_is_retried_until_accepted() {
    let sink = sink().await;
    sink.fail_next(2, "451 4.3.0 try again later");
    let app = spawn_with(Opts {
        smtp: Some(sink.port()),
        ..Opts::default()
    })
    .await;
    let ids = app
        .send(&json!({ "to": "r@example.com", "subject": "retry", "body": "<p>hi</p>" }))
        .await;
    let email = app.wait_status(&ids[0], "SENT").await;
    assert_eq!(email["attempts"], 3);
    assert_eq!(sink.messages().len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn a_permanent_failure_fails_the_email_with_an_event() {
    let sink = sink().await;
    sink.fail_next(1, "550 5.1.1 no such user");
    let app = spawn_with(Opts {
        smtp: Some(sink.port()),
        ..Opts::default()
    })
    .await;
    let r: serde_json::Value = app
        .post(
            "/v1/send",
            &json!({ "to": "gone@example.com", "subject": "x", "body": "<p>x</p>" }),
        )
        .await
        .json()
        .await
        .unwrap();
    let id = r["data"]["emails"][0]["email"].as_str().unwrap();
    let email = app.wait_status(id, "FAILED").await;
    assert_eq!(email["attempts"], 1);
    assert!(email["lastError"].as_str().unwrap().contains("550"));
    let contact = r["data"]["emails"][0]["contact"]["id"].as_str().unwrap();
    let events = app.events(contact).await;
    let failed = events
        .iter()
        .find(|e| e["name"] == "email.failed")
        .expect("email.failed");
    assert!(failed["data"]["reason"].as_str().unwrap().contains("550"));
    assert!(events.iter().all(|e| e["name"] != "email.sent"));
    app.stop().await;
}

#[tokio::test]
async fn attempts_run_out_on_repeated_temporary_failures() {
    let sink = sink().await;
    sink.fail_next(10, "421 4.7.0 slow down");
    let app = spawn_with(Opts {
        smtp: Some(sink.port()),
        max_attempts: Some(2),
        ..Opts::default()
    })
    .await;
    let ids = app
        .send(&json!({ "to": "t@example.com", "subject": "x", "body": "<p>x</p>" }))
        .await;
    let email = app.wait_status(&ids[0], "FAILED").await;
    assert_eq!(email["attempts"], 2);
    app.stop().await;
}

#[tokio::test]
async fn a_restart_neither_loses_nor_resends() {
    let sink = sink().await;
    let app = spawn_with(Opts {
        smtp: Some(sink.port()),
        ..Opts::default()
    })
    .await;
    let db_url = app.db_url.clone();
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.extend(
            app.send(
                &json!({ "to": format!("p{i}@example.com"), "subject": "x", "body": "<p>x</p>" }),
            )
            .await,
        );
    }
    for id in &ids {
        app.wait_status(id, "SENT").await;
    }
    app.stop().await;

    // Queued while no server runs: picked up by the next one. Already-sent ones are not resent.
    let app = spawn_with(Opts {
        smtp: Some(sink.port()),
        db_url: Some(db_url),
        ..Opts::default()
    })
    .await;
    let late = app
        .send(&json!({ "to": "late@example.com", "subject": "x", "body": "<p>x</p>" }))
        .await;
    app.wait_status(&late[0], "SENT").await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(sink.messages().len(), 6);
    app.stop().await;
}

#[tokio::test]
async fn an_email_caught_by_a_crash_is_recovered_when_its_lease_ends() {
    let app = spawn_with(Opts::default()).await;
    let db = beacon::store::Db::connect(&app.db_url).await.unwrap();
    let ids = app
        .send(&json!({ "to": "c@example.com", "subject": "x", "body": "<p>x</p>" }))
        .await;
    app.wait_status(&ids[0], "SENT").await;
    // Make it look like a worker claimed it, reached the hand-off and died.
    sqlx::query("UPDATE emails SET status = 'SENDING', lease_until = 1, handoff_at = 1, sent_at = NULL WHERE id = $1")
        .bind(&ids[0])
        .execute(&db.write)
        .await
        .unwrap();
    let email = app.wait_status(&ids[0], "SENT").await;
    assert!(
        email["lastError"].is_null() || email["lastError"].as_str().unwrap().contains("hand-off")
    );
    db.close().await;
    app.stop().await;
}

#[tokio::test]
async fn two_nodes_share_one_queue_and_deliver_each_email_once() {
    let sink = sink().await;
    let a = spawn_with(Opts {
        smtp: Some(sink.port()),
        ..Opts::default()
    })
    .await;
    let b = spawn_with(Opts {
        smtp: Some(sink.port()),
        db_url: Some(a.db_url.clone()),
        ..Opts::default()
    })
    .await;
    let mut ids = Vec::new();
    for i in 0..30 {
        let node = if i % 2 == 0 { &a } else { &b };
        ids.extend(
            node.send(
                &json!({ "to": format!("n{i}@example.com"), "subject": "x", "body": "<p>x</p>" }),
            )
            .await,
        );
    }
    for id in &ids {
        a.wait_status(id, "SENT").await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut rcpts: Vec<String> = sink
        .messages()
        .into_iter()
        .flat_map(|m| m.rcpt_to)
        .collect();
    rcpts.sort();
    let before = rcpts.len();
    rcpts.dedup();
    assert_eq!(before, 30, "every email delivered exactly once");
    assert_eq!(rcpts.len(), 30);
    a.stop().await;
    b.stop().await;
}
