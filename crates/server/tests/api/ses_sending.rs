//! Sending with the `provider` tracking engine (Amazon SES configuration sets) through the `ses`
//! transport to a local SMTP sink: every mode × source × override names the right set, and
//! Beacon itself never rewrites a link or adds a pixel.

mod cli;
mod provider_id;
mod validation;

use std::time::Duration;

use beacon::config::{Settings, TrackingEngine};
use beacon_mail::sink::{ReceivedMessage, SmtpSink};
use serde_json::{Value, json};

use crate::campaigns::{contact, create, send_now};
use crate::helpers::{Opts, TestApp, spawn_with};
use crate::tracking::set_mode;
use crate::workflows::{template, track, workflow};

pub const TRACKING_SET: &str = "beacon-tracking";
pub const NO_TRACKING_SET: &str = "beacon-no-tracking";
const LINKS: &str = r#"<p>Hi</p><a href="https://example.com/pricing">Pricing</a>"#;

/// Provider engine with both sets, and SNS settings for the tests that post events.
pub fn provider(s: &mut Settings) {
    crate::sns::configure(s);
    s.tracking_engine = TrackingEngine::Provider {
        tracking_set: TRACKING_SET.into(),
        no_tracking_set: Some(NO_TRACKING_SET.into()),
    };
}

/// Provider engine without a no-tracking set: nothing untracked can be sent.
pub fn provider_tracking_only(s: &mut Settings) {
    crate::sns::configure(s);
    s.tracking_engine = TrackingEngine::Provider {
        tracking_set: TRACKING_SET.into(),
        no_tracking_set: None,
    };
}

/// Beacon delivering through the `ses` transport to `sink`.
pub async fn spawn_ses(sink: &SmtpSink, configure: fn(&mut Settings)) -> TestApp {
    spawn_with(Opts {
        smtp: Some(sink.port()),
        ses: true,
        configure: Some(configure),
        ..Opts::default()
    })
    .await
}

/// Asserts `GET /v1/project`'s engine and available modes; returns the project.
pub async fn offers(app: &TestApp, engine: &str, available: &[&str]) -> Value {
    let project = app.get_json("/v1/project").await["data"].clone();
    assert_eq!(project["trackingEngine"], engine, "{project}");
    assert_eq!(project["availableModes"], json!(available), "{project}");
    if available.len() == 3 {
        assert_eq!(project["unavailableModes"], json!({}), "{project}");
    }
    project
}

/// Every value of header `name` in a received message's header section, unfolded.
pub fn header(m: &ReceivedMessage, name: &str) -> Vec<String> {
    let text = String::from_utf8_lossy(&m.data);
    let head = text.split("\r\n\r\n").next().unwrap().replace("\r\n ", " ");
    head.split("\r\n")
        .filter_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
        })
        .collect()
}

/// The Beacon email id in a received message's `Message-ID: <id@domain>`.
pub fn email_id(m: &ReceivedMessage) -> String {
    let id = header(m, "Message-ID").remove(0);
    id.trim_start_matches('<')
        .split('@')
        .next()
        .unwrap()
        .to_string()
}

/// The received messages with this subject, once at least one has arrived.
async fn with_subject(sink: &SmtpSink, subject: &str) -> Vec<ReceivedMessage> {
    for _ in 0..200 {
        let got: Vec<_> = sink
            .messages()
            .into_iter()
            .filter(|m| header(m, "Subject") == [subject])
            .collect();
        if !got.is_empty() {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no message with subject {subject:?} reached the sink");
}

/// One row of the table: a send's subject and whether it is tracked under ENABLED,
/// MARKETING_ONLY and DISABLED; `marketing` sends carry Beacon's unsubscribe link.
struct Row {
    subject: &'static str,
    tracked: [bool; 3],
    marketing: bool,
}

const MODES: [&str; 3] = ["ENABLED", "MARKETING_ONLY", "DISABLED"];

#[rustfmt::skip]
const TABLE: &[Row] = &[
    // POST /v1/send is a transactional source whatever its template; the override wins.
    Row { subject: "send", tracked: [true, false, false], marketing: false },
    Row { subject: "send-tracking-true", tracked: [true, true, true], marketing: false },
    Row { subject: "send-tracking-false", tracked: [false, false, false], marketing: false },
    // Marketing content carries its unsubscribe link on /v1/send too (issue 14).
    Row { subject: "send-marketing-template", tracked: [true, false, false], marketing: true },
    // Campaigns: by type; a test send is never tracked.
    Row { subject: "campaign-marketing", tracked: [true, true, false], marketing: true },
    Row { subject: "campaign-transactional", tracked: [true, false, false], marketing: false },
    Row { subject: "[Test] campaign-marketing", tracked: [false, false, false], marketing: true },
    // Workflow steps: by template type (a TRANSACTIONAL one stays a transactional send).
    Row { subject: "workflow-marketing", tracked: [true, true, false], marketing: true },
    Row { subject: "workflow-headless", tracked: [true, true, false], marketing: true },
    Row { subject: "workflow-transactional", tracked: [true, false, false], marketing: false },
];

/// Sends one email of every row's kind under `mode`.
async fn send_every_kind(app: &TestApp) {
    let to = "reader@example.com";
    contact(app, to, true).await;
    for (subject, extra) in [
        ("send", json!({})),
        ("send-tracking-true", json!({ "tracking": true })),
        ("send-tracking-false", json!({ "tracking": false })),
    ] {
        let mut body = json!({ "to": to, "subject": subject, "body": LINKS });
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        app.send(&body).await;
    }
    let marketing = template(app, "MARKETING", "send-marketing-template", LINKS).await;
    app.send(&json!({ "to": to, "template": marketing })).await;

    for (subject, kind) in [
        ("campaign-marketing", "MARKETING"),
        ("campaign-transactional", "TRANSACTIONAL"),
    ] {
        let c = create(
            app,
            json!({ "subject": subject, "type": kind, "body": LINKS }),
        )
        .await;
        let id = c["id"].as_str().unwrap();
        if kind == "MARKETING" {
            let path = format!("/v1/campaigns/{id}/test");
            let r = app
                .post(&path, &json!({ "to": "tester@example.com" }))
                .await;
            assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
        }
        send_now(app, id).await;
    }

    let mut steps = Vec::new();
    for (n, kind) in ["MARKETING", "HEADLESS", "TRANSACTIONAL"]
        .iter()
        .enumerate()
    {
        let subject = format!("workflow-{}", kind.to_ascii_lowercase());
        let t = template(app, kind, &subject, LINKS).await;
        let mut step = json!({ "id": format!("s{n}"), "type": "SEND_EMAIL", "template": t });
        if n < 2 {
            step["next"] = json!(format!("s{}", n + 1));
        }
        steps.push(step);
    }
    workflow(
        app,
        json!({ "name": "All kinds", "trigger": { "event": "go" }, "steps": steps }),
    )
    .await;
    track(app, to, "go", json!({})).await;
}

/// Each delivered message names the set of its row's decision, is tagged with its email id,
/// and its email (as stored and delivered) has no pixel and no rewritten link.
async fn check_every_kind(app: &TestApp, sink: &SmtpSink, mode: usize) {
    for row in TABLE {
        let case = format!("{} under {}", row.subject, MODES[mode]);
        let tracked = row.tracked[mode];
        let set = if tracked {
            TRACKING_SET
        } else {
            NO_TRACKING_SET
        };
        for m in with_subject(sink, row.subject).await {
            let id = email_id(&m);
            assert_eq!(header(&m, "X-SES-CONFIGURATION-SET"), [set], "{case}");
            let tag = format!("beacon-email={id}");
            assert_eq!(header(&m, "X-SES-MESSAGE-TAGS"), [tag], "{case}");
            let email = app.email(&id).await;
            assert_eq!(email["tracked"], tracked, "{case}");
            assert_eq!(email["headers"]["X-SES-CONFIGURATION-SET"], set, "{case}");
            let html = email["html"].as_str().unwrap();
            for ours in ["/o/", "/c/"] {
                let url = format!("{}{ours}", app.base);
                assert!(
                    !html.contains(&url),
                    "{case}: Beacon rewrote {ours}: {html}"
                );
            }
            assert!(
                html.contains(r#"href="https://example.com/pricing""#),
                "{case}: {html}"
            );
            let unsubscribe = format!("{}/unsubscribe/", app.base);
            assert_eq!(html.contains(&unsubscribe), row.marketing, "{case}: {html}");
        }
    }
}

async fn every_kind_names_the_right_set(mode: usize) {
    let sink = SmtpSink::start().await;
    let app = spawn_ses(&sink, provider).await;
    set_mode(&app, MODES[mode]).await;
    send_every_kind(&app).await;
    check_every_kind(&app, &sink, mode).await;
    app.stop().await;
}

#[tokio::test]
async fn enabled_names_the_right_set_for_every_source_and_override() {
    every_kind_names_the_right_set(0).await;
}

#[tokio::test]
async fn marketing_only_names_the_right_set_for_every_source_and_override() {
    every_kind_names_the_right_set(1).await;
}

#[tokio::test]
async fn disabled_names_the_right_set_for_every_source_and_override() {
    every_kind_names_the_right_set(2).await;
}

#[tokio::test]
async fn the_builtin_engine_names_no_set_and_tracks_itself() {
    let sink = SmtpSink::start().await;
    let app = spawn_ses(&sink, |_| {}).await;
    offers(&app, "builtin", &["ENABLED", "DISABLED", "MARKETING_ONLY"]).await;
    app.send(&json!({ "to": "b@example.com", "subject": "builtin", "body": LINKS }))
        .await;
    let m = with_subject(&sink, "builtin").await.remove(0);
    assert!(header(&m, "X-SES-CONFIGURATION-SET").is_empty());
    assert!(header(&m, "X-SES-MESSAGE-TAGS").is_empty());
    let email = app.email(&email_id(&m)).await;
    assert_eq!(email["tracked"], true);
    assert!(
        email["html"]
            .as_str()
            .unwrap()
            .contains(&format!("{}/c/", app.base))
    );
    app.stop().await;
}
