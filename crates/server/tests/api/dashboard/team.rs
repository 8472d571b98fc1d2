//! The team and projects from their pages: what members may do, the team always keeping an
//! owner, and projects made, switched, renamed and deleted.

use super::{PASSWORD, Visitor, invite, owner};
use crate::helpers::spawn_app;

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
