//! Bodies at campaign scale (migrations/0017, `src/bodies/`): stored compressed against what
//! siblings share, read back exactly by every reader; attachments once per send request; the
//! WAL emptied when idle.

use beacon::store::Db;
use mail_parser::{MessageParser, MimeHeaders};
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};
use crate::retention::count;

/// A few KB of HTML with links, a placeholder and characters outside ASCII.
fn newsletter(n: usize) -> String {
    (0..n)
        .map(|i| {
            format!(
                "<h2>Story {i} für {{{{name ?? Leser}}}}</h2><p>Ünïcödé — “quotes” &amp; \
                 <a href=\"https://example.com/story/{i}?ref=news&amp;x=1\">read on</a> 🎉</p>\n"
            )
        })
        .collect()
}

async fn one_value(db: &Db, sql: &str, id: &str) -> Option<String> {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()))
        .bind(id)
        .fetch_one(&db.read)
        .await
        .unwrap()
}

/// The delivered message's HTML and text as a mail client reads them.
async fn delivered(app: &TestApp, id: &str) -> (String, String, Vec<u8>) {
    let raw = app
        .get(&format!("/v1/outbox/{id}"))
        .await
        .bytes()
        .await
        .unwrap();
    let msg = MessageParser::default().parse(&raw[..]).unwrap();
    let html = msg.body_html(0).unwrap().into_owned();
    let text = msg.body_text(0).unwrap().into_owned();
    (html, text, raw.to_vec())
}

#[tokio::test]
async fn every_reader_gets_the_exact_bodies_back() {
    let app = spawn_app().await;
    let bodies = [
        newsletter(40),
        "<p>x</p>".to_string(),
        "<html><body>\r\n<p>Line\r\nbreaks\tand\u{0}nothing else</p></body></html>".into(),
    ];
    for (n, body) in bodies.iter().enumerate() {
        let to: Vec<String> = (0..3).map(|i| format!("r{n}-{i}@example.com")).collect();
        let ids = app
            .send(&json!({ "to": to, "subject": "News", "body": body, "data": { "name": "Zoë" } }))
            .await;
        for id in &ids {
            let email = app.wait_status(id, "SENT").await;
            let (html, text, _) = delivered(&app, id).await;
            // The message has CRLF line ends (RFC 5322); what was stored is as rendered.
            let lf = |s: &str| s.replace("\r\n", "\n").trim_end().to_string();
            assert!(
                lf(email["html"].as_str().unwrap()) == lf(&html),
                "HTML of {id}"
            );
            assert!(
                lf(email["text"].as_str().unwrap()) == lf(&text),
                "text of {id}"
            );
            assert_eq!(email["bodyRemoved"], Value::Null);
            // The dashboard's preview reads the same bodies (it is covered with a session in
            // the dashboard tests); the stored row is the compressed frame only.
        }
    }
    let db = Db::connect(&app.db_url).await.unwrap();
    let plain = count(&db, "SELECT COUNT(*) FROM email_bodies WHERE html IS NOT NULL OR text IS NOT NULL OR packed IS NULL").await;
    assert_eq!(plain, 0);
    let outbox_plain = count(
        &db,
        "SELECT COUNT(*) FROM outbox WHERE packed IS NULL OR LENGTH(raw) > 0",
    )
    .await;
    assert_eq!(outbox_plain, 0);
    db.close().await;
    app.stop().await;
}

#[tokio::test]
async fn siblings_share_a_dictionary_and_a_lone_send_is_compressed_alone() {
    let app = spawn_app().await;
    // The bench's 60 KB newsletter (40 links).
    let body = include_str!("../../../tracking/benches/newsletter.html");
    let to: Vec<String> = (0..5).map(|i| format!("s{i}@example.com")).collect();
    let ids = app
        .send(&json!({ "to": to, "subject": "News", "body": body }))
        .await;
    let lone = app
        .send(&json!({ "to": "lone@example.com", "subject": "News", "body": body }))
        .await
        .remove(0);
    app.wait_status(&lone, "SENT").await;
    let db = Db::connect(&app.db_url).await.unwrap();
    let dictionary = one_value(
        &db,
        "SELECT dictionary_id FROM email_bodies WHERE email_id = $1",
        &ids[0],
    )
    .await;
    assert!(dictionary.is_some());
    for id in &ids {
        assert_eq!(
            one_value(
                &db,
                "SELECT dictionary_id FROM email_bodies WHERE email_id = $1",
                id
            )
            .await,
            dictionary
        );
    }
    assert_eq!(
        one_value(
            &db,
            "SELECT dictionary_id FROM email_bodies WHERE email_id = $1",
            &lone
        )
        .await,
        None
    );
    let size = |id: String| {
        let read = db.read.clone();
        async move {
            sqlx::query_scalar::<_, i64>(
                "SELECT LENGTH(packed) FROM email_bodies WHERE email_id = $1",
            )
            .bind(id)
            .fetch_one(&read)
            .await
            .unwrap()
        }
    };
    let (shared, alone) = (size(ids[1].clone()).await, size(lone.clone()).await);
    let email = app.email(&ids[1]).await;
    let stored =
        (email["html"].as_str().unwrap().len() + email["text"].as_str().unwrap().len()) as i64;
    eprintln!(
        "{stored} bytes of HTML and text: {shared} stored against the dictionary, {alone} alone"
    );
    // Against its siblings' content an email costs its tokens; alone, zstd's usual ratio.
    assert!(
        shared * 3 < alone,
        "{shared} against the dictionary, {alone} alone"
    );
    assert!(alone * 3 < stored, "{alone} alone for {stored} bytes");
    // The outbox's MIME message, against a sibling's message and alone.
    for id in [&ids[1], &lone] {
        app.wait_status(id, "SENT").await;
    }
    let message = |id: String| {
        let read = db.read.clone();
        async move {
            sqlx::query_as::<_, (i64, i64)>(
                "SELECT LENGTH(packed), LENGTH(raw) FROM outbox WHERE email_id = $1",
            )
            .bind(id)
            .fetch_one(&read)
            .await
            .unwrap()
        }
    };
    let ((shared_mime, _), (alone_mime, _)) =
        (message(ids[1].clone()).await, message(lone.clone()).await);
    let mime = app
        .get(&format!("/v1/outbox/{}", ids[1]))
        .await
        .bytes()
        .await
        .unwrap()
        .len();
    eprintln!(
        "{mime} bytes of MIME: {shared_mime} stored against the dictionary, {alone_mime} alone"
    );
    assert!(
        shared_mime * 5 < alone_mime,
        "{shared_mime} vs {alone_mime}"
    );
    // One body dictionary for the five; the outbox's (a sibling's message) one per worker.
    let shared_by_bodies = "SELECT COUNT(DISTINCT dictionary_id) FROM email_bodies";
    assert_eq!(count(&db, shared_by_bodies).await, 1);
    let shared_by_messages = "SELECT COUNT(DISTINCT dictionary_id) FROM outbox";
    assert!((1..=2).contains(&count(&db, shared_by_messages).await));
    db.close().await;
    app.stop().await;
}

#[tokio::test]
async fn attachments_are_stored_once_per_send_request() {
    let app = spawn_app().await;
    let to: Vec<String> = (0..4).map(|i| format!("a{i}@example.com")).collect();
    let ids = app
        .send(&json!({
            "to": to, "subject": "Invoice", "body": "<p>Attached</p>",
            "attachments": [{ "filename": "invoice.pdf", "content": "JVBERi0xLjQK", "contentType": "application/pdf" }],
        }))
        .await;
    for id in &ids {
        app.wait_status(id, "SENT").await;
        let (_, _, raw) = delivered(&app, id).await;
        let msg = MessageParser::default().parse(&raw[..]).unwrap();
        let part = msg.attachment(0).expect("the attachment is delivered");
        assert_eq!(part.attachment_name(), Some("invoice.pdf"));
        assert_eq!(part.contents(), b"%PDF-1.4\n");
    }
    let db = Db::connect(&app.db_url).await.unwrap();
    let sets = count(&db, "SELECT COUNT(*) FROM attachment_sets").await;
    assert_eq!(sets, 1);
    let in_rows = count(&db, "SELECT COUNT(*) FROM emails WHERE attachments <> '[]'").await;
    assert_eq!(in_rows, 0);
    db.close().await;
    app.stop().await;
}

#[tokio::test]
async fn the_wal_is_emptied_once_the_store_is_idle() {
    let app = spawn_app().await;
    let Some(path) = app.db_url.strip_prefix("sqlite://").map(str::to_string) else {
        return app.stop().await; // PostgreSQL keeps its own WAL
    };
    let to: Vec<String> = (0..30).map(|i| format!("w{i}@example.com")).collect();
    let ids = app
        .send(&json!({ "to": to, "subject": "News", "body": newsletter(100) }))
        .await;
    for id in &ids {
        app.wait_status(id, "SENT").await;
    }
    let wal = format!("{path}-wal");
    let mut size = u64::MAX;
    for _ in 0..100 {
        size = std::fs::metadata(&wal).map_or(0, |m| m.len());
        if size == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(size, 0, "the WAL kept {size} bytes while idle");
    app.stop().await;
}
