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

#[tokio::test]
async fn a_claimed_batch_is_handed_to_the_relay_side_by_side() {
    let sink = sink().await;
    // One worker: any second connection to the relay comes from two messages of one batch in
    // flight at once (one at a time, the pool would reuse its single connection).
    let app = spawn_with(Opts {
        smtp: Some(sink.port()),
        configure: Some(|s| s.workers = 1),
        ..Opts::default()
    })
    .await;
    let to: Vec<String> = (0..8).map(|i| format!("b{i}@example.com")).collect();
    let ids = app
        .send(&json!({ "to": to, "subject": "batch", "body": "<p>hi</p>" }))
        .await;
    for id in &ids {
        app.wait_status(id, "SENT").await;
    }
    assert_eq!(sink.messages().len(), 8);
    assert_eq!(
        sink.connections_accepted(),
        2,
        "both pooled connections carried messages of the one batch"
    );
    app.stop().await;
}

#[tokio::test]
async fn refused_messages_of_a_batch_leave_their_neighbours_outcomes_alone() {
    let sink = sink().await;
    sink.fail_next(1, "451 4.3.0 try again later");
    sink.fail_next(1, "550 5.1.1 no such user");
    let app = spawn_with(Opts {
        smtp: Some(sink.port()),
        configure: Some(|s| s.workers = 1),
        ..Opts::default()
    })
    .await;
    let to: Vec<String> = (0..6).map(|i| format!("f{i}@example.com")).collect();
    let r: serde_json::Value = app
        .post(
            "/v1/send",
            &json!({ "to": to, "subject": "mixed", "body": "<p>x</p>" }),
        )
        .await
        .json()
        .await
        .unwrap();
    let mut statuses = Vec::new();
    for sent in r["data"]["emails"].as_array().unwrap() {
        let id = sent["email"].as_str().unwrap();
        let mut email = app.email(id).await;
        for _ in 0..200 {
            if email["status"] == "SENT" || email["status"] == "FAILED" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
            email = app.email(id).await;
        }
        let events = app.events(sent["contact"]["id"].as_str().unwrap()).await;
        let names: Vec<&str> = events.iter().map(|e| e["name"].as_str().unwrap()).collect();
        match email["status"].as_str().unwrap() {
            "SENT" => assert_eq!(names, ["email.sent"], "{email}"),
            "FAILED" => {
                assert_eq!(names, ["email.failed"], "{email}");
                assert!(email["lastError"].as_str().unwrap().contains("550"));
            }
            other => panic!("email {id} ended {other}: {email}"),
        }
        statuses.push((
            email["status"].as_str().unwrap().to_string(),
            email["attempts"].as_i64().unwrap(),
        ));
    }
    statuses.sort();
    let expected = [
        ("FAILED", 1),
        ("SENT", 1),
        ("SENT", 1),
        ("SENT", 1),
        ("SENT", 1),
        ("SENT", 2),
    ];
    assert_eq!(
        statuses,
        expected.map(|(s, a)| (s.to_string(), a)),
        "one refused for good, one retried, four sent at once"
    );
    assert_eq!(sink.messages().len(), 5);
    app.stop().await;
}

#[tokio::test]
async fn the_hand_off_is_checkpointed_before_the_relay_is_called() {
    // A relay that accepts the connection and then says nothing: the send is in flight.
    let relay = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let app = spawn_with(Opts {
        smtp: Some(relay.local_addr().unwrap().port()),
        // The retry stays queued while it is looked at.
        configure: Some(|s| s.retry_base_ms = 60_000),
        ..Opts::default()
    })
    .await;
    let db = beacon::store::Db::connect(&app.db_url).await.unwrap();
    let ids = app
        .send(&json!({ "to": "h@example.com", "subject": "x", "body": "<p>x</p>" }))
        .await;
    let (connection, _) = tokio::time::timeout(Duration::from_secs(10), relay.accept())
        .await
        .expect("the worker calls the relay")
        .unwrap();
    let (status, handoff_at): (String, Option<i64>) =
        sqlx::query_as("SELECT status, handoff_at FROM emails WHERE id = $1")
            .bind(&ids[0])
            .fetch_one(&db.read)
            .await
            .unwrap();
    assert_eq!(status, "SENDING");
    assert!(
        handoff_at.is_some(),
        "hand-off recorded before the relay has the message"
    );
    // The relay goes away: a transient failure, back to the queue with the checkpoint cleared.
    drop((connection, relay));
    let email = app.wait_status(&ids[0], "PENDING").await;
    assert_eq!(email["attempts"], 1);
    let handoff_at: Option<i64> = sqlx::query_scalar("SELECT handoff_at FROM emails WHERE id = $1")
        .bind(&ids[0])
        .fetch_one(&db.read)
        .await
        .unwrap();
    assert_eq!(handoff_at, None);
    db.close().await;
    app.stop().await;
}
