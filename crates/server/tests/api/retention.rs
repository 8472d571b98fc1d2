//! Retention (`BEACON_BODY_RETENTION_DAYS`, `BEACON_HIT_CLIENT_RETENTION_DAYS`) and the
//! background repacking of bodies an older Beacon stored in plain text (`src/bodies/`).

use std::time::Duration;

use beacon::bodies::retention::purge_bodies;
use beacon::store::{Db, projects};
use serde_json::{Value, json};

use crate::helpers::{Opts, TestApp, fresh_database, spawn_with};
use crate::tracking::{BROWSER, hit, tracking_urls};

/// One number from the database (a `COUNT(*)`).
pub async fn count(db: &Db, sql: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_one(&db.read)
        .await
        .unwrap()
}

/// Polls `GET /v1/emails/{id}` until `done` holds, or panics after 10 s.
async fn wait_email(app: &TestApp, id: &str, done: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..200 {
        let email = app.email(id).await;
        if done(&email) {
            return email;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "email {id} did not change as expected: {}",
        app.email(id).await
    );
}

/// A server on a fresh database (its URL) that has sent `send` (`POST /v1/send`) to every
/// recipient: the emails' ids, each SENT.
async fn sent_on_a_fresh_database(send: Value) -> (String, TestApp, Vec<String>) {
    let url = fresh_database().await;
    let app = spawn_with(Opts {
        db_url: Some(url.clone()),
        ..Opts::default()
    })
    .await;
    let ids = app.send(&send).await;
    for id in &ids {
        app.wait_status(id, "SENT").await;
    }
    (url, app, ids)
}

#[tokio::test]
async fn retention_removes_bodies_attachments_and_hit_clients_and_says_when() {
    let (url, app, ids) = sent_on_a_fresh_database(json!({
        "to": ["r1@example.com", "r2@example.com"], "subject": "Old news",
        "body": "<p>Old <a href=\"https://example.com/x\">news</a></p>",
        "attachments": [{ "filename": "a.txt", "content": "aGk=" }],
    }))
    .await;
    let email = app.email(&ids[0]).await;
    let pixel = tracking_urls(&app, email["html"].as_str().unwrap(), "/o/").remove(0);
    let db = Db::connect(&app.db_url).await.unwrap();
    assert!(count(&db, "SELECT COUNT(*) FROM body_dictionaries").await >= 2);
    db.close().await;
    assert_eq!(hit(&app, &pixel, BROWSER).await.status(), 200);
    let contact = email["contact"].as_str().unwrap().to_string();
    let open = app.event(&contact, "email.open").await;
    assert!(open["data"]["userAgent"].is_string(), "{open}");
    app.stop().await;

    // Started again with a retention of zero days: everything sent so far is older.
    let app = spawn_with(Opts {
        db_url: Some(url),
        configure: Some(|s| {
            s.body_retention_ms = Some(0);
            s.hit_client_retention_ms = Some(0);
        }),
        ..Opts::default()
    })
    .await;
    for id in &ids {
        let email = wait_email(&app, id, |e| !e["bodyRemoved"].is_null()).await;
        assert_eq!(email["bodyRemoved"]["by"], "retention");
        assert!(email["bodyRemoved"]["at"].is_string(), "{email}");
        assert_eq!(
            (&email["html"], &email["text"]),
            (&Value::Null, &Value::Null)
        );
        // The email itself, its state and its counters stay.
        assert_eq!(
            email["status"],
            if id == &ids[0] { "OPENED" } else { "SENT" }
        );
        let r = app.get(&format!("/v1/outbox/{id}")).await;
        assert_eq!(r.status(), 404);
        assert!(r.text().await.unwrap().contains("retention"));
    }
    assert_eq!(app.email(&ids[0]).await["opens"]["human"], 1);
    let db = Db::connect(&app.db_url).await.unwrap();
    for _ in 0..100 {
        if count(&db, "SELECT COUNT(*) FROM attachment_sets").await == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(count(&db, "SELECT COUNT(*) FROM attachment_sets").await, 0);
    // The two shared a dictionary (and their outbox messages one): nothing names them now.
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM body_dictionaries").await,
        0
    );
    let mut open = Value::Null;
    for _ in 0..100 {
        open = app.event(&contact, "email.open").await;
        if open["data"].get("userAgent").is_none() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(open["data"].get("userAgent").is_none(), "{open}");
    assert!(open["data"].get("ip").is_none(), "{open}");
    assert_eq!(open["data"]["emailId"], ids[0].as_str(), "{open}");
    // The dashboard's page of the email says so too.
    let (visitor, pid) = crate::dashboard::owner(&app).await;
    let page = visitor.page(&format!("/p/{pid}/emails/{}", ids[0])).await;
    assert!(
        page.text("#body-removed").contains("Removed by retention"),
        "{:?}",
        page.text("main")
    );
    // A send after the purge is kept (its email is younger than the cutoff was).
    let fresh = app
        .send(&json!({ "to": "new@example.com", "subject": "New", "body": "<p>New</p>" }))
        .await
        .remove(0);
    let email = app.wait_status(&fresh, "SENT").await;
    assert!(email["html"].as_str().unwrap().starts_with("<p>New</p>"));
    db.close().await;
    app.stop().await;
}

#[tokio::test]
async fn an_email_still_queued_when_retention_passes_is_purged_once_it_leaves_the_queue() {
    let (url, app, ids) = sent_on_a_fresh_database(
        json!({ "to": ["a@example.com", "b@example.com"], "subject": "S", "body": "<p>Hi</p>" }),
    )
    .await;
    app.stop().await;
    let db = Db::connect(&url).await.unwrap();
    let set_status = |id: String, status: &'static str| {
        let db = db.clone();
        async move {
            sqlx::query("UPDATE emails SET status = $1 WHERE id = $2")
                .bind(status)
                .bind(id)
                .execute(&db.write)
                .await
                .unwrap();
        }
    };
    let purged = |id: &str| {
        format!(
            "SELECT COUNT(*) FROM email_bodies WHERE email_id = '{id}' AND purged_at IS NOT NULL"
        )
    };
    // As if the first were still waiting for its relay when retention came by.
    set_status(ids[0].clone(), "PENDING").await;
    let cutoff = beacon::store::now_ms() + 1_000;
    assert_eq!(purge_bodies(&db, cutoff).await.unwrap(), 2);
    assert_eq!(count(&db, &purged(&ids[0])).await, 0);
    assert_eq!(count(&db, &purged(&ids[1])).await, 1);
    // Still queued: kept again, though the walk has moved past it.
    assert_eq!(purge_bodies(&db, cutoff).await.unwrap(), 0);
    assert_eq!(count(&db, &purged(&ids[0])).await, 0);
    // Delivered at last: the next batch removes its bodies too, and then has nothing to do.
    set_status(ids[0].clone(), "SENT").await;
    purge_bodies(&db, cutoff).await.unwrap();
    assert_eq!(count(&db, &purged(&ids[0])).await, 1);
    let waiting: String = sqlx::query_scalar(
        "SELECT position FROM maintenance_cursors WHERE name = 'retention.bodies.waiting'",
    )
    .fetch_one(&db.read)
    .await
    .unwrap();
    assert_eq!(waiting, "");
    db.close().await;
}

/// The last migration before bodies were compressed.
const BEFORE_COMPACT_BODIES: i64 = 16;

#[tokio::test]
async fn a_database_of_the_previous_release_opens_and_is_repacked_in_the_background() {
    let url = fresh_database().await;
    let db = Db::connect_migrated_to(&url, BEFORE_COMPACT_BODIES)
        .await
        .unwrap();
    let project = projects::create(&db, "Old project").await.unwrap();
    let page: String = (0..50)
        .map(|i| format!("<p>Paragraph {i} ü</p>\n"))
        .collect();
    // As the previous release stored them: two emails of one campaign, one lone, one queued.
    let old = [
        (
            "e-1",
            Some("camp-1"),
            "SENT",
            Some(format!("<p>Hi Ada</p>{page}")),
            Some("Hi Ada".to_string()),
        ),
        (
            "e-2",
            Some("camp-1"),
            "SENT",
            Some(format!("<p>Hi Bo</p>{page}")),
            Some("Hi Bo".to_string()),
        ),
        ("e-3", None, "SENT", None, Some(String::new())),
        (
            "e-4",
            None,
            "PENDING",
            Some("<p>queued</p>".to_string()),
            None,
        ),
    ];
    for (id, campaign, status, html, text) in &old {
        // A contact each: a campaign emails a contact once.
        sqlx::query(
            "INSERT INTO contacts (id, project_id, email, subscribed, data, created_at, \
             updated_at) VALUES ($1, $2, $1 || '@example.com', 1, '{}', 1, 1)",
        )
        .bind(format!("c-{id}"))
        .bind(&project.id)
        .execute(&db.write)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO emails (id, project_id, contact_id, source_type, campaign_id, subject, \
             from_email, to_email, status, next_attempt_at, created_at) \
             VALUES ($1, $2, 'c-' || $1, 'CAMPAIGN', $3, 'Hi', 'from@example.com', \
             'old@example.com', $4, 0, 1)",
        )
        .bind(id)
        .bind(&project.id)
        .bind(campaign)
        .bind(status)
        .execute(&db.write)
        .await
        .unwrap();
        sqlx::query("INSERT INTO email_bodies (email_id, html, text) VALUES ($1, $2, $3)")
            .bind(id)
            .bind(html)
            .bind(text)
            .execute(&db.write)
            .await
            .unwrap();
    }
    let message = b"From: a@example.com\r\nSubject: old\r\n\r\nold message \xff\r\n".to_vec();
    sqlx::query(
        "INSERT INTO outbox (email_id, project_id, raw, created_at) VALUES ('e-1', $1, $2, 1)",
    )
    .bind(&project.id)
    .bind(message.clone())
    .execute(&db.write)
    .await
    .unwrap();
    db.close().await;

    let app = spawn_with(Opts {
        db_url: Some(url),
        ..Opts::default()
    })
    .await;
    // Readable at once, before and after repacking; the queued one is delivered.
    let db = Db::connect(&app.db_url).await.unwrap();
    for _ in 0..200 {
        if count(
            &db,
            "SELECT COUNT(*) FROM email_bodies WHERE packed IS NULL",
        )
        .await
            == 0
            && count(&db, "SELECT COUNT(*) FROM outbox WHERE packed IS NULL").await == 0
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM email_bodies WHERE packed IS NULL"
        )
        .await,
        0
    );
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM email_bodies WHERE html IS NOT NULL OR text IS NOT NULL"
        )
        .await,
        0
    );
    // The campaign's emails share one dictionary: the first of them.
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM body_dictionaries").await,
        1
    );
    for (id, _, _, html, text) in &old {
        let email = app.email(id).await;
        assert_eq!(email["html"].as_str(), html.as_deref(), "{id}");
        assert_eq!(email["text"].as_str(), text.as_deref(), "{id}");
    }
    let raw = app.get("/v1/outbox/e-1").await.bytes().await.unwrap();
    assert_eq!(raw.to_vec(), message);
    app.wait_status("e-4", "SENT").await;
    let raw = app.get("/v1/outbox/e-4").await.text().await.unwrap();
    assert!(raw.contains("<p>queued</p>"), "{raw}");
    db.close().await;
    app.stop().await;
}
