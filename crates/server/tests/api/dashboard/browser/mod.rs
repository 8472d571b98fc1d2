//! The dashboard in a real headless Chromium, driven over WebDriver (chromedriver + fantoccini):
//! first-run set-up and sign-in, a tracking mode that the next send follows, regenerated keys
//! that the API refuses, a real open and click on the contact's timeline, and an email preview
//! that records nothing. Screenshots of the main pages land in `target/dashboard-screenshots/`
//! (and in `$BEACON_SCREENSHOTS_DIR` when set: `docs/screenshots/` is made that way).
//!
//! The driver and what the tests share are here; the tests are in `account.rs` (set-up, sign-in,
//! tracking mode, keys), `timeline.rs` (a real open and click, the preview) and `campaign.rs`.
//!
//! Needs Debian's `chromium` and `chromium-driver` (`.ci/run` installs them). Without them these
//! tests say so and pass, unless `BEACON_REQUIRE_BROWSER=1` (set by `.ci/run`) makes that a
//! failure.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use tokio::sync::Mutex;

use super::{OWNER, PASSWORD};

mod account;
mod campaign;
mod timeline;
use crate::helpers::{Opts, TestApp, sink, spawn_app, spawn_with};

/// One browser at a time: each is a few hundred MB and the machine has two cores.
static ONE_AT_A_TIME: Mutex<()> = Mutex::const_new(());

struct Chrome {
    client: Client,
    driver: Child,
    _profile: TempDir,
}

struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Drop for Chrome {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn found(var: &str, default: &str) -> Option<PathBuf> {
    let path = PathBuf::from(std::env::var(var).unwrap_or_else(|_| default.to_string()));
    path.exists().then_some(path)
}

/// The browser's version, so the user agent it sends is an ordinary current Chrome's (headless
/// Chrome announces itself as `HeadlessChrome`, which Beacon rightly judges a machine).
fn chrome_version(chromium: &PathBuf) -> String {
    let out = Command::new(chromium).arg("--version").output().ok();
    out.and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| {
            s.split_whitespace()
                .find(|w| w.contains('.'))
                .map(str::to_string)
        })
        .unwrap_or_else(|| "131.0.0.0".to_string())
}

/// Starts chromedriver and a headless Chromium; `None` (with a note) when they are not
/// installed and not required.
async fn chrome() -> Option<Chrome> {
    let (Some(chromium), Some(chromedriver)) = (
        found("BEACON_CHROMIUM", "/usr/bin/chromium"),
        found("BEACON_CHROMEDRIVER", "/usr/bin/chromedriver"),
    ) else {
        if std::env::var("BEACON_REQUIRE_BROWSER").is_ok_and(|v| v == "1") {
            panic!(
                "BEACON_REQUIRE_BROWSER=1 but chromium or chromedriver is missing: apt-get install chromium chromium-driver"
            );
        }
        eprintln!(
            "skipped: no chromium/chromedriver (apt-get install chromium chromium-driver; .ci/run does)"
        );
        return None;
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let driver = Command::new(chromedriver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let url = format!("http://127.0.0.1:{port}");
    for _ in 0..100 {
        if reqwest::get(format!("{url}/status")).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let profile =
        std::env::temp_dir().join(format!("beacon-chrome-{}", uuid::Uuid::new_v4().simple()));
    let ua = format!(
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{} Safari/537.36",
        chrome_version(&chromium)
    );
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": chromium,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--window-size=1280,1400",
                format!("--user-data-dir={}", profile.display()),
                format!("--user-agent={ua}"),
            ],
        }),
    );
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    let client = ClientBuilder::new(connector)
        .capabilities(caps)
        .connect(&url)
        .await
        .expect("a Chromium session starts");
    Some(Chrome {
        client,
        driver,
        _profile: TempDir(profile),
    })
}

impl Chrome {
    async fn go(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("goto {url}: {e}"));
    }

    async fn css(&self, css: &str) -> fantoccini::elements::Element {
        let found = self
            .client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css(css))
            .await;
        match found {
            Ok(el) => el,
            Err(e) => {
                let at = self.client.current_url().await.ok();
                panic!("no {css} on {at:?}: {e}")
            }
        }
    }

    async fn text(&self, css: &str) -> String {
        self.css(css).await.text().await.unwrap()
    }

    async fn fill(&self, css: &str, value: &str) {
        let el = self.css(css).await;
        el.clear().await.unwrap();
        el.send_keys(value).await.unwrap();
    }

    async fn click(&self, css: &str) {
        self.css(css).await.click().await.unwrap();
    }

    /// Clicks something that loads a new page, and waits until that page has loaded: the old
    /// document is marked first, so an element of the page being left is never mistaken for
    /// one of the next.
    async fn go_by(&self, css: &str) {
        let el = self.css(css).await;
        self.leave(el).await;
    }

    async fn leave(&self, el: fantoccini::elements::Element) {
        let mark = "document.documentElement.setAttribute('data-left', '1')";
        self.client.execute(mark, vec![]).await.unwrap();
        el.click().await.unwrap();
        let loaded = "return document.readyState === 'complete' \
                      && !document.documentElement.hasAttribute('data-left')";
        for _ in 0..200 {
            if self.client.execute(loaded, vec![]).await.ok() == Some(Value::Bool(true)) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "no new page after the click, on {:?}",
            self.client.current_url().await.ok()
        );
    }

    async fn path(&self) -> String {
        self.client.current_url().await.unwrap().path().to_string()
    }

    /// Saves a screenshot of the current page as `name.png`.
    async fn shot(&self, name: &str) {
        let png = self.client.screenshot().await.unwrap();
        let mut dirs = vec![
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/dashboard-screenshots"),
        ];
        if let Ok(dir) = std::env::var("BEACON_SCREENSHOTS_DIR") {
            dirs.push(PathBuf::from(dir));
        }
        for dir in dirs {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join(format!("{name}.png")), &png).unwrap();
        }
    }

    /// Sets up the owner through the first-run page; lands on the default project's home.
    async fn set_up(&self, app: &TestApp) {
        self.go(&app.base).await;
        assert_eq!(self.path().await, "/setup");
        self.fill("#email", OWNER).await;
        self.fill("#password", PASSWORD).await;
        self.fill("#confirm", PASSWORD).await;
        self.go_by("button[type=submit]").await;
        self.css(".stat").await;
    }

    async fn close(self) {
        let Chrome { client, .. } = &self;
        let _ = client.clone().close().await;
    }
}

/// A server that delivers into a real SMTP sink, so a test reads what a recipient would get.
async fn app_with_sink() -> (beacon_mail::sink::SmtpSink, TestApp) {
    let relay = sink().await;
    let app = spawn_with(Opts {
        smtp: Some(relay.port()),
        ..Default::default()
    })
    .await;
    (relay, app)
}

/// The delivered message's HTML part, as a mail client shows it.
fn delivered_html(raw: &[u8]) -> String {
    let m = mail_parser::MessageParser::default()
        .parse(raw)
        .expect("a MIME message");
    m.body_html(0).expect("an HTML part").into_owned()
}

/// Every `src` or `href` in `html` under `prefix`, character references decoded.
fn urls(html: &str, prefix: &str) -> Vec<String> {
    html.match_indices(prefix)
        .map(|(at, _)| html[at..].split('"').next().unwrap().replace("&amp;", "&"))
        .collect()
}
