//! Reading links back from what was delivered.

use mail_parser::MessageParser;

use crate::helpers::TestApp;
use crate::tracking::BROWSER;

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

/// Follows a link once as a browser would, without waiting for the hit to be recorded.
pub async fn follow(app: &TestApp, href: &str) -> reqwest::Response {
    let r = app.client.get(href).header("user-agent", BROWSER);
    r.send().await.unwrap()
}

/// Where a tracked link redirects (asserting a 302).
pub async fn location(app: &TestApp, href: &str) -> String {
    let r = follow(app, href).await;
    assert_eq!(r.status(), 302, "{href}");
    r.headers()["location"].to_str().unwrap().to_string()
}

/// Sends an existing campaign to newly added subscribers `to` and waits for their messages;
/// returns each recipient with the delivered HTML.
pub async fn run_campaign(app: &TestApp, id: &str, to: &[&str]) -> Vec<(String, String)> {
    for address in to {
        let contact = serde_json::json!({ "email": address, "subscribed": true });
        app.post("/v1/contacts", &contact).await;
    }
    let send = format!("/v1/campaigns/{id}/send");
    let sent = app.post(&send, &serde_json::json!({})).await;
    assert_eq!(sent.status(), 200);
    let mut got = Vec::new();
    for _ in 0..200 {
        let outbox = app.get_json("/v1/outbox").await["data"].clone();
        got = to
            .iter()
            .filter_map(|address| {
                let head = format!("To: <{address}>");
                let m = outbox
                    .as_array()?
                    .iter()
                    .find(|m| m["message"].as_str().is_some_and(|raw| raw.contains(&head)))?;
                Some((address.to_string(), m["email"].as_str()?.to_string()))
            })
            .collect();
        if got.len() == to.len() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(got.len(), to.len(), "delivered to all of {to:?}");
    let mut out = Vec::new();
    for (address, email) in got {
        out.push((address, delivered(app, &email).await.0));
    }
    out
}
