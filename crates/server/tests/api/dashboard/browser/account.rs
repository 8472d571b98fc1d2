//! In a real browser: first-run set-up and sign-in, a tracking mode the next send follows, and
//! regenerated keys that the API refuses.

use super::*;

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
