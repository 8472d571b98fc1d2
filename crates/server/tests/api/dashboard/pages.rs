//! Pages as a signed-in user sees them: set-up and sign-in, the numbers, contacts, activity,
//! an email, and settings, each checked against what the API says.

use serde_json::{Value, json};

use super::{OWNER, PASSWORD, Visitor, owner};
use crate::helpers::spawn_app;
use crate::tracking::{BROWSER, hit, send_one, tracking_urls};

#[tokio::test]
async fn first_start_offers_set_up_once_then_sign_in() {
    let app = spawn_app().await;
    let v = Visitor::new(&app);
    assert_eq!(v.get("/").await.location, "/setup");
    assert_eq!(v.get("/login").await.location, "/setup");
    let form = v.page("/setup").await;
    let csrf = form.csrf();
    // Every problem is shown next to its field, and what was typed is kept.
    let bad = v
        .post(
            "/setup",
            &csrf,
            &[
                ("email", "not-an-address"),
                ("password", PASSWORD),
                ("confirm", PASSWORD),
            ],
        )
        .await;
    assert_eq!(bad.status, 422);
    assert!(
        bad.text("#email-error")
            .contains("not a valid email address")
    );
    assert_eq!(bad.attrs("#email", "value"), ["not-an-address"]);
    let short = v
        .post(
            "/setup",
            &csrf,
            &[
                ("email", OWNER),
                ("password", "short"),
                ("confirm", "short"),
            ],
        )
        .await;
    assert!(
        short
            .text("#password-error")
            .contains("at least 10 characters")
    );
    let differ = v
        .post(
            "/setup",
            &csrf,
            &[
                ("email", OWNER),
                ("password", PASSWORD),
                ("confirm", "something else"),
            ],
        )
        .await;
    assert!(differ.text("#confirm-error").contains("differ"));
    // The owner is made and signed in, and owns the default project.
    let (owner, pid) = owner(&app).await;
    let home = owner.page(&format!("/p/{pid}")).await;
    assert_eq!(home.text("header .switcher summary"), "Default project");
    // Set-up is over for everyone.
    let late = Visitor::new(&app);
    assert_eq!(late.get("/setup").await.location, "/login");
    let csrf = late.page("/login").await.csrf();
    let again = late
        .post(
            "/setup",
            &csrf,
            &[
                ("email", "b@example.com"),
                ("password", PASSWORD),
                ("confirm", PASSWORD),
            ],
        )
        .await;
    assert_eq!(again.status, 403);
    // Signing out ends the session: the same cookie no longer opens a page.
    let csrf = home.csrf();
    assert_eq!(owner.post("/logout", &csrf, &[]).await.location, "/login");
    let after = owner.get(&format!("/p/{pid}")).await;
    assert_eq!(after.status, 303);
    assert!(
        after.location.starts_with("/login?next="),
        "{}",
        after.location
    );
    app.stop().await;
}

#[tokio::test]
async fn sign_in_is_slowed_after_five_failures_and_never_redirects_away() {
    let app = spawn_app().await;
    let _ = owner(&app).await;
    let v = Visitor::new(&app);
    let csrf = v.page("/login?next=//evil.test/x").await.csrf();
    for _ in 0..5 {
        let wrong = v
            .post(
                "/login",
                &csrf,
                &[
                    ("email", OWNER),
                    ("password", "wrong password!"),
                    ("next", "/"),
                ],
            )
            .await;
        assert_eq!(wrong.status, 401);
        assert!(
            wrong
                .text("#form-error")
                .contains("wrong email address or password")
        );
        assert_eq!(wrong.attrs("#email", "value"), [OWNER]);
    }
    // The sixth attempt is refused even with the right password, saying how long to wait.
    let r = v
        .client
        .post(format!("{}/login", app.base))
        .form(&[
            ("csrf", csrf.as_str()),
            ("email", OWNER),
            ("password", PASSWORD),
            ("next", "/"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    let wait: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    assert!(r.text().await.unwrap().contains("too many failed sign-ins"));
    // Another address is not slowed; a `next` off this site is ignored.
    let other = Visitor::new(&app);
    let csrf = other.page("/login").await.csrf();
    let r = other
        .post(
            "/login",
            &csrf,
            &[
                ("email", "nobody@example.com"),
                ("password", PASSWORD),
                ("next", "//evil.test/x"),
            ],
        )
        .await;
    assert_eq!(r.status, 401);
    app.stop().await;
}

#[tokio::test]
async fn a_next_page_off_this_site_is_never_followed() {
    let app = spawn_app().await;
    let _ = owner(&app).await;
    for next in [
        "//evil.test/x",
        "https://evil.test/",
        "/\\evil.test",
        "/p/x\r\nSet-Cookie: a=b",
    ] {
        let v = Visitor::new(&app);
        let csrf = v.page("/login").await.csrf();
        let r = v
            .post(
                "/login",
                &csrf,
                &[("email", OWNER), ("password", PASSWORD), ("next", next)],
            )
            .await;
        assert_eq!(
            (r.status.as_u16(), r.location.as_str()),
            (303, "/"),
            "next = {next:?}"
        );
    }
    let v = Visitor::new(&app);
    let csrf = v.page("/login").await.csrf();
    let r = v
        .post(
            "/login",
            &csrf,
            &[
                ("email", OWNER),
                ("password", PASSWORD),
                ("next", "/projects"),
            ],
        )
        .await;
    assert_eq!(r.location, "/projects");
    app.stop().await;
}

#[tokio::test]
async fn home_shows_the_numbers_the_api_reports() {
    let app = spawn_app().await;
    let (v, pid) = owner(&app).await;
    let body = r#"<html><body><a href="https://example.com/go">Go</a></body></html>"#;
    let mut ids = Vec::new();
    for to in [
        "a@example.com",
        "b@example.com",
        "c@example.com",
        "d@example.com",
    ] {
        let (email, _) = send_one(&app, json!({ "to": to, "subject": "Hi", "body": body })).await;
        ids.push(email);
    }
    // a: opened by a person and clicked; b: an Apple proxy fetch only; c: a scanner's click.
    let html = |e: &Value| e["html"].as_str().unwrap().to_string();
    let a = html(&ids[0]);
    hit(&app, &tracking_urls(&app, &a, "/o/")[0], BROWSER).await;
    hit(&app, &tracking_urls(&app, &a, "/c/")[0], BROWSER).await;
    hit(
        &app,
        &tracking_urls(&app, &html(&ids[1]), "/o/")[0],
        "Mozilla/5.0",
    )
    .await;
    hit(
        &app,
        &tracking_urls(&app, &html(&ids[2]), "/c/")[0],
        "Mozilla/5.0 (compatible; Mimecast)",
    )
    .await;
    let stats = app.get_json("/v1/stats").await["data"].clone();
    let page = v.page(&format!("/p/{pid}")).await;
    let figure = |label: &str| page.text(&format!("[data-figure='{label}']"));
    assert_eq!(figure("Sent"), stats["sent"].to_string());
    assert_eq!(figure("Sent"), "4");
    let rate = |r: &Value| format!("{:.1} %", r.as_f64().unwrap() * 100.0);
    assert_eq!(figure("Opened by people"), rate(&stats["openRate"]));
    assert_eq!(figure("Opened by people"), "25.0 %");
    assert_eq!(figure("Clicked by people"), rate(&stats["clickRate"]));
    let asides = page.texts(".stat .aside");
    assert!(
        asides.contains(&"machines: 50.0 % of all hits".to_string()),
        "{asides:?}"
    );
    // The newest activity is listed, with the verdicts in words.
    let verdicts = page.texts("[data-verdict]");
    assert!(
        verdicts.contains(&"machine: link scanner: Mimecast".to_string()),
        "{verdicts:?}"
    );
    assert!(verdicts.contains(&"machine: Apple Mail Privacy Protection".to_string()));
    assert!(verdicts.contains(&"person".to_string()));
    app.stop().await;
}

#[tokio::test]
async fn contacts_are_listed_fifty_a_page_searched_filtered_and_added() {
    let app = spawn_app().await;
    let (v, pid) = owner(&app).await;
    for i in 0..60 {
        let subscribed = i % 3 == 0;
        let r = app
            .post(
                "/v1/contacts",
                &json!({ "email": format!("user{i:02}@example.com"), "subscribed": subscribed }),
            )
            .await;
        assert_eq!(r.status(), 201);
    }
    let list = format!("/p/{pid}/contacts");
    let first = v.page(&list).await;
    assert_eq!(first.texts("tr[data-contact]").len(), 50);
    assert_eq!(
        first.texts("tr[data-contact] a")[0],
        "user59@example.com",
        "newest first"
    );
    let next = first.attrs("a[rel=next]", "href");
    let second = v.page(&next[0]).await;
    let rest = second.texts("tr[data-contact] a");
    assert_eq!(rest.len(), 10);
    assert_eq!(rest.last().unwrap(), "user00@example.com");
    assert!(!second.has("a[rel=next]"));
    // Search is by part of the address, case-insensitively; `%` and `_` are literal.
    let found = v
        .page(&format!("{list}?q=USER1"))
        .await
        .texts("tr[data-contact] a");
    assert_eq!(found.len(), 10);
    assert_eq!(found[0], "user10@example.com", "matches in address order");
    // A search pages by address.
    let many = v.page(&format!("{list}?q=example")).await;
    assert_eq!(many.texts("tr[data-contact]").len(), 50);
    let rest = v
        .page(&many.attrs("a[rel=next]", "href")[0])
        .await
        .texts("tr[data-contact] a");
    assert_eq!(rest.len(), 10);
    assert_eq!(rest[0], "user50@example.com");
    assert!(
        v.page(&format!("{list}?q=%25"))
            .await
            .texts("tr[data-contact]")
            .is_empty()
    );
    let subscribed = v
        .page(&format!("{list}?subscribed=yes"))
        .await
        .texts("tr[data-contact]");
    assert_eq!(subscribed.len(), 20);
    let not = v
        .page(&format!("{list}?q=user0&subscribed=no"))
        .await
        .texts("tr[data-contact]");
    assert_eq!(not.len(), 6);
    // Adding: bad input is shown next to its field with what was typed kept; nothing is written.
    let csrf = first.csrf();
    let bad = v
        .post(
            &list,
            &csrf,
            &[("email", "nope"), ("data", "{\"plan\": \"pro\"}")],
        )
        .await;
    assert_eq!(bad.status, 422);
    assert!(
        bad.text("#email-error")
            .contains("not a valid email address")
    );
    assert_eq!(bad.text("#new-data"), "{\"plan\": \"pro\"}");
    let bad = v
        .post(
            &list,
            &csrf,
            &[("email", "new@example.com"), ("data", "[1, 2]")],
        )
        .await;
    assert!(bad.text("#data-error").contains("must be a JSON object"));
    let bad = v
        .post(
            &list,
            &csrf,
            &[("email", "new@example.com"), ("data", "{oops")],
        )
        .await;
    assert!(bad.text("#data-error").contains("not JSON"));
    assert_eq!(
        app.get("/v1/contacts/find?email=new@example.com")
            .await
            .status(),
        404
    );
    let added = v
        .post(
            &list,
            &csrf,
            &[
                ("email", "New@Example.com"),
                ("subscribed", "on"),
                ("data", "{\"plan\": \"pro\"}"),
            ],
        )
        .await;
    assert_eq!(added.status, 303);
    let contact = app
        .get_json("/v1/contacts/find?email=new@example.com")
        .await["data"]
        .clone();
    assert_eq!(
        (
            contact["subscribed"].clone(),
            contact["data"]["plan"].clone()
        ),
        (json!(true), json!("pro"))
    );
    let page = v.page(&added.location).await;
    assert_eq!(page.text("p.notice"), "Contact added.");
    assert_eq!(page.text("h1"), "new@example.com");
    // Unsubscribing from the page is the API's change.
    let csrf = page.csrf();
    let cid = contact["id"].as_str().unwrap();
    let r = v
        .post(
            &format!("/p/{pid}/contacts/{cid}/subscription"),
            &csrf,
            &[("subscribed", "false")],
        )
        .await;
    assert_eq!(r.status, 303);
    assert_eq!(
        app.get_json(&format!("/v1/contacts/{cid}")).await["data"]["subscribed"],
        false
    );
    app.stop().await;
}

#[tokio::test]
async fn a_contacts_timeline_tells_people_from_machines() {
    let app = spawn_app().await;
    let (v, pid) = owner(&app).await;
    let body =
        r#"<html><body><a href="https://example.com/offer?a=1&amp;b=2">Offer</a></body></html>"#;
    let (email, cid) = send_one(
        &app,
        json!({ "to": "reader@example.com", "subject": "Offer", "body": body }),
    )
    .await;
    let html = email["html"].as_str().unwrap();
    hit(&app, &tracking_urls(&app, html, "/o/")[0], "Mozilla/5.0").await;
    hit(&app, &tracking_urls(&app, html, "/o/")[0], BROWSER).await;
    hit(&app, &tracking_urls(&app, html, "/c/")[0], BROWSER).await;
    let _ = app.post("/v1/track", &json!({ "event": "signed-up", "email": "reader@example.com", "data": { "plan": "pro" } })).await;
    let page = v.page(&format!("/p/{pid}/contacts/{cid}")).await;
    let events = page.attrs(".timeline li", "data-event");
    assert_eq!(
        events,
        [
            "signed-up",
            "email.click",
            "email.open",
            "email.open",
            "email.sent"
        ]
    );
    assert_eq!(
        page.texts(".timeline [data-verdict]"),
        ["person", "person", "machine: Apple Mail Privacy Protection"]
    );
    let click = page.text(".timeline li[data-event='email.click'] .detail");
    assert!(
        click.contains("https://example.com/offer?a=1&b=2"),
        "{click}"
    );
    assert!(
        page.text(".timeline li[data-event='signed-up']")
            .contains("{\"plan\":\"pro\"}")
    );
    app.stop().await;
}

#[tokio::test]
async fn the_activity_feed_filters_by_kind_and_period() {
    let app = spawn_app().await;
    let (v, pid) = owner(&app).await;
    let body = r#"<html><body><a href="https://example.com/">x</a></body></html>"#;
    let (email, _) = send_one(
        &app,
        json!({ "to": "r@example.com", "subject": "S", "body": body }),
    )
    .await;
    hit(
        &app,
        &tracking_urls(&app, email["html"].as_str().unwrap(), "/o/")[0],
        BROWSER,
    )
    .await;
    let _ = app
        .post(
            "/v1/track",
            &json!({ "event": "purchase", "email": "r@example.com" }),
        )
        .await;
    let feed = |q: &str| format!("/p/{pid}/activity{q}");
    let all = v.page(&feed("")).await.attrs(".timeline li", "data-event");
    assert_eq!(all, ["purchase", "email.open", "email.sent"]);
    assert_eq!(
        v.page(&feed("?kind=open"))
            .await
            .attrs(".timeline li", "data-event"),
        ["email.open"]
    );
    assert_eq!(
        v.page(&feed("?kind=custom&period=24h"))
            .await
            .attrs(".timeline li", "data-event"),
        ["purchase"]
    );
    assert_eq!(v.get(&feed("?kind=nonsense")).await.status, 400);
    assert_eq!(v.get(&feed("?period=1y")).await.status, 400);
    assert_eq!(v.get(&feed("?cursor=garbage")).await.status, 400);
    app.stop().await;
}

#[tokio::test]
async fn an_emails_page_and_its_preview_record_nothing() {
    let app = spawn_app().await;
    let (v, pid) = owner(&app).await;
    let body = r#"<html><body><p>Hello</p><a href="https://example.com/offer?a=1&amp;b=2">Offer</a></body></html>"#;
    let (email, _) = send_one(&app, json!({ "to": "r@example.com", "subject": "Offer", "body": body, "headers": { "X-Campaign": "autumn" } })).await;
    let id = email["id"].as_str().unwrap();
    let page = v.page(&format!("/p/{pid}/emails/{id}")).await;
    assert_eq!(page.text("h1"), "Offer");
    assert_eq!(page.text("#status"), "SENT");
    assert!(page.text("#text-part").contains("Hello"));
    assert!(
        page.texts("table th.mono")
            .contains(&"X-Campaign".to_string())
    );
    let frame = page.attrs("iframe.preview", "src");
    assert_eq!(page.attrs("iframe.preview", "sandbox"), [""]);
    let r = v
        .client
        .get(format!("{}{}", app.base, frame[0]))
        .send()
        .await
        .unwrap();
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(csp.starts_with("sandbox;"), "{csp}");
    let preview = r.text().await.unwrap();
    assert!(
        !preview.contains("/o/") && !preview.contains("/c/"),
        "{preview}"
    );
    assert!(
        preview.contains("href=\"https://example.com/offer?a=1&amp;b=2\""),
        "{preview}"
    );
    app.settle().await;
    let after = app.email(id).await;
    assert_eq!(
        (after["opens"].clone(), after["clicks"].clone()),
        (
            json!({"human": 0, "machine": 0}),
            json!({"human": 0, "machine": 0})
        )
    );
    // The same email's real pixel does record: the preview is what differs.
    hit(
        &app,
        &tracking_urls(&app, email["html"].as_str().unwrap(), "/o/")[0],
        BROWSER,
    )
    .await;
    let page = v.page(&format!("/p/{pid}/emails/{id}")).await;
    assert_eq!(page.text("#opens-human"), "1");
    assert_eq!(page.texts("#hits [data-verdict]"), ["person"]);
    app.stop().await;
}

#[tokio::test]
async fn pages_carry_a_strict_policy_and_cookies_are_guarded() {
    let app = spawn_app().await;
    let v = Visitor::new(&app);
    let r = v
        .client
        .get(format!("{}/setup", app.base))
        .send()
        .await
        .unwrap();
    let h = r.headers();
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("default-src 'none'")
            && csp.contains("script-src 'self'")
            && !csp.contains("unsafe")
    );
    assert_eq!(h["x-frame-options"], "DENY");
    let cookie = h["set-cookie"].to_str().unwrap();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    assert!(
        !cookie.contains("Secure"),
        "no Secure over plain http: {cookie}"
    );
    // An unknown page is a page for a browser, JSON for a client.
    assert_eq!(v.get("/no/such/page").await.status, 404);
    let r = app
        .client
        .get(app.url("/no/such/page"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["code"], 404);
    // Static files are embedded.
    for f in [
        "/static/app.css",
        "/static/app.js",
        "/static/htmx-2.0.11.min.js",
    ] {
        assert_eq!(
            v.client
                .get(format!("{}{f}", app.base))
                .send()
                .await
                .unwrap()
                .status(),
            200,
            "{f}"
        );
    }
    app.stop().await;

    let https = crate::helpers::spawn_with(crate::helpers::Opts {
        configure: Some(|s| s.public_url = Some("https://beacon.example.com".into())),
        ..Default::default()
    })
    .await;
    let r = reqwest::get(https.url("/setup")).await.unwrap();
    assert!(
        r.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Secure")
    );
    https.stop().await;
}

#[tokio::test]
async fn a_form_without_its_token_changes_nothing() {
    let app = spawn_app().await;
    let (v, pid) = owner(&app).await;
    let before = app.get_json("/v1/project").await["data"]["tracking"].clone();
    for csrf in ["", "forged"] {
        let r = v
            .post(
                &format!("/p/{pid}/settings/tracking"),
                csrf,
                &[("tracking", "DISABLED")],
            )
            .await;
        assert_eq!(r.status, 403);
        assert!(r.text("#error-message").contains("reload the page"));
    }
    assert_eq!(
        app.get_json("/v1/project").await["data"]["tracking"],
        before
    );
    // The sign-in form's token is the one its cookie carries.
    let stranger = Visitor::new(&app);
    let r = stranger
        .post(
            "/login",
            "guessed",
            &[("email", OWNER), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(r.status, 403);
    app.stop().await;
}
