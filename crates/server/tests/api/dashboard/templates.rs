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

#[tokio::test]
async fn a_new_campaign_starts_from_a_saved_template() {
    let app = spawn_app().await;
    let (v, pid) = owner(&app).await;
    let campaigns = format!("/p/{pid}/campaigns");
    // No template yet: no picker.
    assert!(
        !v.page(&format!("{campaigns}/new"))
            .await
            .has("#from-template")
    );
    let mut ids = Vec::new();
    for (name, kind) in [("Receipt", "TRANSACTIONAL"), ("Weekly", "HEADLESS")] {
        let made = app
            .post(
                "/v1/templates",
                &json!({ "name": name, "subject": format!("{name} subject"),
                    "body": format!("<p>{name} body</p>"), "type": kind }),
            )
            .await;
        assert_eq!(made.status(), 201);
        let made: serde_json::Value = made.json().await.unwrap();
        ids.push(made["data"]["id"].as_str().unwrap().to_string());
    }
    let new = v.page(&format!("{campaigns}/new")).await;
    assert_eq!(
        new.texts("#template option"),
        ["—", "Receipt", "Weekly"].map(String::from)
    );
    // A transactional template makes a transactional draft; any other a marketing one.
    for (id, name, kind) in [
        (&ids[0], "Receipt", "TRANSACTIONAL"),
        (&ids[1], "Weekly", "MARKETING"),
    ] {
        let page = v.page(&format!("{campaigns}/new?template={id}")).await;
        assert_eq!(page.attrs("#name", "value"), [name]);
        assert_eq!(page.attrs("#subject", "value"), [format!("{name} subject")]);
        assert_eq!(page.text("#body"), format!("<p>{name} body</p>"));
        assert_eq!(page.attrs("input[name=kind][checked]", "value"), [kind]);
        assert_eq!(
            page.attrs("#template option[selected]", "value"),
            [id.as_str()]
        );
    }
    // Another project's template (or none at all) is refused next to the picker.
    let other = beacon::store::Db::connect(&app.db_url).await.unwrap();
    let theirs = beacon::store::projects::create(&other, "other")
        .await
        .unwrap();
    let foreign = beacon::store::templates::Template {
        id: "01a00000-0000-7000-8000-000000000001".into(),
        project_id: theirs.id.clone(),
        name: "Theirs".into(),
        subject: "Secret".into(),
        body: "<p>secret</p>".into(),
        kind: "MARKETING".into(),
        created_at: 0,
        updated_at: 0,
    };
    beacon::store::templates::insert(&other, &foreign)
        .await
        .unwrap();
    other.close().await;
    for id in [foreign.id.as_str(), "nope"] {
        let refused = v.get(&format!("{campaigns}/new?template={id}")).await;
        assert_eq!(refused.status, 422);
        assert!(
            refused
                .text("#template-error")
                .contains("not one of this project's")
        );
        assert_eq!(refused.attrs("#subject", "value"), [""]);
    }
}
