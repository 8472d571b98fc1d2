//! Settings, keys, the team and projects, changed from their pages through the rules the API
//! uses: what a form refuses (with the reason next to the field), who may use it, and that the
//! next send or API call follows what was saved.

use serde_json::json;

use super::{PASSWORD, Visitor, invite, owner};
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
async fn members_work_but_do_not_change_settings_or_see_the_secret() {
    let app = spawn_app().await;
    let (owner_v, pid) = owner(&app).await;
    let (member, _) = invite(&app, &owner_v, &pid, "member@example.com", "MEMBER").await;
    let keys = member.page(&format!("/p/{pid}/settings/keys")).await;
    assert!(!keys.has("#secret-key"));
    assert!(!keys.html.html().contains(&app.secret_key));
    assert!(
        !member
            .page(&format!("/p/{pid}"))
            .await
            .html
            .html()
            .contains(&app.secret_key)
    );
    let csrf = keys.csrf();
    for (path, fields) in [
        (
            format!("/p/{pid}/settings/tracking"),
            vec![("tracking", "DISABLED")],
        ),
        (
            format!("/p/{pid}/settings/keys/regenerate"),
            vec![("confirm", "on")],
        ),
        (
            format!("/p/{pid}/settings/links"),
            vec![("utm", "utm_source=mine")],
        ),
        (
            format!("/p/{pid}/settings/project"),
            vec![("name", "Mine now")],
        ),
        (
            format!("/p/{pid}/settings/project/delete"),
            vec![("confirm", "Default project")],
        ),
    ] {
        let r = member.post(&path, &csrf, &fields).await;
        assert_eq!(r.status, 403, "POST {path}");
    }
    let r = member
        .post(
            &format!("/p/{pid}/settings/team"),
            &csrf,
            &[("email", "x@example.com"), ("role", "MEMBER")],
        )
        .await;
    assert_eq!(r.status, 422);
    assert!(
        r.texts(".field-error, .form-error")
            .concat()
            .contains("only owners and admins")
    );
    assert_eq!(
        app.get_json("/v1/project").await["data"]["tracking"],
        "ENABLED"
    );
    // Members do the work: adding a contact is theirs.
    let r = member
        .post(
            &format!("/p/{pid}/contacts"),
            &csrf,
            &[("email", "work@example.com")],
        )
        .await;
    assert_eq!(r.status, 303);
    app.stop().await;
}

#[tokio::test]
async fn the_team_keeps_an_owner_and_admins_cannot_make_owners() {
    let app = spawn_app().await;
    let (owner_v, pid) = owner(&app).await;
    let (admin, admin_id) = invite(&app, &owner_v, &pid, "admin@example.com", "ADMIN").await;
    let team = format!("/p/{pid}/settings/team");
    let page = admin.page(&team).await;
    let owner_id = page.attrs("tr[data-member='owner@example.com'] select", "id")[0]
        .trim_start_matches("role-")
        .to_string();
    let csrf = page.csrf();
    // An admin cannot touch an owner, nor make one.
    let r = admin
        .post(
            &format!("{team}/{owner_id}/role"),
            &csrf,
            &[("role", "MEMBER")],
        )
        .await;
    assert_eq!(r.status, 422);
    let r = admin
        .post(
            &format!("{team}/{admin_id}/role"),
            &csrf,
            &[("role", "OWNER")],
        )
        .await;
    assert!(
        r.texts(".form-error")
            .concat()
            .contains("only an owner can make an owner")
    );
    // The only owner cannot step down or leave.
    let csrf = owner_v.page(&team).await.csrf();
    let r = owner_v
        .post(
            &format!("{team}/{owner_id}/role"),
            &csrf,
            &[("role", "ADMIN")],
        )
        .await;
    assert!(r.texts(".form-error").concat().contains("only owner"));
    let r = owner_v
        .post(&format!("{team}/{owner_id}/remove"), &csrf, &[])
        .await;
    assert_eq!(r.status, 422);
    // Adding someone twice, or a bad address or role, is refused next to the field.
    let r = owner_v
        .post(
            &team,
            &csrf,
            &[("email", "admin@example.com"), ("role", "MEMBER")],
        )
        .await;
    assert!(r.text("#email-error").contains("already a member"));
    let r = owner_v
        .post(
            &team,
            &csrf,
            &[("email", "x@example.com"), ("role", "KING")],
        )
        .await;
    assert!(r.text("#role-error").contains("not a role"));
    assert_eq!(r.attrs("#member-email", "value"), ["x@example.com"]);
    // Roles change; an invitation link works once.
    let r = owner_v
        .post(
            &format!("{team}/{admin_id}/role"),
            &csrf,
            &[("role", "MEMBER")],
        )
        .await;
    assert_eq!(r.status, 303);
    let page = owner_v.page(&team).await;
    assert_eq!(
        page.attrs(&format!("#role-{admin_id} option[selected]"), "value"),
        ["MEMBER"]
    );
    let added = owner_v
        .post(
            &team,
            &csrf,
            &[("email", "new@example.com"), ("role", "MEMBER")],
        )
        .await;
    let link = added.text("#invitation");
    let path = link.strip_prefix(&app.base).unwrap().to_string();
    let v = Visitor::new(&app);
    let r = v
        .submit(
            &path,
            &path,
            &[("password", PASSWORD), ("confirm", PASSWORD)],
        )
        .await;
    assert_eq!(r.status, 303);
    assert_eq!(
        Visitor::new(&app).get(&path).await.status,
        400,
        "an invitation works once"
    );
    app.stop().await;
}

#[tokio::test]
async fn projects_are_made_switched_renamed_and_deleted() {
    let app = spawn_app().await;
    let (v, first) = owner(&app).await;
    let bad = v.submit("/projects", "/projects", &[("name", "   ")]).await;
    assert_eq!(bad.status, 422);
    assert!(bad.text("#name-error").contains("1 to 200 characters"));
    let made = v
        .submit("/projects", "/projects", &[("name", "Newsletter")])
        .await;
    assert_eq!(made.status, 303);
    let second = made.location.split('/').nth(2).unwrap().to_string();
    let keys = v.page(&made.location).await;
    assert!(keys.text("p.notice").contains("Project created"));
    // Its own keys work against the API, for its own project.
    let sk = keys.text("#secret-key");
    let r = app
        .client
        .get(app.url("/v1/project"))
        .bearer_auth(&sk)
        .send()
        .await
        .unwrap();
    let data = r.json::<serde_json::Value>().await.unwrap()["data"].clone();
    assert_eq!(
        (data["id"].as_str().unwrap(), data["name"].as_str().unwrap()),
        (second.as_str(), "Newsletter")
    );
    // The switcher lists both.
    let home = v.page(&format!("/p/{first}")).await;
    assert_eq!(
        home.texts(".switcher li a"),
        [
            "Default project",
            "Newsletter",
            "All projects · new project"
        ]
    );
    // Rename goes through the API's rule.
    let settings = format!("/p/{second}/settings/project");
    let r = v.submit(&settings, &settings, &[("name", "")]).await;
    assert_eq!(r.status, 422);
    let r = v.submit(&settings, &settings, &[("name", "Weekly")]).await;
    assert_eq!(r.status, 303);
    // Deleting takes the exact name.
    let r = v
        .submit(
            &settings,
            &format!("{settings}/delete"),
            &[("confirm", "weekly")],
        )
        .await;
    assert_eq!(r.status, 422);
    assert!(r.text("#confirm-error").contains("\"Weekly\""));
    assert_eq!(r.attrs("#confirm", "value"), ["weekly"]);
    let r = v
        .submit(
            &settings,
            &format!("{settings}/delete"),
            &[("confirm", "Weekly")],
        )
        .await;
    assert_eq!(r.location, "/projects?notice=deleted");
    assert_eq!(v.get(&format!("/p/{second}")).await.status, 404);
    let r = app
        .client
        .get(app.url("/v1/project"))
        .bearer_auth(&sk)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "a deleted project's key is unknown");
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
