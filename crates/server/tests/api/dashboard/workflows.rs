//! Workflows from the dashboard, through the same rules as `/v1/workflows`: a definition's
//! problems next to its box, switching on and off, per-step counts with a send step's opens
//! and clicks by people, and executions with their paths.

use serde_json::{Value, json};

use super::owner;
use crate::helpers::spawn_app;
use crate::tracking::{BROWSER, hit, tracking_urls};
use crate::workflows::{all, template, track, until};

fn definition(template: &str) -> String {
    json!({
        "trigger": { "event": "signed-up" },
        "steps": [
            { "type": "SEND_EMAIL", "id": "welcome", "template": template, "next": "tag" },
            { "type": "UPDATE_CONTACT", "id": "tag", "data": { "welcomed": true } }
        ]
    })
    .to_string()
}

#[tokio::test]
async fn a_workflow_is_written_switched_and_followed_from_the_dashboard() {
    let app = spawn_app().await;
    let (v, pid) = owner(&app).await;
    let list = format!("/p/{pid}/workflows");
    let welcome = template(
        &app,
        "TRANSACTIONAL",
        "Welcome",
        r#"<p>Hi</p><a href="https://example.com/start">Start</a>"#,
    )
    .await;
    let new = v.page(&format!("{list}/new")).await;
    assert!(new.text("#definition").contains("SEND_EMAIL"));
    let csrf = new.csrf();

    // Broken JSON: the parser's complaint, with its line, next to the box.
    let good = definition(&welcome);
    let fields = |name: &'static str, def: String| {
        vec![
            ("name", name.to_string()),
            ("enabled", "on".into()),
            ("definition", def),
        ]
    };
    let post = |path: String, f: Vec<(&'static str, String)>| {
        let v = &v;
        let csrf = csrf.clone();
        async move {
            let f: Vec<(&str, &str)> = f.iter().map(|(k, x)| (*k, x.as_str())).collect();
            v.post(&path, &csrf, &f).await
        }
    };
    let bad = post(list.clone(), fields("Welcome", "{\"trigger\": ".into())).await;
    assert_eq!(bad.status, 422);
    assert!(
        bad.text("#definition-error").contains("line 1"),
        "{}",
        bad.text("#definition-error")
    );
    assert_eq!(bad.text("#definition"), "{\"trigger\":");
    // A rule of the definition (shared with the API): the step and field it is about.
    let other = definition("no-such-template");
    let bad = post(list.clone(), fields("Welcome", other)).await;
    assert_eq!(bad.status, 422);
    assert!(bad.text("#definition-error").contains("steps[0].template"));
    let bad = post(list.clone(), fields(" ", good.clone())).await;
    assert!(bad.text("#name-error").contains("1 to 200"));
    assert_eq!(app.get_json("/v1/workflows").await["data"], json!([]));

    let made = post(list.clone(), fields("Welcome", good)).await;
    assert_eq!(made.status, 303);
    let wid = made.created_id();
    let api = app.get_json(&format!("/v1/workflows/{wid}")).await["data"].clone();
    assert_eq!(
        (api["enabled"].clone(), api["trigger"]["event"].clone()),
        (json!(true), json!("signed-up"))
    );
    assert_eq!(v.page(&list).await.texts("#workflows td a"), ["Welcome"]);

    // The box reads in the definition's own order; the project's templates are listed by id.
    let shown = v.page(&format!("{list}/{wid}")).await;
    assert!(shown.text("#definition").starts_with("{ \"trigger\""));
    assert_eq!(
        shown.texts("#template-ids td")[..2],
        ["Welcome", "TRANSACTIONAL"]
    );

    // Off: the event starts nothing; on again: it does.
    let page = format!("{list}/{wid}");
    let r = post(format!("{page}/enabled"), vec![("enabled", "off".into())]).await;
    assert_eq!(r.location, format!("{page}?notice=disabled"));
    assert_eq!(
        app.get_json(&format!("/v1/workflows/{wid}")).await["data"]["enabled"],
        false
    );
    assert_eq!(v.page(&page).await.text("#switch"), "Turn on");
    let r = post(format!("{page}/enabled"), vec![("enabled", "maybe".into())]).await;
    assert_eq!(r.status, 400);
    post(format!("{page}/enabled"), vec![("enabled", "on".into())]).await;
    let wf = json!({ "id": wid });
    let contact = track(&app, "new@example.com", "signed-up", json!({})).await;
    let runs = until(&app, &wf, all("COMPLETED", 1)).await;
    let email_id = runs[0]["history"][1]["emailId"]
        .as_str()
        .unwrap()
        .to_string();
    let sent: Value = app.wait_status(&email_id, "SENT").await;
    let html = sent["html"].as_str().unwrap();
    hit(&app, &tracking_urls(&app, html, "/o/")[0], BROWSER).await;
    hit(&app, &tracking_urls(&app, html, "/c/")[0], BROWSER).await;

    // Per-step counts, the send step's email with its open and click by a person.
    let shown = v.page(&page).await;
    let welcome_row = shown.texts("#steps tr[data-step=welcome] td");
    assert_eq!(welcome_row[..3], ["welcome", "SEND_EMAIL", "1"]);
    assert_eq!(welcome_row[4], "1");
    assert!(
        welcome_row[5].starts_with("1 ") && welcome_row[6].starts_with("1 "),
        "{welcome_row:?}"
    );
    assert_eq!(
        shown.texts("#steps tr[data-step=tag] td")[3],
        "completed 1 · updated 1"
    );
    // The executions: the contact, its status and its path.
    let runs = v.page(&format!("{page}/executions")).await;
    assert_eq!(runs.texts("#executions td a"), ["new@example.com"]);
    assert_eq!(
        runs.attrs("#executions td a", "href"),
        [format!("/p/{pid}/contacts/{contact}")]
    );
    assert_eq!(
        runs.texts("#executions ol.path li"),
        [
            "welcome entered",
            "welcome sent",
            "tag entered",
            "tag updated",
            "tag completed"
        ]
    );

    // Saving a new definition from the page; then deleting.
    let renamed = post(page.clone(), fields("Hello", definition(&welcome))).await;
    assert_eq!(renamed.status, 303);
    assert_eq!(
        app.get_json(&format!("/v1/workflows/{wid}")).await["data"]["name"],
        "Hello"
    );
    let r = post(format!("{page}/delete"), vec![]).await;
    assert_eq!(r.location, format!("{list}?notice=deleted"));
    assert_eq!(app.get(&format!("/v1/workflows/{wid}")).await.status(), 404);
    app.stop().await;
}
