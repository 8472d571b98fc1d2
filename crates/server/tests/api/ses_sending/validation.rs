//! Validation, not silence: without a no-tracking set the provider engine refuses, with a 422
//! naming the missing setting, everything that would send untracked; `GET /v1/project` says
//! which modes are available; a stored mode that became unavailable refuses its untracked sends.

use beacon::config::{Security, SettingsArgs, TrackingEngine, Transport};
use beacon_mail::sink::SmtpSink;
use serde_json::{Value, json};

use super::{
    LINKS, NO_TRACKING_SET, TRACKING_SET, header, offers, provider, provider_tracking_only,
    spawn_ses, with_subject,
};
use crate::campaigns::create;
use crate::helpers::{Opts, spawn_with};
use crate::tracking::set_mode;
use crate::workflows::{all, template, track, until, workflow};

const MISSING: &str = "BEACON_SES_CONFIGURATION_SET_NO_TRACKING";

/// Asserts a 422 on `field` whose message names the missing setting; returns the message.
async fn refused(r: reqwest::Response, field: &str) -> String {
    let status = r.status();
    let body: Value = r.json().await.unwrap();
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["field"], field, "{body}");
    let message = body["message"].as_str().unwrap().to_string();
    assert!(message.contains(MISSING), "{message}");
    message
}

#[tokio::test]
async fn without_a_no_tracking_set_untracked_sends_and_modes_are_refused() {
    let sink = SmtpSink::start().await;
    let app = spawn_ses(&sink, provider_tracking_only).await;

    let project = offers(&app, "provider", &["ENABLED"]).await;
    let unavailable = project["unavailableModes"].as_object().unwrap();
    assert_eq!(
        unavailable.keys().collect::<Vec<_>>(),
        ["DISABLED", "MARKETING_ONLY"]
    );
    assert!(
        unavailable
            .values()
            .all(|v| v.as_str().unwrap().contains(MISSING))
    );

    for mode in ["MARKETING_ONLY", "DISABLED"] {
        let r = app.patch("/v1/project", &json!({ "tracking": mode })).await;
        assert!(refused(r, "tracking").await.contains(mode));
    }
    assert_eq!(
        app.get_json("/v1/project").await["data"]["tracking"],
        "ENABLED"
    );
    set_mode(&app, "ENABLED").await;

    let untracked =
        json!({ "to": "u@example.com", "subject": "no", "body": LINKS, "tracking": false });
    refused(app.post("/v1/send", &untracked).await, "tracking").await;
    // Beacon owns the set header: a custom one could pick a set behind the decision's back.
    for name in ["X-SES-CONFIGURATION-SET", "x-ses-message-tags"] {
        let body = json!({ "to": "u@example.com", "subject": "no", "body": LINKS, "headers": { name: "other" } });
        let r = app.post("/v1/send", &body).await;
        assert_eq!(r.status(), 422);
        let err: Value = r.json().await.unwrap();
        assert_eq!(err["field"], format!("headers.{name}"), "{err}");
    }
    let c = create(&app, json!({ "subject": "c" })).await;
    let path = format!("/v1/campaigns/{}/test", c["id"].as_str().unwrap());
    let r = app.post(&path, &json!({ "to": "t@example.com" })).await;
    assert!(refused(r, "tracking").await.contains("test send"));

    // What ENABLED tracks goes out through the tracking set; nothing refused was queued.
    app.send(&json!({ "to": "u@example.com", "subject": "yes", "body": LINKS }))
        .await;
    let m = with_subject(&sink, "yes").await.remove(0);
    assert_eq!(header(&m, "X-SES-CONFIGURATION-SET"), [TRACKING_SET]);
    assert_eq!(sink.messages().len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn a_stored_mode_that_became_unavailable_refuses_only_its_untracked_sends() {
    // DISABLED while Beacon tracked itself, then a restart with the provider engine and no
    // no-tracking set.
    let first = spawn_with(Opts::default()).await;
    set_mode(&first, "DISABLED").await;
    let db_url = first.db_url.clone();
    first.stop().await;
    let sink = SmtpSink::start().await;
    let app = spawn_with(Opts {
        smtp: Some(sink.port()),
        ses: true,
        db_url: Some(db_url),
        configure: Some(provider_tracking_only),
        ..Opts::default()
    })
    .await;
    let project = offers(&app, "provider", &["ENABLED"]).await;
    assert_eq!(project["tracking"], "DISABLED");

    // Not tracked against the mode, and not sent untracked-by-accident either: refused.
    let body = json!({ "to": "s@example.com", "subject": "plain", "body": LINKS });
    let message = refused(app.post("/v1/send", &body).await, "tracking").await;
    assert!(message.contains("DISABLED"), "{message}");
    let c = create(&app, json!({ "subject": "c" })).await;
    let path = format!("/v1/campaigns/{}/send", c["id"].as_str().unwrap());
    refused(app.post(&path, &json!({})).await, "tracking").await;
    assert_eq!(
        app.get_json(&format!("/v1/campaigns/{}", c["id"].as_str().unwrap()))
            .await["data"]["status"],
        "DRAFT"
    );
    let t = template(&app, "MARKETING", "wf", LINKS).await;
    let wf = workflow(
        &app,
        json!({ "name": "W", "trigger": { "event": "go" },
                "steps": [{ "id": "s", "type": "SEND_EMAIL", "template": t }] }),
    )
    .await;
    track(&app, "w@example.com", "go", json!({})).await;
    let list = until(&app, &wf, all("FAILED", 1)).await;
    let history = list[0]["history"].as_array().unwrap();
    let reason = history.last().unwrap()["detail"]["reason"]
        .as_str()
        .unwrap();
    assert!(reason.contains(MISSING), "{reason}");

    // An explicit "tracking": true is tracked under any mode: it goes out.
    let mut tracked = body.clone();
    tracked["tracking"] = json!(true);
    tracked["subject"] = json!("tracked");
    app.send(&tracked).await;
    let m = with_subject(&sink, "tracked").await.remove(0);
    assert_eq!(header(&m, "X-SES-CONFIGURATION-SET"), [TRACKING_SET]);

    // Back to an available mode, sends go out again.
    set_mode(&app, "ENABLED").await;
    app.send(&body).await;
    let m = with_subject(&sink, "plain").await.remove(0);
    assert_eq!(header(&m, "X-SES-CONFIGURATION-SET"), [TRACKING_SET]);
    app.stop().await;
}

#[tokio::test]
async fn with_a_no_tracking_set_every_mode_is_available() {
    let sink = SmtpSink::start().await;
    let app = spawn_ses(&sink, provider).await;
    offers(&app, "provider", &["ENABLED", "DISABLED", "MARKETING_ONLY"]).await;
    app.send(&json!({ "to": "n@example.com", "subject": "off", "body": LINKS, "tracking": false }))
        .await;
    let m = with_subject(&sink, "off").await.remove(0);
    assert_eq!(header(&m, "X-SES-CONFIGURATION-SET"), [NO_TRACKING_SET]);
    app.stop().await;
}

fn args(f: impl FnOnce(&mut SettingsArgs)) -> anyhow::Result<beacon::config::Settings> {
    let mut a = SettingsArgs::default();
    f(&mut a);
    a.resolve()
}

fn error(f: impl FnOnce(&mut SettingsArgs)) -> String {
    format!("{:#}", args(f).expect_err("settings should be refused"))
}

#[test]
fn invalid_engine_settings_fail_at_start_naming_the_setting() {
    let ses = |a: &mut SettingsArgs| {
        a.transport = Some("ses".into());
        a.smtp_host = Some("email-smtp.eu-west-1.amazonaws.com".into());
        a.tracking_engine = Some("provider".into());
    };
    let e = error(|a| ses(a));
    assert!(e.contains("needs BEACON_SES_CONFIGURATION_SET"), "{e}");
    let e = error(|a| {
        a.tracking_engine = Some("provider".into());
        a.ses_configuration_set = Some("t".into());
    });
    assert!(e.contains("BEACON_TRANSPORT=ses"), "{e}");
    let e = error(|a| a.ses_configuration_set_no_tracking = Some("n".into()));
    assert!(
        e.contains("BEACON_SES_CONFIGURATION_SET_NO_TRACKING is set")
            && e.contains("BEACON_TRACKING_ENGINE"),
        "{e}"
    );
    let e = error(|a| {
        ses(a);
        a.ses_configuration_set = Some("has space".into());
    });
    assert!(
        e.contains("BEACON_SES_CONFIGURATION_SET=\"has space\""),
        "{e}"
    );
    let e = error(|a| {
        ses(a);
        a.ses_configuration_set = Some("same".into());
        a.ses_configuration_set_no_tracking = Some("same".into());
    });
    assert!(e.contains("another set"), "{e}");
    let e = error(|a| a.tracking_engine = Some("ses".into()));
    assert!(e.contains("BEACON_TRACKING_ENGINE=\"ses\""), "{e}");
    let e = error(|a| a.transport = Some("ses".into()));
    assert!(e.contains("transport ses needs BEACON_SMTP_HOST"), "{e}");

    // SES's SMTP endpoint: STARTTLS on 587 unless told otherwise; the relay settings are shared.
    let s = args(|a| {
        ses(a);
        a.ses_configuration_set = Some("beacon-tracking".into());
        a.smtp_username = Some("AKIA".into());
    })
    .unwrap();
    let Transport::Ses(relay) = &s.transport else {
        panic!("{:?}", s.transport)
    };
    assert_eq!((relay.port, &relay.security), (587, &Security::StartTls));
    assert_eq!(relay.username.as_deref(), Some("AKIA"));
    assert_eq!(
        s.tracking_engine,
        TrackingEngine::Provider {
            tracking_set: "beacon-tracking".into(),
            no_tracking_set: None
        }
    );
    // A relay in front of SES (transport smtp) may carry the provider engine too.
    let s = args(|a| {
        ses(a);
        a.transport = Some("smtp".into());
        a.ses_configuration_set = Some("t".into());
        a.ses_configuration_set_no_tracking = Some("n".into());
    })
    .unwrap();
    assert!(matches!(s.transport, Transport::Smtp(_)));
    assert_eq!(s.tracking_engine.name(), "provider");
}

fn tracking_only_short_lease(s: &mut beacon::config::Settings) {
    provider_tracking_only(s);
    s.campaign_lease_ms = 300;
}

fn both_sets_short_lease(s: &mut beacon::config::Settings) {
    provider(s);
    s.campaign_lease_ms = 300;
}

#[tokio::test]
async fn a_campaign_scheduled_under_a_mode_that_became_unavailable_waits_until_it_is_fixed() {
    let first = spawn_with(Opts::default()).await;
    set_mode(&first, "DISABLED").await;
    crate::campaigns::contact(&first, "fan@example.com", true).await;
    let c = create(&first, json!({ "subject": "waits", "body": LINKS })).await;
    let id = c["id"].as_str().unwrap().to_string();
    let at = (chrono::Utc::now() + chrono::Duration::seconds(2))
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let r = first
        .post(
            &format!("/v1/campaigns/{id}/send"),
            &json!({ "scheduledAt": at }),
        )
        .await;
    assert_eq!(r.status(), 200);
    let db_url = first.db_url.clone();
    first.stop().await;

    let sink = SmtpSink::start().await;
    let opts = |configure: fn(&mut beacon::config::Settings)| Opts {
        smtp: Some(sink.port()),
        ses: true,
        db_url: Some(db_url.clone()),
        configure: Some(configure),
        ..Opts::default()
    };
    // No no-tracking set: the fan-out is refused, again each lease, and nothing goes out.
    let app = spawn_with(opts(tracking_only_short_lease)).await;
    let c = crate::campaigns::wait_campaign(&app, &id, "SENDING").await;
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let c2 = app.get_json(&format!("/v1/campaigns/{id}")).await["data"].clone();
    assert_eq!(
        (&c2["status"], &c2["recipients"]),
        (&json!("SENDING"), &json!(0)),
        "{c}"
    );
    assert!(sink.messages().is_empty());
    app.stop().await;

    // With the setting added, it goes out untracked, as its mode says.
    let app = spawn_with(opts(both_sets_short_lease)).await;
    crate::campaigns::wait_campaign(&app, &id, "SENT").await;
    let m = with_subject(&sink, "waits").await.remove(0);
    assert_eq!(header(&m, "X-SES-CONFIGURATION-SET"), [NO_TRACKING_SET]);
    app.stop().await;
}
