//! The dashboard in a real headless Chromium, driven over WebDriver (chromedriver + fantoccini):
//! first-run set-up and sign-in, a tracking mode that the next send follows, regenerated keys
//! that the API refuses, a real open and click on the contact's timeline, and an email preview
//! that records nothing. Screenshots of the main pages land in `target/dashboard-screenshots/`
//! (and in `$BEACON_SCREENSHOTS_DIR` when set: `docs/screenshots/` is made that way).
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

#[tokio::test]
async fn first_run_sign_in_and_a_tracking_mode_the_next_send_follows() {
    let _one = ONE_AT_A_TIME.lock().await;
    let Some(b) = chrome().await else { return };
    let app = spawn_app().await;
    b.go(&app.base).await;
    assert_eq!(b.path().await, "/setup");
    b.fill("#email", OWNER).await;
    b.fill("#password", PASSWORD).await;
    b.fill("#confirm", "not the same password").await;
    b.go_by("button[type=submit]").await;
    assert!(b.text("#confirm-error").await.contains("differ"));
    assert_eq!(
        b.css("#email")
            .await
            .prop("value")
            .await
            .unwrap()
            .as_deref(),
        Some(OWNER),
        "kept"
    );
    b.fill("#password", PASSWORD).await;
    b.fill("#confirm", PASSWORD).await;
    b.go_by("button[type=submit]").await;
    assert_eq!(b.text("h1").await, "Default project");
    let home = b.path().await;
    // Settings → Tracking: Disabled, saved; the next send is untracked.
    b.go_by("nav a[href$='/settings']").await;
    b.shot("settings-tracking").await;
    b.click("#mode-DISABLED").await;
    b.go_by("main form button[type=submit]").await;
    assert!(
        b.text("p.notice")
            .await
            .contains("applies from the next send")
    );
    let r: Value = app.post("/v1/send", &json!({ "to": "r@example.com", "subject": "s", "body": "<a href=\"https://example.com/\">x</a>" })).await.json().await.unwrap();
    let id = r["data"]["emails"][0]["email"].as_str().unwrap();
    assert_eq!(app.email(id).await["tracked"], false);
    // Sign out, a wrong password, then the right one.
    b.go_by("header form button").await;
    assert_eq!(b.path().await, "/login");
    b.fill("#email", OWNER).await;
    b.fill("#password", "wrong password!").await;
    b.go_by("button[type=submit]").await;
    assert!(
        b.text("#form-error")
            .await
            .contains("wrong email address or password")
    );
    b.fill("#password", PASSWORD).await;
    b.go_by("button[type=submit]").await;
    b.css(".stat").await;
    assert_eq!(b.path().await, home);
    b.close().await;
    app.stop().await;
}

#[tokio::test]
async fn keys_regenerated_in_the_browser_are_refused_by_the_api() {
    let _one = ONE_AT_A_TIME.lock().await;
    let Some(b) = chrome().await else { return };
    let app = spawn_app().await;
    b.set_up(&app).await;
    b.go_by("nav a[href$='/settings']").await;
    b.go_by(".subnav a[href$='/settings/keys']").await;
    assert!(
        !b.css("#secret-key").await.is_displayed().await.unwrap(),
        "masked until revealed"
    );
    b.click("#secret summary").await;
    assert_eq!(b.text("#secret-key").await, app.secret_key);
    b.shot("settings-keys").await;
    b.click("#confirm").await;
    b.go_by("form button.danger").await;
    assert!(b.text("p.notice").await.contains("no longer work"));
    b.click("#secret summary").await;
    let new_key = b.text("#secret-key").await;
    assert_ne!(new_key, app.secret_key);
    assert_eq!(app.get("/v1/project").await.status(), 401);
    let r = app
        .client
        .get(app.url("/v1/project"))
        .bearer_auth(&new_key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    b.close().await;
    app.stop().await;
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

#[tokio::test]
async fn a_real_open_and_click_appear_on_the_timeline_and_the_preview_records_nothing() {
    let _one = ONE_AT_A_TIME.lock().await;
    let Some(b) = chrome().await else { return };
    let relay = sink().await;
    let app = spawn_with(Opts {
        smtp: Some(relay.port()),
        ..Default::default()
    })
    .await;
    b.set_up(&app).await;
    // The link leads back to Beacon's own health page, so following it lands somewhere real.
    let destination = format!("{}/health?from=newsletter", app.base);
    let body = format!(
        "<html><body><h1>Autumn news</h1><p>Dear reader,</p><p><a href=\"{destination}\">Read more</a></p></body></html>"
    );
    for to in ["ada@example.com", "grace@example.com"] {
        let r = app
            .post(
                "/v1/send",
                &json!({ "to": to, "subject": "Autumn news", "body": body }),
            )
            .await;
        assert_eq!(r.status(), 200);
    }
    let delivered = relay.wait_for(2, Duration::from_secs(10)).await;
    let m = delivered
        .iter()
        .find(|m| m.rcpt_to == ["ada@example.com"])
        .unwrap();
    let html = delivered_html(&m.data);
    // The recipient's mail client loads the pixel; they click the link.
    b.go(&urls(&html, &format!("{}/o/", app.base))[0]).await;
    b.go(&urls(&html, &format!("{}/c/", app.base))[0]).await;
    assert_eq!(b.client.current_url().await.unwrap().as_str(), destination);
    // Grace's copy is fetched by Apple's privacy proxy: a machine open, flagged.
    let grace = delivered
        .iter()
        .find(|m| m.rcpt_to == ["grace@example.com"])
        .unwrap();
    let pixel = urls(&delivered_html(&grace.data), &format!("{}/o/", app.base))[0].clone();
    let r = app
        .client
        .get(&pixel)
        .header("user-agent", "Mozilla/5.0")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    app.settle().await;
    let before = app.get_json("/v1/stats").await["data"].clone();
    assert_eq!(
        (before["humanOpens"].clone(), before["machineOpens"].clone()),
        (json!(1), json!(1))
    );
    // Their contact page tells the story.
    b.go(&app.base).await;
    b.shot("home").await;
    b.go_by("nav a[href$='/contacts']").await;
    b.shot("contacts").await;
    let ada = b
        .client
        .find(Locator::LinkText("ada@example.com"))
        .await
        .unwrap();
    b.leave(ada).await;
    let timeline = b.text(".timeline").await;
    assert!(
        timeline.contains("Clicked") && timeline.contains("Opened") && timeline.contains("Sent"),
        "{timeline}"
    );
    assert!(timeline.contains(&destination), "{timeline}");
    let verdicts = b
        .client
        .find_all(Locator::Css(".timeline [data-verdict]"))
        .await
        .unwrap();
    assert_eq!(verdicts.len(), 2);
    for v in verdicts {
        assert_eq!(v.text().await.unwrap(), "person");
    }
    b.shot("contact").await;
    b.go_by(".timeline li[data-event='email.click'] a[href*='/emails/']")
        .await;
    b.css("iframe.preview").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    b.shot("email").await;
    // Grace's email, opened in the dashboard with its preview, records nothing.
    b.go_by("nav a[href$='/contacts']").await;
    let grace = b.css("tr[data-contact] a").await;
    assert_eq!(grace.text().await.unwrap(), "grace@example.com");
    b.leave(grace).await;
    b.go_by(".timeline li[data-event='email.sent'] a[href*='/emails/']")
        .await;
    b.css("iframe.preview").await.enter_frame().await.unwrap();
    let link = b.css("a").await;
    assert_eq!(
        link.attr("href").await.unwrap().as_deref(),
        Some(destination.as_str())
    );
    assert!(
        b.client
            .find_all(Locator::Css("img"))
            .await
            .unwrap()
            .is_empty(),
        "no pixel in the preview"
    );
    link.click().await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    b.client.enter_parent_frame().await.unwrap();
    app.settle().await;
    let after = app.get_json("/v1/stats").await["data"].clone();
    // Every count and link, not the window (`from`, `to`), which moves with the clock.
    let counts = |mut v: Value| {
        v.as_object_mut()
            .unwrap()
            .retain(|k, _| k != "from" && k != "to");
        v
    };
    assert_eq!(
        counts(before),
        counts(after),
        "the preview and a click in it recorded nothing"
    );
    b.close().await;
    app.stop().await;
}

#[tokio::test]
async fn a_campaign_made_in_the_browser_shows_a_real_open_and_click_in_its_results() {
    let _one = ONE_AT_A_TIME.lock().await;
    let Some(b) = chrome().await else { return };
    let relay = sink().await;
    let app = spawn_with(Opts {
        smtp: Some(relay.port()),
        ..Default::default()
    })
    .await;
    for (email, plan) in [
        ("ada@example.com", "pro"),
        ("grace@example.com", "pro"),
        ("alan@example.com", "free"),
    ] {
        let r = app
            .post(
                "/v1/contacts",
                &json!({ "email": email, "subscribed": true, "data": { "plan": plan } }),
            )
            .await;
        assert_eq!(r.status(), 201);
    }
    b.set_up(&app).await;
    // A segment of the pro plan, from the builder.
    b.go_by("nav a[href$='/segments']").await;
    b.go_by("a[href$='/segments/new']").await;
    b.fill("#name", "Pro plan").await;
    b.css("select[name=r0_kind]")
        .await
        .select_by_value("field")
        .await
        .unwrap();
    b.fill("input[name=r0_name]", "data.plan").await;
    b.css("select[name=r0_op]")
        .await
        .select_by_value("equals")
        .await
        .unwrap();
    b.fill("input[name=r0_value]", "pro").await;
    b.go_by("#segment-form button[type=submit]").await;
    assert_eq!(b.text("#live-count").await, "2 contacts match");
    // The campaign, to that segment, with a link back to Beacon's health page.
    let destination = format!("{}/health?from=campaign", app.base);
    b.go_by("nav a[href$='/campaigns']").await;
    b.go_by("a[href$='/campaigns/new']").await;
    b.fill("#name", "November news").await;
    b.fill("#subject", "November news").await;
    b.fill("#body", &format!("<h1>November</h1><p>Hello {{{{email}}}}</p><p><a href=\"{destination}\">Read on</a></p>")).await;
    b.click("input[name=audience][value=segment]").await;
    let segment = b.css("#segment").await;
    segment.select_by_label("Pro plan").await.unwrap();
    b.go_by("#draft button[type=submit]:not(#preview-button)")
        .await;
    assert!(b.text("#tracking-note").await.contains("tracked"));
    b.go_by("a[href$='/send']").await;
    assert_eq!(b.text("#recipients").await, "2");
    b.go_by("#confirm-send").await;
    let delivered = relay.wait_for(2, Duration::from_secs(20)).await;
    let ada = delivered
        .iter()
        .find(|m| m.rcpt_to == ["ada@example.com"])
        .unwrap();
    let html = delivered_html(&ada.data);
    b.go(&urls(&html, &format!("{}/o/", app.base))[0]).await;
    b.go(&urls(&html, &format!("{}/c/", app.base))[0]).await;
    assert_eq!(b.client.current_url().await.unwrap().as_str(), destination);
    app.settle().await;
    // The results: the funnel, the links table and the chart show them.
    b.go(&app.base).await;
    b.go_by("nav a[href$='/campaigns']").await;
    let campaign = b
        .client
        .find(Locator::LinkText("November news"))
        .await
        .unwrap();
    b.leave(campaign).await;
    let opened = b.text("#funnel tr[data-step='Opened']").await;
    assert!(opened.starts_with("Opened 1 50.0 %"), "{opened}");
    let link = b.text("#links tr[data-link='0']").await;
    assert!(
        link.contains(&destination) && link.contains("100.0 %"),
        "{link}"
    );
    assert!(
        b.css("svg.chart polyline.people-opens")
            .await
            .is_displayed()
            .await
            .unwrap()
    );
    b.shot("campaign").await;
    // Who clicked, and their CSV (fetched with the browser's own session).
    b.go_by("#links tr[data-link='0'] a").await;
    assert_eq!(b.text("#people td a").await, "ada@example.com");
    let csv_href = b
        .css("a[download]")
        .await
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    let session = b.client.get_named_cookie("beacon_session").await.unwrap();
    let csv = app
        .client
        .get(format!("{}{csv_href}", app.base))
        .header("cookie", format!("beacon_session={}", session.value()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(csv.contains("\r\nada@example.com,"), "{csv}");
    assert!(!csv.contains("grace@example.com"));
    b.go_by("nav a[href$='/analytics']").await;
    b.css("#heat").await;
    b.shot("analytics").await;
    b.close().await;
    app.stop().await;
}
