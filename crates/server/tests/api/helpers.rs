//! `spawn_app()`: Beacon on 127.0.0.1:0 with a fresh database, and a client for its API.

use std::time::Duration;

use beacon::config::{Security, Settings, SmtpSettings, Transport};
use beacon::startup::Application;
use beacon::store::projects;
use beacon_mail::sink::SmtpSink;
use serde_json::Value;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub struct TestApp {
    pub base: String,
    pub db_url: String,
    pub secret_key: String,
    pub public_key: String,
    pub client: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<anyhow::Result<()>>>,
}

/// Options for [`spawn_with`].
#[derive(Default)]
pub struct Opts {
    /// Deliver through SMTP to this sink instead of the outbox.
    pub smtp: Option<u16>,
    /// With `smtp`: use the `ses` transport (SES's SMTP interface) instead of `smtp`.
    pub ses: bool,
    /// Reuse a database (for restart tests).
    pub db_url: Option<String>,
    pub max_attempts: Option<i64>,
    /// Judge hits this soon after sending as machine (tests default to 0: no such rule).
    pub machine_min_secs: Option<f64>,
    /// Any other setting.
    pub configure: Option<fn(&mut Settings)>,
    /// `BEACON_DNS_SERVER` (a `dns::DnsFixture`'s address).
    pub dns_server: Option<std::net::SocketAddr>,
    /// `BEACON_PUBLIC_URL` (requests still go to 127.0.0.1, which is Beacon's own host).
    pub public_url: Option<String>,
}

pub async fn spawn_app() -> TestApp {
    spawn_with(Opts::default()).await
}

pub async fn spawn_with(opts: Opts) -> TestApp {
    let db_url = match opts.db_url {
        Some(u) => u,
        None => fresh_database().await,
    };
    let mut settings = Settings::for_tests(&db_url);
    settings.retry_base_ms = 100;
    settings.machine_min_secs = opts.machine_min_secs.unwrap_or(0.0);
    // Tests stand in for clients at other addresses (Apple's proxies) through a trusted proxy.
    settings.trust_forwarded_for = true;
    // No test asks a nameserver outside: without a fixture, lookups go to a closed local port.
    settings.dns_server = opts
        .dns_server
        .or_else(|| Some("127.0.0.1:9".parse().unwrap()));
    if let Some(url) = opts.public_url {
        settings.public_url = Some(url);
    }
    if let Some(configure) = opts.configure {
        configure(&mut settings);
    }
    if let Some(n) = opts.max_attempts {
        settings.max_attempts = n;
    }
    if let Some(port) = opts.smtp {
        let relay = SmtpSettings {
            host: "127.0.0.1".into(),
            port,
            security: Security::Plain,
            username: None,
            password: None,
            pool: 2,
        };
        settings.transport = if opts.ses {
            Transport::Ses(relay)
        } else {
            Transport::Smtp(relay)
        };
    }
    let app = Application::build(settings).await.expect("app builds");
    let port = app.port();
    let project = projects::list(&app.state().db).await.unwrap().remove(0);
    let (stop, stopped) = oneshot::channel::<()>();
    let handle = tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    TestApp {
        base: format!("http://127.0.0.1:{port}"),
        db_url,
        secret_key: project.secret_key,
        public_key: project.public_key,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        stop: Some(stop),
        handle: Some(handle),
    }
}

/// A new SQLite file in the temp dir, or a new database on the PostgreSQL server named by
/// BEACON_TEST_DATABASE_URL.
pub async fn fresh_database() -> String {
    let name = format!("beacon_test_{}", uuid::Uuid::new_v4().simple());
    match std::env::var("BEACON_TEST_DATABASE_URL") {
        Ok(base) if !base.is_empty() => {
            use sqlx::Connection;
            sqlx::any::install_default_drivers();
            let mut conn = sqlx::AnyConnection::connect(&base)
                .await
                .expect("connect to BEACON_TEST_DATABASE_URL");
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&mut conn)
                .await
                .unwrap();
            let (prefix, _) = base.rsplit_once('/').expect("database URL has a path");
            format!("{prefix}/{name}")
        }
        _ => format!(
            "sqlite://{}",
            std::env::temp_dir().join(format!("{name}.db")).display()
        ),
    }
}

impl TestApp {
    /// Graceful stop: in-flight work finishes, the store is closed.
    pub async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(h) = self.handle.take() {
            h.await.unwrap().unwrap();
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn post(&self, path: &str, body: &Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .bearer_auth(&self.secret_key)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn patch(&self, path: &str, body: &Value) -> reqwest::Response {
        self.client
            .patch(self.url(path))
            .bearer_auth(&self.secret_key)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .bearer_auth(&self.secret_key)
            .send()
            .await
            .unwrap()
    }

    pub async fn delete(&self, path: &str) -> reqwest::Response {
        self.client
            .delete(self.url(path))
            .bearer_auth(&self.secret_key)
            .send()
            .await
            .unwrap()
    }

    /// GET returning JSON, asserting 200.
    pub async fn get_json(&self, path: &str) -> Value {
        let r = self.get(path).await;
        let status = r.status();
        let body: Value = r.json().await.unwrap();
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }

    /// `POST /v1/send`, asserting 200; returns the email ids.
    pub async fn send(&self, body: &Value) -> Vec<String> {
        let r = self.post("/v1/send", body).await;
        let status = r.status();
        let answer: Value = r.json().await.unwrap();
        assert_eq!(status, 200, "send failed: {answer}");
        answer["data"]["emails"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["email"].as_str().unwrap().to_string())
            .collect()
    }

    pub async fn email(&self, id: &str) -> Value {
        self.get_json(&format!("/v1/emails/{id}")).await["data"].clone()
    }

    /// Polls until the email reaches `status` (or panics after 10 s).
    pub async fn wait_status(&self, id: &str, status: &str) -> Value {
        for _ in 0..200 {
            let e = self.email(id).await;
            if e["status"] == status {
                return e;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("email {id} never became {status}: {}", self.email(id).await);
    }

    /// The contact's events, newest first.
    /// One value from `/metrics`.
    pub async fn metric(&self, name: &str) -> i64 {
        let text = self
            .client
            .get(self.url("/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{name} ")))
            .unwrap_or_else(|| panic!("no metric {name}"))
            .parse()
            .unwrap()
    }

    /// Waits until every answered open and click is folded into counters and events (the
    /// tracking backlog is empty, per `/metrics`), or panics after 10 s.
    pub async fn settle(&self) {
        for _ in 0..1000 {
            if self.metric("beacon_tracking_hits_pending").await == 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("the tracking backlog did not empty");
    }

    pub async fn events(&self, contact_id: &str) -> Vec<Value> {
        self.get_json(&format!("/v1/contacts/{contact_id}/events"))
            .await["data"]
            .as_array()
            .unwrap()
            .clone()
    }

    /// The contact's newest event of that name (`events` lists newest first).
    pub async fn event(&self, contact_id: &str, name: &str) -> Value {
        self.events(contact_id)
            .await
            .into_iter()
            .find(|e| e["name"] == name)
            .unwrap_or_else(|| panic!("no {name} event on contact {contact_id}"))
    }
}

pub async fn sink() -> SmtpSink {
    SmtpSink::start().await
}
