//! Email bodies live in `email_bodies`, beside the row (migrations/0007): an older database
//! keeps its bodies through the migration, and deleting emails leaves no bodies behind.

use beacon::store::{Db, projects};
use serde_json::json;

use crate::helpers::{Opts, fresh_database, spawn_app, spawn_with};

/// The last migration before the bodies moved out of `emails`.
const BEFORE_BODIES: i64 = 6;

#[tokio::test]
async fn bodies_survive_the_migration_of_an_older_database() {
    let url = fresh_database().await;
    let db = Db::connect_migrated_to(&url, BEFORE_BODIES).await.unwrap();
    let project = projects::create(&db, "Old project").await.unwrap();
    sqlx::query(
        "INSERT INTO contacts (id, project_id, email, subscribed, data, created_at, updated_at) \
         VALUES ('c-old', $1, 'old@example.com', 1, '{}', 1, 1)",
    )
    .bind(&project.id)
    .execute(&db.write)
    .await
    .unwrap();
    // As an older Beacon queued them: one sent with both bodies, one still queued (delivered
    // after the upgrade), one without bodies at all.
    for (id, status, html, text) in [
        ("e-sent", "SENT", Some("<p>sent ü</p>"), Some("sent ü")),
        ("e-queued", "PENDING", Some("<p>queued</p>"), Some("queued")),
        ("e-empty", "SENT", None, None),
    ] {
        sqlx::query(
            "INSERT INTO emails (id, project_id, contact_id, source_type, subject, from_email, \
             to_email, html, text, status, next_attempt_at, created_at) \
             VALUES ($1, $2, 'c-old', 'TRANSACTIONAL', 'Hi', 'from@example.com', \
             'old@example.com', $3, $4, $5, 0, 1)",
        )
        .bind(id)
        .bind(&project.id)
        .bind(html)
        .bind(text)
        .bind(status)
        .execute(&db.write)
        .await
        .unwrap();
    }
    db.close().await;

    let app = spawn_with(Opts {
        db_url: Some(url),
        ..Opts::default()
    })
    .await;
    let sent = app.email("e-sent").await;
    assert_eq!(sent["html"], "<p>sent ü</p>");
    assert_eq!(sent["text"], "sent ü");
    let empty = app.email("e-empty").await;
    assert_eq!(
        (&empty["html"], &empty["text"]),
        (&json!(null), &json!(null))
    );
    // The queued one is delivered from its migrated bodies.
    app.wait_status("e-queued", "SENT").await;
    let raw = app.get("/v1/outbox/e-queued").await.text().await.unwrap();
    assert!(raw.contains("<p>queued</p>"), "{raw}");
    app.stop().await;
}

#[tokio::test]
async fn deleting_emails_or_their_project_leaves_no_bodies() {
    let app = spawn_app().await;
    let ids = app
        .send(&json!({
            "to": ["a@example.com", "b@example.com"],
            "subject": "Hello",
            "body": "<p>Hello</p>",
        }))
        .await;
    for id in &ids {
        let email = app.wait_status(id, "SENT").await;
        // Shown after delivery, as tracked (the pixel follows).
        assert!(
            email["html"].as_str().unwrap().starts_with("<p>Hello</p>"),
            "{email}"
        );
        assert!(email["text"].as_str().unwrap().contains("Hello"), "{email}");
    }
    let db = Db::connect(&app.db_url).await.unwrap();
    let bodies = |db: &Db| {
        let read = db.read.clone();
        async move {
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM email_bodies")
                .fetch_one(&read)
                .await
                .unwrap()
        }
    };
    assert_eq!(bodies(&db).await, 2);

    sqlx::query("DELETE FROM emails WHERE id = $1")
        .bind(&ids[0])
        .execute(&db.write)
        .await
        .unwrap();
    assert_eq!(bodies(&db).await, 1);

    let project = projects::list(&db).await.unwrap().remove(0);
    app.stop().await;
    sqlx::query("DELETE FROM projects WHERE id = $1")
        .bind(&project.id)
        .execute(&db.write)
        .await
        .unwrap();
    assert_eq!(bodies(&db).await, 0);
    db.close().await;
}
