//! Machine verdicts against labelled traffic: the corpus of `crates/tracking/tests/verdicts`
//! replayed through the real endpoints, and the verdicts judged over an email's clicks — a
//! burst found after its first clicks were applied as human, and bursts whose clicks two nodes
//! on one database answer and fold.

use beacon::store::Db;
use beacon::tracking::replay::{Target, replay};
use serde_json::{Value, json};

use crate::helpers::{Opts, TestApp, spawn_app, spawn_with};
use crate::tracking::{BROWSER, hit, send_one, tracking_urls};

const FOUR_LINKS: &str = r#"<p><a href="https://example.com/0">0</a> <a href="https://example.com/1">1</a>
<a href="https://example.com/2">2</a> <a href="https://example.com/3">3</a></p>"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_labelled_corpus_is_judged_right() {
    // The corpus is labelled for the default "too soon" threshold.
    let app = spawn_with(Opts {
        machine_min_secs: Some(3.0),
        ..Opts::default()
    })
    .await;
    let db = Db::connect(&app.db_url).await.unwrap();
    let target = Target {
        base: app.base.clone(),
        db: db.clone(),
        secret_key: app.secret_key.clone(),
    };
    let score = replay(&target).await.unwrap();
    println!(
        "verdict accuracy: {:.1} % of {} hits ({} people, {} flagged; {} machine hits missed; \
         {} with another reason)",
        score.accuracy() * 100.0,
        score.total,
        score.humans,
        score.humans_flagged,
        score.machines_missed,
        score.other_reason
    );
    for m in &score.mistakes {
        println!("  {m}");
    }
    assert!(score.total >= 80);
    assert_eq!(score.humans_flagged, 0, "no person may be judged a machine");
    assert!(score.accuracy() >= 0.97, "accuracy {:.3}", score.accuracy());
    db.close().await;
    app.stop().await;
}

/// A sent email with four tracked links; returns (email id, contact id, link paths).
async fn four_links(app: &TestApp, to: &str) -> (String, String, Vec<String>) {
    let (email, contact) =
        send_one(app, json!({ "to": to, "subject": "s", "body": FOUR_LINKS })).await;
    let links = tracking_urls(app, email["html"].as_str().unwrap(), "/c/")
        .into_iter()
        .map(|l| l.strip_prefix(&app.base).unwrap().to_string())
        .collect();
    (email["id"].as_str().unwrap().to_string(), contact, links)
}

#[tokio::test]
async fn a_burst_found_after_its_first_clicks_were_applied_corrects_them_once() {
    let app = spawn_app().await;
    let (email, contact, links) = four_links(&app, "burst@example.com").await;
    // Two clicks a moment apart: a person (or a double click) as far as anyone can tell.
    hit(&app, &app.url(&links[0]), BROWSER).await;
    hit(&app, &app.url(&links[1]), BROWSER).await;
    let e = app.email(&email).await;
    assert_eq!(e["clicks"], json!({ "human": 2, "machine": 0 }));
    assert_eq!(e["status"], "CLICKED");
    assert_eq!(e["openInferred"], true);
    // A third within two seconds: all three were a scanner following every link.
    hit(&app, &app.url(&links[2]), BROWSER).await;
    let e = app.email(&email).await;
    assert_eq!(e["clicks"], json!({ "human": 0, "machine": 3 }));
    assert_eq!(e["status"], "SENT", "no human click is left");
    assert!(e["clickedAt"].is_null() && e["openedAt"].is_null());
    assert_eq!(e["openInferred"], false);
    let clicks: Vec<Value> = app
        .events(&contact)
        .await
        .into_iter()
        .filter(|e| e["name"] == "email.click")
        .collect();
    assert_eq!(clicks.len(), 3);
    for c in &clicks {
        assert_eq!(c["data"]["machine"], "click_burst", "{c}");
        assert_eq!(c["data"]["isFirstClick"], false);
    }
    // A fourth, later: also a burst click; the earlier ones are not corrected twice.
    hit(&app, &app.url(&links[3]), BROWSER).await;
    let e = app.email(&email).await;
    assert_eq!(e["clicks"], json!({ "human": 0, "machine": 4 }));
    // And a person's click minutes later would stay human (bursts end): a new email shows one
    // click alone is human, with its open inferred.
    let (other, _, links) = four_links(&app, "person@example.com").await;
    hit(&app, &app.url(&links[1]), BROWSER).await;
    let e = app.email(&other).await;
    assert_eq!(e["clicks"], json!({ "human": 1, "machine": 0 }));
    assert_eq!(e["status"], "CLICKED");
    app.stop().await;
}

/// Counters and events of an email agree: every click counted once, as human or machine.
async fn clicks_of(db: &Db, email: &str) -> (i64, i64, i64, i64) {
    let (human, machine): (i64, i64) =
        sqlx::query_as("SELECT clicks, clicks_machine FROM emails WHERE id = $1")
            .bind(email)
            .fetch_one(&db.read)
            .await
            .unwrap();
    let (events_human, events_machine): (i64, i64) = sqlx::query_as(
        "SELECT CAST(COALESCE(SUM(CASE WHEN machine IS NULL THEN 1 ELSE 0 END), 0) AS BIGINT), \
         CAST(COALESCE(SUM(CASE WHEN machine IS NULL THEN 0 ELSE 1 END), 0) AS BIGINT) \
         FROM events WHERE email_id = $1 AND name = 'email.click'",
    )
    .bind(email)
    .fetch_one(&db.read)
    .await
    .unwrap();
    (human, machine, events_human, events_machine)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bursts_are_counted_across_nodes_sharing_a_database() {
    let a = spawn_app().await;
    let b = spawn_with(Opts {
        db_url: Some(a.db_url.clone()),
        ..Opts::default()
    })
    .await;
    let mut bursts = Vec::new();
    for i in 0..8 {
        bursts.push(four_links(&a, &format!("scanned{i}@example.com")).await);
    }
    let (person, _, person_links) = four_links(&a, "reader@example.com").await;
    // Every email's four links at once, the clicks alternating between the two nodes, all
    // emails side by side; and one person clicking two links on different nodes.
    let mut requests = Vec::new();
    for (_, _, links) in &bursts {
        for (n, link) in links.iter().enumerate() {
            let node = if n % 2 == 0 { &a } else { &b };
            requests.push(
                node.client
                    .get(node.url(link))
                    .header("user-agent", BROWSER)
                    .send(),
            );
        }
    }
    let answers = futures_join(requests).await;
    assert!(answers.iter().all(|s| *s == 302));
    hit(&a, &a.url(&person_links[0]), BROWSER).await;
    tokio::time::sleep(std::time::Duration::from_millis(2_500)).await;
    hit(&b, &b.url(&person_links[1]), BROWSER).await;
    a.settle().await;
    b.settle().await;
    let db = Db::connect(&a.db_url).await.unwrap();
    for (email, _, _) in &bursts {
        assert_eq!(clicks_of(&db, email).await, (0, 4, 0, 4), "email {email}");
    }
    assert_eq!(clicks_of(&db, &person).await, (2, 0, 2, 0));
    db.close().await;
    b.stop().await;
    a.stop().await;
}

/// Sends all requests at once; their status codes.
async fn futures_join(
    requests: Vec<
        impl std::future::Future<Output = reqwest::Result<reqwest::Response>> + Send + 'static,
    >,
) -> Vec<u16> {
    let mut set = tokio::task::JoinSet::new();
    for r in requests {
        set.spawn(r);
    }
    let mut out = Vec::new();
    while let Some(r) = set.join_next().await {
        out.push(r.unwrap().unwrap().status().as_u16());
    }
    out
}

#[tokio::test]
async fn a_backlog_file_from_before_client_fingerprints_is_upgraded_and_folded() {
    let url = crate::helpers::fresh_database().await;
    let Some(file) = url.strip_prefix("sqlite://") else {
        return; // PostgreSQL's backlog is a table, upgraded by migration 0010.
    };
    // The backlog file as Beacon wrote it before migration 0010, with one answered hit in it.
    {
        use sqlx::Connection;
        let mut old = sqlx::SqliteConnection::connect(&format!("sqlite://{file}-hits?mode=rwc"))
            .await
            .unwrap();
        sqlx::raw_sql(
            "CREATE TABLE hits (seq INTEGER PRIMARY KEY AUTOINCREMENT, email_id TEXT NOT NULL, \
             kind TEXT NOT NULL, link_url TEXT, link_index BIGINT, link_tag TEXT, machine TEXT, \
             scanner TEXT, ip TEXT, user_agent TEXT, at BIGINT NOT NULL); \
             INSERT INTO hits (email_id, kind, link_url, link_index, at) \
             VALUES ('0190a5f0-0000-7000-8000-000000000000', 'click', 'https://example.com/', 0, 1)",
        )
        .execute(&mut old)
        .await
        .unwrap();
        old.close().await.unwrap();
    }
    let app = spawn_with(Opts {
        db_url: Some(url.clone()),
        ..Opts::default()
    })
    .await;
    app.settle().await;
    // New hits carry their fingerprint in the upgraded file.
    let (email, _, links) = four_links(&app, "upgraded@example.com").await;
    hit(&app, &app.url(&links[0]), BROWSER).await;
    let db = Db::connect(&url).await.unwrap();
    let client: Option<String> = sqlx::query_scalar(
        "SELECT client FROM events WHERE email_id = $1 AND name = 'email.click'",
    )
    .bind(&email)
    .fetch_one(&db.read)
    .await
    .unwrap();
    assert_eq!(client.map(|c| c.len()), Some(16));
    db.close().await;
    app.stop().await;
}
