//! The ingest path under trouble, and what it keeps of the client.

use std::time::{Duration, Instant};

use beacon::config::{HitIp, Settings};
use beacon::store::{Backend, Db};
use serde_json::json;

use crate::helpers::{Opts, spawn_with};
use crate::tracking::{BROWSER, send_one, tracking_urls};

const BODY: &str = r#"<p><a href="https://example.com/">x</a></p>"#;

async fn metric(app: &crate::helpers::TestApp, name: &str) -> u64 {
    app.metric(name).await as u64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_store_still_answers_within_the_bound_and_counts_the_miss() {
    let app = spawn_with(Opts {
        configure: Some(|s: &mut Settings| s.ingest_wait_ms = 300),
        ..Opts::default()
    })
    .await;
    let (email, contact) = send_one(
        &app,
        json!({ "to": "st@example.com", "subject": "s", "body": BODY }),
    )
    .await;
    let pixel = tracking_urls(&app, email["html"].as_str().unwrap(), "/o/").remove(0);
    let link = tracking_urls(&app, email["html"].as_str().unwrap(), "/c/").remove(0);

    // Another client holds the write lock on the backlog the ingest appends to (on SQLite its
    // own file).
    let db = Db::connect(&app.db_url).await.unwrap();
    let mut conn = db.hits.acquire().await.unwrap();
    match db.backend {
        Backend::Sqlite => sqlx::query("BEGIN IMMEDIATE")
            .execute(&mut *conn)
            .await
            .unwrap(),
        Backend::Postgres => {
            sqlx::query("BEGIN").execute(&mut *conn).await.unwrap();
            sqlx::query("LOCK TABLE hits IN EXCLUSIVE MODE")
                .execute(&mut *conn)
                .await
                .unwrap()
        }
    };
    let started = Instant::now();
    // Plain requests: `hit` would wait for the fold, which waits for the store.
    let get = |url: String| app.client.get(url).header("user-agent", BROWSER).send();
    let r = get(pixel).await.unwrap();
    assert_eq!(r.status(), 200);
    let r = get(link).await.unwrap();
    assert_eq!(r.status(), 302);
    assert_eq!(r.headers()["location"], "https://example.com/");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "answered within the bound, not after the stall"
    );
    assert_eq!(
        metric(&app, "beacon_tracking_hits_unconfirmed_total").await,
        2
    );
    assert_eq!(metric(&app, "beacon_tracking_hits_dropped_total").await, 0);

    // Once the store is back the writer commits what it was holding.
    sqlx::query("ROLLBACK").execute(&mut *conn).await.unwrap();
    drop(conn);
    for _ in 0..100 {
        if app
            .events(&contact)
            .await
            .iter()
            .filter(|e| e["name"] != "email.sent")
            .count()
            == 2
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(metric(&app, "beacon_tracking_hits_recorded_total").await, 2);
    db.close().await;
    app.stop().await;
}

/// A privacy setting, and the IP and user agent an event keeps under it.
type PrivacyCase = (
    fn(&mut Settings),
    Option<&'static str>,
    Option<&'static str>,
);

#[tokio::test]
async fn the_privacy_setting_decides_what_is_kept_of_the_client() {
    let cases: [PrivacyCase; 3] = [
        (
            |s| s.hit_ip = HitIp::Full,
            Some("203.0.113.77"),
            Some(BROWSER),
        ),
        (
            |s| s.hit_ip = HitIp::Truncated,
            Some("203.0.113.0"),
            Some(BROWSER),
        ),
        (
            |s| {
                s.hit_ip = HitIp::None;
                s.hit_user_agent = false;
            },
            None,
            None,
        ),
    ];
    for (configure, ip, ua) in cases {
        let app = spawn_with(Opts {
            configure: Some(configure),
            ..Opts::default()
        })
        .await;
        let (email, contact) = send_one(
            &app,
            json!({ "to": "pv@example.com", "subject": "s", "body": BODY }),
        )
        .await;
        let pixel = tracking_urls(&app, email["html"].as_str().unwrap(), "/o/").remove(0);
        app.client
            .get(&pixel)
            .header("user-agent", BROWSER)
            .header("x-forwarded-for", "203.0.113.77")
            .send()
            .await
            .unwrap();
        app.settle().await;
        let open = app.events(&contact).await.remove(0);
        assert_eq!(open["data"]["ip"].as_str(), ip);
        assert_eq!(open["data"]["userAgent"].as_str(), ua);
        app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_drains_the_writer() {
    let app = spawn_with(Opts::default()).await;
    let (email, _) = send_one(
        &app,
        json!({ "to": "gs@example.com", "subject": "s", "body": BODY }),
    )
    .await;
    let pixel = tracking_urls(&app, email["html"].as_str().unwrap(), "/o/").remove(0);
    // Stop the server while hits are still arriving: every one it answered is in the store.
    let hits: Vec<_> = (0..200)
        .map(|_| tokio::spawn(app.client.get(&pixel).header("user-agent", BROWSER).send()))
        .collect();
    // Stop once the writer has committed something, so the stop lands while hits are flowing
    // (however slow the machine) and at least one answer is owed.
    for _ in 0..500 {
        if metric(&app, "beacon_tracking_hits_recorded_total").await > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let db_url = app.db_url.clone();
    app.stop().await;
    let mut answered = 0;
    for h in hits {
        if h.await.unwrap().is_ok_and(|r| r.status() == 200) {
            answered += 1;
        }
    }
    let db = Db::connect(&db_url).await.unwrap();
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM events WHERE name = 'email.open'")
        .fetch_one(&db.read)
        .await
        .unwrap();
    assert!(answered > 0, "some hits were answered before the stop");
    assert!(n >= answered, "{answered} answered, {n} recorded");
    db.close().await;
}

/// Hits travel to the store as JSON (the backlog append, the fold's event insert): quotes,
/// backslashes and non-ASCII text in a link's tag and the client's agent come out unchanged.
/// (A link's destination is normalised when it is sent, so it holds neither: `"` is `%22`
/// and `\` is `/`, as a browser would have made them.)
#[tokio::test]
async fn a_hit_keeps_quotes_backslashes_and_unicode_intact() {
    let app = crate::helpers::spawn_app().await;
    let body = r#"<p><a href="https://example.com/a\b?q=&quot;x&quot;&amp;t=%E2%9C%93" data-beacon-tag="caf&#233; &quot;&#9749;&quot; \n">x</a></p>"#;
    let (email, contact) = send_one(
        &app,
        json!({ "to": "js@example.com", "subject": "s", "body": body }),
    )
    .await;
    let link = tracking_urls(&app, email["html"].as_str().unwrap(), "/c/").remove(0);
    let agent = r#"Mozilla/5.0 "quoted" \back\slash\ {"json": [1]} ' ; --"#;
    let r = crate::tracking::hit(&app, &link, agent).await;
    assert_eq!(r.status(), 302);
    let url = "https://example.com/a/b?q=%22x%22&t=%E2%9C%93";
    let tag = "café \"☕\" \\n";
    assert_eq!(r.headers()["location"], url);

    let click = app.event(&contact, "email.click").await;
    assert_eq!(click["data"]["link"], url);
    assert_eq!(click["data"]["linkTag"], tag);
    assert_eq!(click["data"]["userAgent"], agent);
    // The columns statistics and segments filter on hold the same text.
    let db = Db::connect(&app.db_url).await.unwrap();
    let (stored_url, stored_tag): (String, String) = sqlx::query_as(
        "SELECT link_url, link_tag FROM events WHERE name = 'email.click' AND contact_id = $1",
    )
    .bind(&contact)
    .fetch_one(&db.read)
    .await
    .unwrap();
    assert_eq!((stored_url.as_str(), stored_tag.as_str()), (url, tag));
    app.stop().await;
}

/// The writer keeps its connections out of the pool (`ingest.rs`): one the database closed is
/// replaced, and the hit it was carrying is retried on the new one, not lost.
#[tokio::test]
async fn a_hit_survives_the_database_closing_the_writers_connection() {
    let app = crate::helpers::spawn_app().await;
    let (email, contact) = send_one(
        &app,
        json!({ "to": "rc@example.com", "subject": "s", "body": BODY }),
    )
    .await;
    let pixel = tracking_urls(&app, email["html"].as_str().unwrap(), "/o/").remove(0);
    crate::tracking::hit(&app, &pixel, BROWSER).await;
    let db = Db::connect(&app.db_url).await.unwrap();
    if db.backend == Backend::Postgres {
        // Every connection of the server, the writer's among them, is closed under it.
        sqlx::query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid()",
        )
        .execute(&db.read)
        .await
        .unwrap();
    }
    let r = crate::tracking::hit(&app, &pixel, BROWSER).await;
    assert_eq!(r.status(), 200);
    let opens = app
        .events(&contact)
        .await
        .into_iter()
        .filter(|e| e["name"] == "email.open")
        .count();
    assert_eq!(opens, 2);
    assert_eq!(metric(&app, "beacon_tracking_hits_dropped_total").await, 0);
    assert_eq!(
        metric(&app, "beacon_tracking_hits_unconfirmed_total").await,
        0
    );
    app.stop().await;
}
