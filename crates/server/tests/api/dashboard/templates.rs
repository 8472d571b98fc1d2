//! Templates from the dashboard, through the same rules as `/v1/templates`.

use serde_json::json;

use super::owner;
use crate::helpers::spawn_app;

#[tokio::test]
async fn templates_are_written_typed_and_deleted_from_the_dashboard() {
    let app = spawn_app().await;
    let (v, pid) = owner(&app).await;
    let list = format!("/p/{pid}/templates");
    let new = v.page(&format!("{list}/new")).await;
    let meanings = new.texts("fieldset label");
    assert!(
        meanings
            .iter()
            .any(|m| m.starts_with("MARKETING") && m.contains("unsubscribe")),
        "{meanings:?}"
    );
    assert_eq!(
        new.attrs("input[name=kind][checked]", "value"),
        ["TRANSACTIONAL"]
    );
    let csrf = new.csrf();
    let bad = v
        .post(
            &list,
            &csrf,
            &[
                ("name", "Receipt"),
                ("subject", "Line\nbreak"),
                ("kind", "TRANSACTIONAL"),
                ("body", "<p>x</p>"),
            ],
        )
        .await;
    assert_eq!(bad.status, 422);
    assert!(bad.text("#subject-error").contains("line breaks"));
    let bad = v
        .post(
            &list,
            &csrf,
            &[
                ("name", "Receipt"),
                ("subject", "Your receipt"),
                ("kind", "LOUD"),
                ("body", "<p>x</p>"),
            ],
        )
        .await;
    assert!(bad.text("#kind-error").contains("LOUD"));
    let made = v
        .post(
            &list,
            &csrf,
            &[
                ("name", "Weekly"),
                ("subject", "This week"),
                ("kind", "MARKETING"),
                ("body", "<p>Hello {{firstName ?? friend}}</p>"),
            ],
        )
        .await;
    assert_eq!(made.status, 303);
    let tid = made.created_id();
    let api = app.get_json(&format!("/v1/templates/{tid}")).await["data"].clone();
    assert_eq!(
        (api["type"].clone(), api["subject"].clone()),
        (json!("MARKETING"), json!("This week"))
    );
    // The shared preview adds a marketing template's unsubscribe footer, untracked.
    let r = v
        .post(
            &format!("/p/{pid}/preview"),
            &csrf,
            &[
                ("body", "<p>Hello {{firstName ?? friend}}</p>"),
                ("kind", "MARKETING"),
            ],
        )
        .await;
    let html = r.html.html();
    assert!(
        html.contains("Hello friend") && html.contains("#unsubscribe"),
        "{html}"
    );
    let r = v
        .post(
            &format!("{list}/{tid}"),
            &csrf,
            &[
                ("name", "Weekly"),
                ("subject", "Next week"),
                ("kind", "HEADLESS"),
                ("body", "<p>x</p>"),
            ],
        )
        .await;
    assert_eq!(r.status, 303);
    assert_eq!(
        app.get_json(&format!("/v1/templates/{tid}")).await["data"]["type"],
        "HEADLESS"
    );
    assert_eq!(v.page(&list).await.texts("#templates td a"), ["Weekly"]);
    let r = v.post(&format!("{list}/{tid}/delete"), &csrf, &[]).await;
    assert_eq!(r.location, format!("{list}?notice=deleted"));
    assert_eq!(app.get(&format!("/v1/templates/{tid}")).await.status(), 404);
    app.stop().await;
}
