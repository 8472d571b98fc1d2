//! The tracking backlog between answering a hit and folding it into counters and events: every
//! hit folded exactly once, with two nodes on one database, after a crash between a fold and its
//! housekeeping, and after the SQLite backlog file is lost.

use beacon::store::{Backend, Db};
use serde_json::{Value, json};

use crate::helpers::{Opts, TestApp, spawn_app, spawn_with};
use crate::tracking::{BROWSER, hit, send_one, tracking_urls};

const BODY: &str = r#"<p><a href="https://example.com/">x</a></p>"#;

/// A sent email's id and its pixel's path (without the host, so any node can be asked).
async fn email_with_pixel(app: &TestApp, to: &str) -> (String, String) {
    let (email, _) = send_one(app, json!({ "to": to, "subject": "s", "body": BODY })).await;
    let pixel = tracking_urls(app, email["html"].as_str().unwrap(), "/o/").remove(0);
    let path = pixel.strip_prefix(&app.base).unwrap().to_string();
    (email["id"].as_str().unwrap().to_string(), path)
}

async fn opens(app: &TestApp, email: &str) -> Value {
    app.email(email).await["opens"]["human"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_fold_one_backlog_and_count_each_hit_once() {
    let a = spawn_app().await;
    let b = spawn_with(Opts {
        db_url: Some(a.db_url.clone()),
        ..Opts::default()
    })
    .await;
    let (email, pixel) = email_with_pixel(&a, "n@example.com").await;
    let requests: Vec<_> = (0..300)
        .map(|i| {
            let node = if i % 2 == 0 { &a } else { &b };
            let request = node
                .client
                .get(format!("{}{pixel}", node.base))
                .header("user-agent", BROWSER)
                .send();
            tokio::spawn(request)
        })
        .collect();
    for r in requests {
        assert_eq!(r.await.unwrap().unwrap().status(), 200);
    }
    a.settle().await;
    b.settle().await;
    assert_eq!(opens(&a, &email).await, 300);
    b.stop().await;
    a.stop().await;
}

#[tokio::test]
async fn a_hit_folded_before_a_crash_is_not_folded_again() {
    let app = spawn_app().await;
    let (email, pixel) = email_with_pixel(&app, "c@example.com").await;
    let pixel = format!("{}{pixel}", app.base);
    hit(&app, &pixel, BROWSER).await;
    assert_eq!(opens(&app, &email).await, 1);
    let db = Db::connect(&app.db_url).await.unwrap();
    match db.backend {
        // The fold commits its cursor with the counters, then deletes what it folded from the
        // backlog file. A crash between the two leaves folded rows behind: put one back.
        Backend::Sqlite => {
            let cursor: i64 = sqlx::query_scalar("SELECT seq FROM hits_folded")
                .fetch_one(&db.read)
                .await
                .unwrap();
            assert!(cursor > 0, "the fold moved its cursor");
            sqlx::query("INSERT INTO hits (seq, email_id, kind, at) VALUES ($1, $2, 'open', 0)")
                .bind(cursor)
                .bind(&email)
                .execute(&db.hits)
                .await
                .unwrap();
        }
        // The fold deletes the rows it takes in the transaction that applies them.
        Backend::Postgres => {
            let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM hits")
                .fetch_one(&db.read)
                .await
                .unwrap();
            assert_eq!(left, 0, "folded rows are gone with the fold's commit");
        }
    }
    db.close().await;
    hit(&app, &pixel, BROWSER).await;
    assert_eq!(
        opens(&app, &email).await,
        2,
        "one new hit, nothing folded twice"
    );
    app.stop().await;
}

#[tokio::test]
async fn hits_after_the_backlog_file_is_lost_are_still_folded() {
    let app = spawn_app().await;
    let Some(path) = app.db_url.strip_prefix("sqlite://").map(str::to_string) else {
        // PostgreSQL keeps the backlog in the database itself: there is no file to lose.
        app.stop().await;
        return;
    };
    let (email, pixel) = email_with_pixel(&app, "l@example.com").await;
    hit(&app, &format!("{}{pixel}", app.base), BROWSER).await;
    hit(&app, &format!("{}{pixel}", app.base), BROWSER).await;
    let db_url = app.db_url.clone();
    app.stop().await;
    for suffix in ["-hits", "-hits-wal", "-hits-shm"] {
        let _ = std::fs::remove_file(format!("{path}{suffix}"));
    }
    // A new, empty backlog file: its numbering must start above the hits already folded.
    let app = spawn_with(Opts {
        db_url: Some(db_url),
        ..Opts::default()
    })
    .await;
    hit(&app, &format!("{}{pixel}", app.base), BROWSER).await;
    assert_eq!(opens(&app, &email).await, 3);
    app.stop().await;
}
