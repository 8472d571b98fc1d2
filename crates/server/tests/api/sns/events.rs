//! Delivery, bounces and complaints from SES, and what must change nothing: forged, replayed,
//! unknown-topic, off-host and not-yet-stored notifications.

use serde_json::{Value, json};

use super::{
    FakeSns, add_email, app_with_email, names, notification, post, remembered, ses_event, sign,
};

async fn status_of(r: reqwest::Response) -> (u16, Value) {
    let status = r.status().as_u16();
    (status, r.json().await.unwrap())
}

#[tokio::test]
async fn delivery_moves_sent_forward_and_never_downgrades() {
    let fake = FakeSns::start().await;
    // Stored as the `smtp` transport stores SES's SMTP reply; the event names the bare id.
    let (app, id, contact) = app_with_email("250 Ok 0100018c-delivered").await;
    let at = (chrono::Utc::now() - chrono::Duration::seconds(1))
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let delivery = ses_event(
        "Delivery",
        "0100018c-delivered",
        json!({ "timestamp": at, "smtpResponse": "250 ok" }),
    );
    let (status, body) =
        status_of(post(&app, &notification(&fake, &delivery, 2).to_string()).await).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["result"], "email.delivered");
    let e = app.email(&id).await;
    assert_eq!(e["status"], "DELIVERED");
    assert_eq!(e["deliveredAt"], json!(at));
    let events = app.events(&contact).await;
    assert_eq!(names(&events)[0], "email.delivered");
    assert_eq!(events[0]["data"]["emailId"], json!(id));
    assert_eq!(events[0]["data"]["provider"], "ses");

    // A second email, opened before its delivery report comes: OPENED stays.
    let (id2, _) = add_email(&app, "second@example.com", "0100018c-opened").await;
    let open = ses_event(
        "Open",
        "0100018c-opened",
        json!({ "userAgent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0", "ipAddress": "198.51.100.4" }),
    );
    assert_eq!(
        post(&app, &notification(&fake, &open, 1).to_string())
            .await
            .status(),
        200
    );
    let delivery = ses_event("Delivery", "0100018c-opened", json!({ "timestamp": at }));
    assert_eq!(
        post(&app, &notification(&fake, &delivery, 1).to_string())
            .await
            .status(),
        200
    );
    let e = app.email(&id2).await;
    assert_eq!(e["status"], "OPENED");
    assert_eq!(e["deliveredAt"], json!(at));

    let stats = app.get_json("/v1/stats").await;
    assert_eq!(stats["data"]["delivered"], 2, "{stats}");
    app.stop().await;
}

#[tokio::test]
async fn permanent_bounces_and_complaints_unsubscribe_the_contact() {
    let fake = FakeSns::start().await;
    let (app, _, contact) = app_with_email("0100018c-bounced").await;
    let r = app
        .patch(
            &format!("/v1/contacts/{contact}"),
            &json!({ "subscribed": true }),
        )
        .await;
    assert_eq!(r.status(), 200);

    // A transient bounce is acknowledged and changes nothing.
    let soft = ses_event(
        "Bounce",
        "0100018c-bounced",
        json!({ "bounceType": "Transient", "bounceSubType": "MailboxFull" }),
    );
    let (status, body) =
        status_of(post(&app, &notification(&fake, &soft, 2).to_string()).await).await;
    assert_eq!(
        (status, body["data"]["result"].as_str()),
        (200, Some("ignored"))
    );
    assert!(!names(&app.events(&contact).await).contains(&"email.bounced"));

    let hard = ses_event(
        "Bounce",
        "0100018c-bounced",
        json!({ "bounceType": "Permanent", "bounceSubType": "General" }),
    );
    assert_eq!(
        post(&app, &notification(&fake, &hard, 2).to_string())
            .await
            .status(),
        200
    );
    let c = app.get_json(&format!("/v1/contacts/{contact}")).await;
    assert_eq!(c["data"]["subscribed"], false);
    let events = app.events(&contact).await;
    assert_eq!(
        names(&events)[..2],
        ["contact.unsubscribed", "email.bounced"]
    );
    assert_eq!(events[1]["data"]["bounceType"], "Permanent");
    assert_eq!(events[0]["data"]["reason"], "bounce");

    // A complaint from another recipient.
    let (_, other) = add_email(&app, "angry@example.com", "0100018c-complained").await;
    app.patch(
        &format!("/v1/contacts/{other}"),
        &json!({ "subscribed": true }),
    )
    .await;
    let complaint = ses_event(
        "Complaint",
        "0100018c-complained",
        json!({ "complaintFeedbackType": "abuse" }),
    );
    assert_eq!(
        post(&app, &notification(&fake, &complaint, 1).to_string())
            .await
            .status(),
        200
    );
    let c = app.get_json(&format!("/v1/contacts/{other}")).await;
    assert_eq!(c["data"]["subscribed"], false);
    let events = app.events(&other).await;
    assert_eq!(
        names(&events)[..2],
        ["contact.unsubscribed", "email.complained"]
    );
    assert_eq!(events[1]["data"]["complaintFeedbackType"], "abuse");
    app.stop().await;
}

#[tokio::test]
async fn the_same_notification_twice_changes_nothing_the_second_time() {
    let fake = FakeSns::start().await;
    let (app, id, contact) = app_with_email("0100018c-replayed").await;
    let click = ses_event(
        "Click",
        "0100018c-replayed",
        json!({ "link": "https://example.com/x", "userAgent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0" }),
    );
    let n = notification(&fake, &click, 2).to_string();
    assert_eq!(post(&app, &n).await.status(), 200);
    let before = (app.email(&id).await, app.events(&contact).await.len());
    let (status, body) = status_of(post(&app, &n).await).await;
    assert_eq!(
        (status, body["data"]["result"].as_str()),
        (200, Some("duplicate"))
    );
    let after = (app.email(&id).await, app.events(&contact).await.len());
    assert_eq!(before, after);
    assert_eq!(after.0["clicks"]["human"], 1);
    assert_eq!(remembered(&app).await, 1);
    // The certificate was fetched once and then kept.
    assert_eq!(fake.seen("/cert.pem"), 1);
    app.stop().await;
}

#[tokio::test]
async fn an_event_for_an_email_not_yet_stored_is_retried_by_sns() {
    let fake = FakeSns::start().await;
    let (app, id, _) = app_with_email("someone-else").await;
    let open = ses_event(
        "Open",
        "0100018c-not-yet",
        json!({ "userAgent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0" }),
    );
    let n = notification(&fake, &open, 2).to_string();
    assert_eq!(post(&app, &n).await.status(), 503);
    assert_eq!(remembered(&app).await, 0);
    // The send's hand-off commits; SNS's retry of the same notification then counts.
    super::sql(
        &app,
        "UPDATE emails SET provider_message_id = $1 WHERE id = $2",
        &["0100018c-not-yet", &id],
    )
    .await;
    assert_eq!(post(&app, &n).await.status(), 200);
    assert_eq!(app.email(&id).await["opens"]["human"], 1);
    app.stop().await;
}

#[tokio::test]
async fn forged_unknown_topic_off_host_and_malformed_are_refused_and_record_nothing() {
    let fake = FakeSns::start().await;
    let (app, id, contact) = app_with_email("0100018c-target").await;
    let before = (app.email(&id).await, app.events(&contact).await.len());
    let click = ses_event(
        "Click",
        "0100018c-target",
        json!({ "link": "https://example.com/x", "userAgent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0" }),
    );

    // Forged: the message changed after signing, or a signature from another notification.
    let mut forged = notification(&fake, &click, 2);
    forged["Message"] = json!(forged["Message"].as_str().unwrap().replace("/x", "/phish"));
    assert_eq!(post(&app, &forged.to_string()).await.status(), 403);
    let mut swapped = notification(&fake, &click, 1);
    swapped["Signature"] = notification(&fake, &click, 1)["Signature"].clone();
    assert_eq!(post(&app, &swapped.to_string()).await.status(), 403);
    // Signed with SHA-1 but claiming version 2.
    let mut version = notification(&fake, &click, 1);
    version["SignatureVersion"] = json!("2");
    assert_eq!(post(&app, &version.to_string()).await.status(), 403);
    let fetched = fake.seen("/cert.pem");

    // An unknown topic is refused before any certificate is fetched.
    let mut topic = notification(&fake, &click, 2);
    topic["TopicArn"] = json!("arn:aws:sns:eu-west-1:999999999999:not-ours");
    sign(&mut topic);
    let (status, body) = status_of(post(&app, &topic.to_string()).await).await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("BEACON_SNS_TOPIC_ARNS")
    );

    // A certificate URL off the allowed host (or not http(s)) is never fetched.
    for url in [
        format!("http://localhost:{}/cert.pem?offhost", fake.port),
        format!(
            "http://127.0.0.1.evil.example:{}/cert.pem?offhost",
            fake.port
        ),
        format!("http://user@127.0.0.1:{}/cert.pem?offhost", fake.port),
        format!("ftp://127.0.0.1:{}/cert.pem?offhost", fake.port),
    ] {
        let mut n = notification(&fake, &click, 2);
        n["SigningCertURL"] = json!(url);
        sign(&mut n);
        let (status, body) = status_of(post(&app, &n.to_string()).await).await;
        assert_eq!(status, 403, "{url}: {body}");
    }
    assert_eq!(
        fake.seen("/cert.pem"),
        fetched,
        "nothing fetched off the allowed host"
    );

    // Malformed bodies.
    for body in [
        "not json".to_string(),
        json!({ "Type": "Notification" }).to_string(),
        json!({ "Type": "Weird", "MessageId": "x" }).to_string(),
    ] {
        assert_eq!(post(&app, &body).await.status(), 400, "{body}");
    }
    // A genuine signature over a Message that is not an SES event.
    let n = notification(&fake, &json!("hello"), 2);
    assert_eq!(post(&app, &n.to_string()).await.status(), 400);

    let after = (app.email(&id).await, app.events(&contact).await.len());
    assert_eq!(before, after);
    assert_eq!(remembered(&app).await, 0);
    app.stop().await;
}
