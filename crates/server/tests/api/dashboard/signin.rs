//! Getting in and staying safe: first-start set-up, sign-in (slowed after failures, never sent
//! off this site), the pages' security policy and cookies, and forms without their token.

use serde_json::Value;

use super::{OWNER, PASSWORD, Visitor, owner};
use crate::helpers::spawn_app;

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
    // All at once, each next to its field.
    let all = v
        .post(
            "/setup",
            &csrf,
            &[
                ("email", "nope"),
                ("password", "short"),
                ("confirm", "other"),
            ],
        )
        .await;
    assert_eq!(all.status, 422);
    for id in ["#email-error", "#password-error", "#confirm-error"] {
        assert!(all.has(id), "{id}");
    }
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
