//! Reading links back from what was delivered.

use mail_parser::MessageParser;

use crate::helpers::TestApp;

/// The delivered message's HTML and text parts (from the outbox, MIME-decoded).
pub async fn delivered(app: &TestApp, email_id: &str) -> (String, String) {
    let raw = app
        .get(&format!("/v1/outbox/{email_id}"))
        .await
        .bytes()
        .await
        .unwrap();
    let message = MessageParser::default()
        .parse(&raw[..])
        .expect("a MIME message");
    let html = message.body_html(0).expect("an HTML part").into_owned();
    let text = message.body_text(0).expect("a text part").into_owned();
    (html, text)
}

/// The `href` of the tag marked `data-case="case"`, as written (quotes removed, no decoding).
pub fn href_of(html: &str, case: &str) -> String {
    let marker = format!("data-case=\"{case}\"");
    let at = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no {case} in {html}"));
    let start = html[..at].rfind('<').unwrap();
    let tag = &html[start..];
    let href = tag
        .find(" href=")
        .unwrap_or_else(|| panic!("{case}: no href"))
        + 6;
    let value = &tag[href..];
    match value.as_bytes()[0] {
        q @ (b'"' | b'\'') => value[1..].split(q as char).next().unwrap().to_string(),
        _ => value.split([' ', '>']).next().unwrap().to_string(),
    }
}

/// How many destinations are stored, straight from the database.
pub async fn stored_destinations(app: &TestApp) -> i64 {
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&app.db_url).await.unwrap();
    sqlx::query_scalar("SELECT COUNT(*) FROM link_destinations")
        .fetch_one(&mut conn)
        .await
        .unwrap()
}
