//! `POST /webhooks/sns`: SES events through Amazon SNS. A local stand-in for Amazon serves a
//! signing certificate issued by the test's own CA (rcgen) and takes subscription confirmations;
//! notifications are signed with that certificate's key (SHA-1 for SignatureVersion 1, SHA-256
//! for 2) exactly as AWS documents the string to sign.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use base64::Engine;
use beacon::config::Settings;
use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::DecodePrivateKey;
use rsa::signature::{SignatureEncoding, Signer};
use serde_json::{Value, json};

use crate::helpers::{Opts, TestApp, spawn_with};

mod events;

pub const TOPIC: &str = "arn:aws:sns:eu-west-1:123456789012:beacon-ses";
/// An RSA key made for these tests only (`openssl genpkey -algorithm RSA`).
const KEY_PEM: &str = include_str!("sns_test_only_key.pem");

pub fn configure(s: &mut Settings) {
    s.sns_topic_arns = vec![
        TOPIC.into(),
        "arn:aws:sns:eu-west-1:123456789012:other".into(),
    ];
    s.sns_cert_host = "127.0.0.1".into();
    s.sns_allow_insecure_cert_url = true;
}

/// The stand-in for Amazon SNS, on 127.0.0.1: `/cert.pem` and `/confirm?…`, every request's
/// path and query recorded.
pub struct FakeSns {
    pub port: u16,
    pub requests: Arc<Mutex<Vec<String>>>,
}

impl FakeSns {
    pub async fn start() -> FakeSns {
        // A CA (ECDSA) issues the signing certificate for the RSA key, as Amazon's CA does.
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(rcgen::DnType::CommonName, "Beacon test CA");
        let issuer = rcgen::Issuer::new(ca, ca_key);
        let key = rcgen::KeyPair::from_pem_and_sign_algo(KEY_PEM, &rcgen::PKCS_RSA_SHA256).unwrap();
        let leaf = rcgen::CertificateParams::new(vec!["sns.eu-west-1.amazonaws.com".to_string()])
            .unwrap()
            .signed_by(&key, &issuer)
            .unwrap();
        let pem = leaf.pem();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let app = Router::new()
            .route("/cert.pem", get(move || async move { pem }))
            .route(
                "/confirm",
                get(|| async { "<ConfirmSubscriptionResponse/>" }),
            )
            .layer(axum::middleware::from_fn_with_state(
                requests.clone(),
                |State(log): State<Arc<Mutex<Vec<String>>>>,

                 req: axum::extract::Request,
                 next: axum::middleware::Next| async move {
                    log.lock().unwrap().push(req.uri().to_string());
                    next.run(req).await
                },
            ));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        FakeSns { port, requests }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn seen(&self, prefix: &str) -> usize {
        let log = self.requests.lock().unwrap();
        log.iter().filter(|r| r.starts_with(prefix)).count()
    }
}

/// AWS's string to sign, written again here independently of the server's.
fn string_to_sign(n: &Value) -> String {
    let names: &[&str] = if n["Type"] == "Notification" {
        &[
            "Message",
            "MessageId",
            "Subject",
            "Timestamp",
            "TopicArn",
            "Type",
        ]
    } else {
        &[
            "Message",
            "MessageId",
            "SubscribeURL",
            "Timestamp",
            "Token",
            "TopicArn",
            "Type",
        ]
    };
    let mut s = String::new();
    for name in names {
        if let Some(v) = n[*name].as_str() {
            s.push_str(&format!("{name}\n{v}\n"));
        }
    }
    s
}

/// Sets `Signature` for `SignatureVersion` in `n`.
pub fn sign(n: &mut Value) {
    let key = rsa::RsaPrivateKey::from_pkcs8_pem(KEY_PEM).unwrap();
    let text = string_to_sign(n);
    let sig = match n["SignatureVersion"].as_str().unwrap() {
        "1" => SigningKey::<sha1::Sha1>::new(key)
            .sign(text.as_bytes())
            .to_vec(),
        _ => SigningKey::<rsa::sha2::Sha256>::new(key)
            .sign(text.as_bytes())
            .to_vec(),
    };
    n["Signature"] = json!(base64::engine::general_purpose::STANDARD.encode(sig));
}

/// A signed notification carrying `message`.
pub fn notification(fake: &FakeSns, message: &Value, version: u8) -> Value {
    let mut n = json!({
        "Type": "Notification",
        "MessageId": uuid::Uuid::new_v4().to_string(),
        "TopicArn": TOPIC,
        "Message": message.to_string(),
        "Timestamp": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "SignatureVersion": version.to_string(),
        "SigningCertURL": fake.url("/cert.pem"),
        "UnsubscribeURL": fake.url("/unsubscribe"),
    });
    sign(&mut n);
    n
}

/// An SES event of `kind` about the email SES knows as `ses_id`.
pub fn ses_event(kind: &str, ses_id: &str, detail: Value) -> Value {
    let mut e = json!({
        "eventType": kind,
        "mail": { "messageId": ses_id, "source": "me@example.com", "destination": ["a@example.com"] },
    });
    e[kind.to_ascii_lowercase()] = detail;
    e
}

pub async fn post(app: &TestApp, body: &str) -> reqwest::Response {
    app.client
        .post(app.url("/webhooks/sns"))
        .header("content-type", "text/plain; charset=UTF-8")
        .header("x-amz-sns-message-type", "Notification")
        .body(body.to_string())
        .send()
        .await
        .unwrap()
}

/// Beacon with SNS settings, and one SENT email whose provider message id is `provider_id`.
/// Returns the app, the email id and its contact id.
pub async fn app_with_email(provider_id: &str) -> (TestApp, String, String) {
    let app = spawn_with(Opts {
        configure: Some(configure),
        ..Opts::default()
    })
    .await;
    let (id, contact) = add_email(&app, "reader@example.com", provider_id).await;
    (app, id, contact)
}

/// Sends one email to `to`, waits for SENT and gives it `provider_id` as SES would have.
pub async fn add_email(app: &TestApp, to: &str, provider_id: &str) -> (String, String) {
    let body = "<p>Hi <a href=\"https://example.com/x\">x</a></p>";
    let ids = app
        .send(&json!({ "to": to, "subject": "Hi", "body": body }))
        .await;
    let email = app.wait_status(&ids[0], "SENT").await;
    sql(
        app,
        "UPDATE emails SET provider_message_id = $1 WHERE id = $2",
        &[provider_id, &ids[0]],
    )
    .await;
    (
        ids[0].clone(),
        email["contact"].as_str().unwrap().to_string(),
    )
}

pub async fn sql(app: &TestApp, statement: &'static str, args: &[&str]) {
    let db = beacon::store::Db::connect(&app.db_url).await.unwrap();
    let mut q = sqlx::query(statement);
    for a in args {
        q = q.bind(a.to_string());
    }
    q.execute(&db.write).await.unwrap();
    db.close().await;
}

/// Rows in `sns_messages` (what Beacon remembers as processed).
pub async fn remembered(app: &TestApp) -> i64 {
    let db = beacon::store::Db::connect(&app.db_url).await.unwrap();
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sns_messages")
        .fetch_one(&db.read)
        .await
        .unwrap();
    db.close().await;
    n
}

pub fn names(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["name"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn a_subscription_is_confirmed_by_fetching_its_subscribe_url() {
    let fake = FakeSns::start().await;
    let (app, _, _) = app_with_email("ses-1").await;
    let mut n = json!({
        "Type": "SubscriptionConfirmation",
        "MessageId": uuid::Uuid::new_v4().to_string(),
        "Token": "2336412f37fb687f5d51e6e2425c464d",
        "TopicArn": TOPIC,
        "Message": format!("You have chosen to subscribe to the topic {TOPIC}.\nTo confirm the subscription, visit the SubscribeURL included in this message."),
        "SubscribeURL": fake.url("/confirm?Action=ConfirmSubscription&Token=2336412f"),
        "Timestamp": "2026-11-23T20:45:04.751Z",
        "SignatureVersion": "1",
        "SigningCertURL": fake.url("/cert.pem"),
    });
    sign(&mut n);
    let r = post(&app, &n.to_string()).await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    assert_eq!(
        fake.seen("/confirm?Action=ConfirmSubscription&Token=2336412f"),
        1
    );

    // A subscribe URL off the allowed host is never fetched, even when signed.
    n["SubscribeURL"] = json!(format!("http://localhost:{}/confirm?evil", fake.port));
    sign(&mut n);
    let r = post(&app, &n.to_string()).await;
    assert_eq!(r.status(), 403);
    assert_eq!(fake.seen("/confirm?evil"), 0);
    app.stop().await;
}

#[tokio::test]
async fn open_and_click_count_like_beacons_own_hits_with_both_signature_versions() {
    let fake = FakeSns::start().await;
    let (app, id, contact) = app_with_email("0100018c-ses-open").await;
    let at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let ua =
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)";
    let open = ses_event(
        "Open",
        "0100018c-ses-open",
        json!({ "ipAddress": "203.0.113.77", "userAgent": ua, "timestamp": at }),
    );
    let r = post(&app, &notification(&fake, &open, 1).to_string()).await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let click = ses_event(
        "Click",
        "0100018c-ses-open",
        json!({ "ipAddress": "203.0.113.77", "userAgent": ua, "link": "https://example.com/x",
                "linkTags": { "campaign": ["autumn"], "area": ["header", "top"] } }),
    );
    let r = post(&app, &notification(&fake, &click, 2).to_string()).await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    // Apple's proxy opening the mail is a machine, as with Beacon's own pixel.
    let proxy = ses_event(
        "Open",
        "0100018c-ses-open",
        json!({ "ipAddress": "17.58.0.1", "userAgent": "Mozilla/5.0" }),
    );
    let r = post(&app, &notification(&fake, &proxy, 2).to_string()).await;
    assert_eq!(r.status(), 200);

    let e = app.email(&id).await;
    assert_eq!(e["status"], "CLICKED");
    assert_eq!(e["opens"]["human"], 1, "{e}");
    assert_eq!(e["opens"]["machine"], 1, "{e}");
    assert_eq!(e["clicks"]["human"], 1, "{e}");
    assert_eq!(e["openedAt"], json!(at), "SES's time of the open");
    let events = app.events(&contact).await;
    let click = events.iter().find(|e| e["name"] == "email.click").unwrap();
    assert_eq!(click["data"]["link"], "https://example.com/x");
    assert_eq!(
        click["data"]["linkTag"], "header",
        "first value of the first tag name"
    );
    assert_eq!(click["data"]["ip"], "203.0.113.0");
    let opens: Vec<&Value> = events
        .iter()
        .filter(|e| e["name"] == "email.open")
        .collect();
    assert_eq!(opens.len(), 2);
    assert_eq!(opens[0]["data"]["machine"], "apple_mpp");
    assert_eq!(opens[1]["data"]["machine"], Value::Null);
    assert_eq!(opens[1]["data"]["userAgent"], ua);
    app.stop().await;
}
