//! Settings and keys changed from their pages through the rules the API uses: what a form
//! refuses (with the reason next to the field), who may use it, and that the next send or API
//! call follows what was saved. The team and projects are `team.rs`.

use serde_json::json;

use super::owner;
use crate::helpers::{Opts, spawn_app, spawn_with};
use crate::ses_sending::provider_tracking_only;
use crate::tracking::send_one;

#[tokio::test]
async fn the_tracking_mode_saved_on_the_page_decides_the_next_send() {
    let app = spawn_app().await;
    let (v, pid) = owner(&app).await;
    let page_path = format!("/p/{pid}/settings/tracking");
    let page = v.page(&page_path).await;
    assert_eq!(
        page.attrs("input[name=tracking][checked]", "value"),
        ["ENABLED"]
    );
    assert_eq!(page.texts("input[name=tracking]").len(), 3);
    assert_eq!(page.text("#hit-ip"), "truncated");
    let saved = v
        .post(&page_path, &page.csrf(), &[("tracking", "DISABLED")])
        .await;
    assert_eq!(saved.status, 303);
    let page = v.page(&saved.location).await;
    assert!(page.text("p.notice").contains("applies from the next send"));
    assert_eq!(
        page.attrs("input[name=tracking][checked]", "value"),
        ["DISABLED"]
    );
    let body = r#"<p><a href="https://example.com/">x</a></p>"#;
    let (email, _) = send_one(
        &app,
        json!({ "to": "r@example.com", "subject": "s", "body": body }),
    )
    .await;
    assert_eq!(email["tracked"], false);
    assert!(!email["html"].as_str().unwrap().contains("/o/"));
    // A mode that does not exist is refused with the API's words, and the choice is kept.
    let bad = v
        .post(&page_path, &page.csrf(), &[("tracking", "SOMETIMES")])
        .await;
    assert_eq!(bad.status, 422);
    assert!(
        bad.text("#tracking-error").contains("SOMETIMES"),
        "{}",
        bad.text("#tracking-error")
    );
    assert_eq!(
        app.get_json("/v1/project").await["data"]["tracking"],
        "DISABLED"
    );
    let saved = v
        .post(&page_path, &page.csrf(), &[("tracking", "ENABLED")])
        .await;
    assert_eq!(saved.status, 303);
    let (email, _) = send_one(
        &app,
        json!({ "to": "r@example.com", "subject": "s", "body": body }),
    )
    .await;
    assert_eq!(email["tracked"], true);
    app.stop().await;
}

#[tokio::test]
async fn link_settings_saved_on_the_page_are_the_apis() {
    let app = spawn_app().await;
    let (v, pid) = owner(&app).await;
    let page_path = format!("/p/{pid}/settings/tracking");
    let links = format!("/p/{pid}/settings/links");
    let csrf = v.page(&page_path).await.csrf();
    let r = v
        .post(
            &links,
            &csrf,
            &[
                ("utm", "utm_source=newsletter\n\n utm_medium = email \n"),
                ("track_text", "on"),
            ],
        )
        .await;
    assert_eq!(r.status, 303);
    let project = app.get_json("/v1/project").await["data"].clone();
    assert_eq!(
        project["utm"],
        json!({ "utm_source": "newsletter", "utm_medium": "email" })
    );
    assert_eq!(project["trackTextLinks"], true);
    let page = v.page(&r.location).await;
    assert!(page.text("p.notice").contains("Link settings saved"));
    // (Page::text joins lines with a space.)
    assert_eq!(page.text("#utm"), "utm_medium=email utm_source=newsletter");
    assert_eq!(page.attrs("#track-text[checked]", "name"), ["track_text"]);
    // A line that is not name=value, or a name the rule refuses, is shown at the field with
    // what was typed; nothing changes.
    let bad = v
        .post(&links, &csrf, &[("utm", "utm_source newsletter")])
        .await;
    assert_eq!(bad.status, 422);
    assert!(bad.text("#utm-error").contains("line 1: write name=value"));
    assert_eq!(bad.text("#utm"), "utm_source newsletter");
    let bad = v.post(&links, &csrf, &[("utm", "=x")]).await;
    assert_eq!(bad.status, 422);
    assert!(!bad.text("#utm-error").is_empty());
    assert_eq!(
        app.get_json("/v1/project").await["data"]["utm"],
        project["utm"]
    );
    // Clearing the parameters and the flag.
    let r = v.post(&links, &csrf, &[("utm", "")]).await;
    assert_eq!(r.status, 303);
    let project = app.get_json("/v1/project").await["data"].clone();
    assert_eq!(
        (project["utm"].clone(), project["trackTextLinks"].clone()),
        (json!({}), json!(false))
    );
    app.stop().await;
}

#[tokio::test]
async fn modes_the_engine_cannot_honour_are_shown_disabled_with_the_setting() {
    let app = spawn_with(Opts {
        configure: Some(provider_tracking_only),
        ..Default::default()
    })
    .await;
    let (v, pid) = owner(&app).await;
    let path = format!("/p/{pid}/settings/tracking");
    let page = v.page(&path).await;
    assert_eq!(
        page.attrs("input[name=tracking][disabled]", "value"),
        ["DISABLED", "MARKETING_ONLY"]
    );
    let why = page.text("[data-unavailable=DISABLED]");
    assert!(
        why.contains("BEACON_SES_CONFIGURATION_SET_NO_TRACKING"),
        "{why}"
    );
    // Posting one anyway (a form from before the engine changed) is refused the same way.
    let r = v
        .post(&path, &page.csrf(), &[("tracking", "MARKETING_ONLY")])
        .await;
    assert_eq!(r.status, 422);
    assert!(
        r.text("#tracking-error")
            .contains("BEACON_SES_CONFIGURATION_SET_NO_TRACKING")
    );
    app.stop().await;
}

#[tokio::test]
async fn regenerated_keys_replace_the_old_ones_at_once() {
    let app = spawn_app().await;
    let (v, pid) = owner(&app).await;
    let path = format!("/p/{pid}/settings/keys");
    let page = v.page(&path).await;
    assert_eq!(page.text("#secret-key"), app.secret_key);
    assert_eq!(page.text("#public-key"), app.public_key);
    // Without the confirmation nothing happens, and the page says why.
    let r = v
        .post(&format!("{path}/regenerate"), &page.csrf(), &[])
        .await;
    assert_eq!(r.status, 422);
    assert!(r.text("#confirm-error").contains("stop working"));
    assert_eq!(app.get("/v1/project").await.status(), 200);
    let r = v
        .post(
            &format!("{path}/regenerate"),
            &page.csrf(),
            &[("confirm", "on")],
        )
        .await;
    assert_eq!(r.status, 303);
    let page = v.page(&r.location).await;
    let new_secret = page.text("#secret-key");
    assert_ne!(new_secret, app.secret_key);
    assert_eq!(
        app.get("/v1/project").await.status(),
        401,
        "the old secret key is refused"
    );
    let r = app
        .client
        .post(app.url("/v1/track"))
        .bearer_auth(&app.public_key)
        .json(&json!({ "event": "e", "email": "x@example.com" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "the old public key is refused");
    let r = app
        .client
        .get(app.url("/v1/project"))
        .bearer_auth(&new_secret)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // The API's own regeneration is the same action.
    let r = app
        .client
        .post(app.url("/v1/project/keys"))
        .bearer_auth(&new_secret)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let third = r.json::<serde_json::Value>().await.unwrap()["data"]["secretKey"]
        .as_str()
        .unwrap()
        .to_string();
    let r = app
        .client
        .get(app.url("/v1/project"))
        .bearer_auth(&new_secret)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(v.page(&path).await.text("#secret-key"), third);
    app.stop().await;
}

#[tokio::test]
async fn no_form_answers_500_whatever_is_posted() {
    let app = spawn_app().await;
    let (v, pid) = owner(&app).await;
    let csrf = v.page(&format!("/p/{pid}")).await.csrf();
    let long = "x".repeat(100_000);
    let hostile = [
        "",
        "\u{0}",
        "%",
        "<script>alert(1)</script>",
        "'; DROP TABLE users; --",
        long.as_str(),
        "日本語@例え.テスト",
    ];
    let forms = [
        format!("/p/{pid}/contacts"),
        format!("/p/{pid}/settings/tracking"),
        format!("/p/{pid}/settings/links"),
        format!("/p/{pid}/settings/team"),
        format!("/p/{pid}/settings/project"),
        format!("/p/{pid}/settings/project/delete"),
        format!("/p/{pid}/contacts/nope/subscription"),
        "/projects".to_string(),
    ];
    for path in &forms {
        for value in hostile {
            // The name a rename may save is never the confirmation a delete would take.
            let confirm = format!("not {value}");
            let fields = [
                ("email", value),
                ("data", value),
                ("tracking", value),
                ("utm", value),
                ("role", value),
                ("name", value),
                ("confirm", confirm.as_str()),
                ("subscribed", value),
            ];
            let r = v.post(path, &csrf, &fields).await;
            assert!(
                r.status.is_client_error() || r.status.is_redirection(),
                "POST {path} with {:.20?}: {}",
                value,
                r.status
            );
            assert!(
                !r.html.html().contains("<script>alert(1)</script>"),
                "POST {path} echoed markup"
            );
        }
    }
    assert_eq!(
        app.get_json("/v1/project").await["data"]["tracking"],
        "ENABLED"
    );
    // Ids and searches with NUL (which PostgreSQL refuses in any text) name nothing.
    for path in [
        format!("/p/{pid}/contacts/%00"),
        format!("/p/{pid}/emails/%00"),
        format!("/p/{pid}/emails/%00/preview"),
        "/invite/%00".to_string(),
    ] {
        assert_eq!(v.get(&path).await.status, 404, "{path}");
    }
    assert_eq!(v.get(&format!("/p/{pid}/contacts?q=%00")).await.status, 200);
    let r = v
        .post(
            &format!("/p/{pid}/settings/team/%00/role"),
            &csrf,
            &[("role", "MEMBER")],
        )
        .await;
    assert_eq!(r.status, 404);
    assert_eq!(app.get("/v1/contacts/%00").await.status(), 404);
    app.stop().await;
}
