//! Delivery in batches: a claimed batch's messages in flight side by side, its outcomes recorded
//! together (each as it would be alone), and the hand-off checkpoint before the relay is called.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{Opts, TestApp, sink, spawn_with};

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

#[tokio::test]
async fn email_sent_events_of_a_batch_carry_what_a_single_one_would() {
    let sink = sink().await;
    sink.fail_next(2, "451 4.3.0 try again later");
    let app = spawn_with(Opts {
        smtp: Some(sink.port()),
        configure: Some(|s| s.retry_base_ms = 1_000),
        ..Opts::default()
    })
    .await;
    let template: Value = app
        .post(
            "/v1/templates",
            &json!({ "name": "t", "subject": "S {{x}}", "body": "<p>B</p>", "type": "TRANSACTIONAL" }),
        )
        .await
        .json()
        .await
        .unwrap();
    let template = template["data"]["id"].as_str().unwrap();
    let r: Value = app
        .post(
            "/v1/send",
            &json!({ "to": ["kept@example.com", "gone@example.com"], "template": template, "data": { "x": "1" } }),
        )
        .await
        .json()
        .await
        .unwrap();
    let sent = r["data"]["emails"].as_array().unwrap();
    let (kept, gone) = (&sent[0], &sent[1]);
    // Both first attempts are refused; the second contact is deleted before the retry.
    wait_attempts(&app, gone["email"].as_str().unwrap(), 1).await;
    let r = app
        .delete(&format!(
            "/v1/contacts/{}",
            gone["contact"]["id"].as_str().unwrap()
        ))
        .await;
    assert!(r.status().is_success(), "{}", r.status());
    let db = beacon::store::Db::connect(&app.db_url).await.unwrap();
    for e in [kept, gone] {
        app.wait_status(e["email"].as_str().unwrap(), "SENT").await;
    }
    let rows: Vec<EventRow> = sqlx::query_as(
        "SELECT email_id, name, project_id, contact_id, campaign_id, template_id, data \
             FROM events WHERE email_id IN ($1, $2)",
    )
    .bind(kept["email"].as_str().unwrap())
    .bind(gone["email"].as_str().unwrap())
    .fetch_all(&db.read)
    .await
    .unwrap();
    db.close().await;
    assert_eq!(rows.len(), 1, "a deleted contact gets no event: {rows:?}");
    let (email_id, name, _project, contact, campaign, template_id, data) = &rows[0];
    assert_eq!(email_id, kept["email"].as_str().unwrap());
    assert_eq!(name, "email.sent");
    assert_eq!(contact, kept["contact"]["id"].as_str().unwrap());
    assert_eq!(
        (campaign.as_deref(), template_id.as_deref()),
        (None, Some(template))
    );
    let data: Value = serde_json::from_str(data).unwrap();
    assert_eq!(
        data,
        json!({ "emailId": email_id, "subject": "S 1", "templateId": template,
                "campaignId": null, "sourceType": "TRANSACTIONAL" })
    );
    app.stop().await;
}

#[tokio::test]
async fn only_a_relay_hand_off_is_checkpointed() {
    let sink = sink().await;
    let relay = spawn_with(Opts {
        smtp: Some(sink.port()),
        ..Opts::default()
    })
    .await;
    // The outbox is written in the transaction that marks the email SENT: nothing to checkpoint.
    let outbox = spawn_with(Opts::default()).await;
    for (app, checkpointed) in [(&relay, true), (&outbox, false)] {
        let ids = app
            .send(&json!({ "to": "c@example.com", "subject": "x", "body": "<p>x</p>" }))
            .await;
        app.wait_status(&ids[0], "SENT").await;
        let db = beacon::store::Db::connect(&app.db_url).await.unwrap();
        let (handoff_at, sent_at): (Option<i64>, Option<i64>) =
            sqlx::query_as("SELECT handoff_at, sent_at FROM emails WHERE id = $1")
                .bind(&ids[0])
                .fetch_one(&db.read)
                .await
                .unwrap();
        db.close().await;
        assert_eq!(handoff_at.is_some(), checkpointed);
        assert!(handoff_at <= sent_at, "{handoff_at:?} {sent_at:?}");
    }
    relay.stop().await;
    outbox.stop().await;
}

/// email_id, name, project_id, contact_id, campaign_id, template_id, data.
type EventRow = (
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    String,
);

/// Polls until the email has been attempted `n` times and is back in the queue.
async fn wait_attempts(app: &TestApp, id: &str, n: i64) {
    for _ in 0..200 {
        let e = app.email(id).await;
        if e["attempts"] == n && e["status"] == "PENDING" {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("email {id} never waited after attempt {n}");
}
