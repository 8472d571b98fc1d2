//! SES's message id: the `ses` transport keeps the bare id from SES's `250 Ok <id>`, and a
//! signed SNS event naming it becomes the email's open. Through a relay in front of SES (the
//! `smtp` transport) the relay's reply is kept, and the email id tag finds the email instead.

use beacon_mail::sink::SmtpSink;
use serde_json::json;

use super::{LINKS, email_id, provider, spawn_ses, with_subject};
use crate::helpers::{Opts, TestApp, spawn_with};
use crate::sns::{FakeSns, names, notification, post, ses_event};

const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0";

/// Sends one email and returns it once SENT, with its contact id.
async fn sent(app: &TestApp, sink: &SmtpSink, subject: &str) -> (serde_json::Value, String) {
    app.send(&json!({ "to": "reader@example.com", "subject": subject, "body": LINKS }))
        .await;
    let id = email_id(&with_subject(sink, subject).await.remove(0));
    let email = app.wait_status(&id, "SENT").await;
    let contact = email["contact"].as_str().unwrap().to_string();
    (email, contact)
}

/// Posts a signed SES `Open` event and asserts it was applied.
async fn open(app: &TestApp, fake: &FakeSns, event: &serde_json::Value) {
    let r = post(app, &notification(fake, event, 2).to_string()).await;
    let status = r.status();
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["result"], "email.open", "{body}");
}

#[tokio::test]
async fn the_ses_transport_keeps_the_bare_ses_id_and_its_events_find_the_email() {
    let fake = FakeSns::start().await;
    let sink = SmtpSink::start().await;
    sink.set_accept_reply("250 Ok 0100018c-{id}-000000");
    let app = spawn_ses(&sink, provider).await;
    let (email, contact) = sent(&app, &sink, "first").await;
    assert_eq!(email["providerMessageId"], "0100018c-1-000000");

    let event = ses_event(
        "Open",
        "0100018c-1-000000",
        json!({ "userAgent": FIREFOX, "ipAddress": "198.51.100.4" }),
    );
    open(&app, &fake, &event).await;
    let e = app.email(email["id"].as_str().unwrap()).await;
    assert_eq!(e["status"], "OPENED");
    assert_eq!(e["opens"]["human"], 1);
    assert_eq!(names(&app.events(&contact).await)[0], "email.open");
    app.stop().await;
}

#[tokio::test]
async fn through_a_relay_the_email_id_tag_finds_the_email() {
    let fake = FakeSns::start().await;
    let sink = SmtpSink::start().await;
    let app = spawn_with(Opts {
        smtp: Some(sink.port()),
        configure: Some(provider),
        ..Opts::default()
    })
    .await;
    let (email, contact) = sent(&app, &sink, "relayed").await;
    // The relay's own reply: nothing in it is SES's id.
    assert_eq!(email["providerMessageId"], "250 2.0.0 Ok: queued as SINK1");

    let id = email["id"].as_str().unwrap();
    let mut event = ses_event(
        "Open",
        "0100018c-known-only-to-ses",
        json!({ "userAgent": FIREFOX, "ipAddress": "198.51.100.4" }),
    );
    event["mail"]["tags"] =
        json!({ "ses:configuration-set": ["beacon-tracking"], "beacon-email": [id] });
    open(&app, &fake, &event).await;
    assert_eq!(app.email(id).await["status"], "OPENED");
    assert_eq!(names(&app.events(&contact).await)[0], "email.open");

    // An event whose id and tag name nothing is not applied (SNS retries it later).
    let mut stray = ses_event("Open", "0100018c-unknown", json!({ "userAgent": FIREFOX }));
    stray["mail"]["tags"] = json!({ "beacon-email": ["01900000-0000-7000-8000-000000000000"] });
    let r = post(&app, &notification(&fake, &stray, 2).to_string()).await;
    assert_eq!(r.status(), 503);
    app.stop().await;
}
