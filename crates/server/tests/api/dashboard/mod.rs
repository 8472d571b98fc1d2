//! The dashboard, tested as its users meet it: pages fetched from a spawned Beacon with a
//! session cookie and parsed as HTML (`pages`, `access`, `forms`), and a real headless Chromium
//! driven over WebDriver (`browser`).

mod access;
mod analytics;
mod browser;
mod campaigns;
mod cli;
mod domains;
mod emails;
mod forms;
mod pages;
mod signin;
mod team;
mod templates;
mod workflows;

use reqwest::StatusCode;
use scraper::{Html, Selector};

use crate::helpers::TestApp;

pub const OWNER: &str = "owner@example.com";
pub const PASSWORD: &str = "correct horse battery";

/// A browser-like client: keeps cookies, does not follow redirects (tests look at them).
pub struct Visitor {
    pub base: String,
    pub client: reqwest::Client,
}

/// A fetched page: its status, where it redirects, and its parsed HTML.
pub struct Page {
    pub status: StatusCode,
    pub location: String,
    pub html: Html,
}

impl Page {
    /// The text of every element matching `css`, trimmed.
    pub fn texts(&self, css: &str) -> Vec<String> {
        let sel = Selector::parse(css).unwrap_or_else(|e| panic!("selector {css}: {e:?}"));
        self.html
            .select(&sel)
            .map(|e| {
                e.text()
                    .collect::<String>()
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect()
    }

    /// The text of the one element matching `css`.
    pub fn text(&self, css: &str) -> String {
        let all = self.texts(css);
        assert_eq!(all.len(), 1, "expected one {css}, found {all:?}");
        all.into_iter().next().unwrap()
    }

    /// An attribute of every element matching `css`.
    pub fn attrs(&self, css: &str, attr: &str) -> Vec<String> {
        let sel = Selector::parse(css).unwrap();
        self.html
            .select(&sel)
            .filter_map(|e| e.value().attr(attr).map(str::to_string))
            .collect()
    }

    pub fn has(&self, css: &str) -> bool {
        !self.texts(css).is_empty()
    }

    /// The id a create redirected to: `/p/{pid}/<things>/{id}?notice=…` → `{id}`.
    pub fn created_id(&self) -> String {
        let path = self.location.split('?').next().unwrap();
        path.split('/')
            .nth(4)
            .expect("a redirect to what was made")
            .to_string()
    }

    /// The CSRF token of the page's first form.
    pub fn csrf(&self) -> String {
        self.attrs("input[name=csrf]", "value")
            .into_iter()
            .next()
            .expect("the page has a form with a CSRF token")
    }
}

impl Visitor {
    pub fn new(app: &TestApp) -> Visitor {
        Visitor {
            base: app.base.clone(),
            client: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
        }
    }

    async fn read(r: reqwest::Response) -> Page {
        let status = r.status();
        let location = r
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        let body = r.text().await.unwrap();
        Page {
            status,
            location,
            html: Html::parse_document(&body),
        }
    }

    pub async fn get(&self, path: &str) -> Page {
        let r = self
            .client
            .get(format!("{}{path}", self.base))
            .header("accept", "text/html")
            .send()
            .await
            .unwrap();
        Self::read(r).await
    }

    /// GET, asserting 200.
    pub async fn page(&self, path: &str) -> Page {
        let p = self.get(path).await;
        assert_eq!(p.status, 200, "GET {path} → {} {}", p.status, p.location);
        p
    }

    /// Posts a form with `fields` (the CSRF token is added).
    pub async fn post(&self, path: &str, csrf: &str, fields: &[(&str, &str)]) -> Page {
        let mut form: Vec<(&str, &str)> = vec![("csrf", csrf)];
        form.extend_from_slice(fields);
        let r = self
            .client
            .post(format!("{}{path}", self.base))
            .form(&form)
            .send()
            .await
            .unwrap();
        Self::read(r).await
    }

    /// Fetches the form's page for its token, then posts to `action`.
    pub async fn submit(&self, form_page: &str, action: &str, fields: &[(&str, &str)]) -> Page {
        let csrf = self.page(form_page).await.csrf();
        self.post(action, &csrf, fields).await
    }
}

/// Creates the owner on the set-up page and returns their signed-in visitor and the default
/// project's id.
pub async fn owner(app: &TestApp) -> (Visitor, String) {
    let v = Visitor::new(app);
    let done = v
        .submit(
            "/setup",
            "/setup",
            &[
                ("email", OWNER),
                ("password", PASSWORD),
                ("confirm", PASSWORD),
            ],
        )
        .await;
    assert_eq!(
        done.status,
        303,
        "set-up failed: {:?}",
        done.texts(".field-error, .form-error")
    );
    let home = v.get("/").await;
    let pid = home
        .location
        .strip_prefix("/p/")
        .unwrap_or_else(|| panic!("/ should lead to a project, not {:?}", home.location))
        .to_string();
    (v, pid)
}

/// Adds `email` to the project as `role` on the Team page and accepts the invitation as them;
/// returns their signed-in visitor and user id.
pub async fn invite(
    app: &TestApp,
    by: &Visitor,
    pid: &str,
    email: &str,
    role: &str,
) -> (Visitor, String) {
    let team = format!("/p/{pid}/settings/team");
    let added = by
        .submit(&team, &team, &[("email", email), ("role", role)])
        .await;
    assert_eq!(
        added.status,
        200,
        "{:?}",
        added.texts(".field-error, .form-error")
    );
    let link = added.text("#invitation");
    // On this server, under its public URL (which a test may name differently).
    let path = link[link.find("/invite/").expect("an invitation link")..].to_string();
    let v = Visitor::new(app);
    let joined = v
        .submit(
            &path,
            &path,
            &[("password", PASSWORD), ("confirm", PASSWORD)],
        )
        .await;
    assert_eq!(
        joined.status,
        303,
        "{:?}",
        joined.texts(".field-error, .form-error")
    );
    let uid = by
        .page(&team)
        .await
        .attrs(&format!("tr[data-member='{email}'] select"), "id")
        .first()
        .map(|id| id.trim_start_matches("role-").to_string())
        .unwrap_or_default();
    (v, uid)
}
