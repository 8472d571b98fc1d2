//! Link settings end to end: campaign parameters (project default, campaign changes), the
//! text part's links (opt-in), and `{{unsubscribeUrl}}` on every send path.

use serde_json::{Value, json};

use super::support::{delivered, href_of, location, run_campaign};
use crate::helpers::{TestApp, spawn_app};
use crate::tracking::send_one;

async fn patch_project(app: &TestApp, body: Value) -> (u16, Value) {
    let r = app.patch("/v1/project", &body).await;
    (r.status().as_u16(), r.json().await.unwrap())
}

/// (case, attributes, where it leads with the parameters `utm_medium=e-mail & more` and
/// `utm_source=beacon`; `None`: left as written).
fn utm_table() -> Vec<(&'static str, String, Option<String>)> {
    let p = "utm_medium=e-mail%20%26%20more&utm_source=beacon";
    let long = "z".repeat(2000);
    vec![
        (
            "frag",
            r#"href="https://example.com/#sec""#.into(),
            Some(format!("https://example.com/?{p}#sec")),
        ),
        (
            "empty-frag",
            r#"href="https://example.com/?#""#.into(),
            Some(format!("https://example.com/?{p}#")),
        ),
        (
            "frag-with-query-chars",
            r#"href="https://example.com/p#a?b=1&c""#.into(),
            Some(format!("https://example.com/p?{p}#a?b=1&c")),
        ),
        (
            "query",
            r#"href="https://example.com/?a=1&amp;b=2""#.into(),
            Some(format!("https://example.com/?a=1&b=2&{p}")),
        ),
        (
            "query-ending-amp",
            r#"href="https://example.com/?a=1&#038;""#.into(),
            Some(format!("https://example.com/?a=1&{p}")),
        ),
        (
            "author-set",
            r#"href="https://example.com/?a=1&amp;utm_source=mine""#.into(),
            Some("https://example.com/?a=1&utm_source=mine&utm_medium=e-mail%20%26%20more".into()),
        ),
        (
            "author-set-other-case",
            r#"href="https://example.com/?UTM_Medium=x&amp;utm%5Fsource=y""#.into(),
            Some("https://example.com/?UTM_Medium=x&utm%5Fsource=y".into()),
        ),
        (
            "nested-url",
            r#"href="https://example.com/r?to=https://o.com/?x=1#f#g""#.into(),
            Some(format!(
                "https://example.com/r?to=https://o.com/?x=1&{p}#f#g"
            )),
        ),
        (
            "non-ascii",
            r#"href="https://bücher.de/ü?q=é#à""#.into(),
            Some(format!(
                "https://xn--bcher-kva.de/%C3%BC?q=%C3%A9&{p}#%C3%A0"
            )),
        ),
        (
            "merge-tag",
            r#"href="https://example.com/?u={{id}}#top""#.into(),
            Some(format!("https://example.com/?u=7&{p}#top")),
        ),
        (
            "long",
            format!(r#"href="https://example.com/{long}#end""#),
            Some(format!("https://example.com/{long}?{p}#end")),
        ),
        (
            "opted-out",
            r#"href="https://example.com/out" data-beacon-notrack"#.into(),
            None,
        ),
        ("mailto", r#"href="mailto:a@example.com""#.into(), None),
    ]
}

#[tokio::test]
async fn campaign_parameters_come_from_the_project_and_the_campaign() {
    let app = spawn_app().await;
    let p = app.get_json("/v1/project").await["data"].clone();
    assert_eq!(
        (p["utm"].clone(), p["trackTextLinks"].clone()),
        (json!({}), json!(false))
    );
    for (bad, field) in [
        (json!({ "utm": { "utm_source": 3 } }), "utm.utm_source"),
        (json!({ "utm": "beacon" }), "utm"),
        (json!({ "utm": { "bad name": "x" } }), "utm.bad name"),
        (json!({ "utm": { "utm_source": "" } }), "utm.utm_source"),
        (json!({ "trackTextLinks": "yes" }), "trackTextLinks"),
    ] {
        let (status, body) = patch_project(&app, bad).await;
        assert_eq!(
            (status, body["field"].as_str()),
            (422, Some(field)),
            "{body}"
        );
    }
    let utm = json!({ "utm_source": "beacon", "utm_medium": "e-mail & more" });
    let (status, body) = patch_project(&app, json!({ "utm": utm })).await;
    assert_eq!((status, &body["data"]["utm"]), (200, &utm), "{body}");

    let rows = utm_table();
    let body: String = rows
        .iter()
        .map(|(case, attrs, _)| format!("<a data-case=\"{case}\" {attrs}>{case}</a>\n"))
        .collect();
    let send = json!({ "to": "u@example.com", "subject": "s", "body": body, "data": { "id": 7 } });
    let (email, _) = send_one(&app, send.clone()).await;
    let (html, _) = delivered(&app, email["id"].as_str().unwrap()).await;
    for (case, attrs, want) in &rows {
        let href = href_of(&html, case);
        match want {
            Some(want) => {
                assert!(href.len() < 200, "{case}");
                assert_eq!(&location(&app, &href).await, want, "{case}");
            }
            None => assert!(attrs.contains(&format!("\"{href}\"")), "{case}: {href}"),
        }
    }
    // An untracked send's links get no parameters.
    let mut untracked = send;
    untracked["tracking"] = json!(false);
    let (email, _) = send_one(&app, untracked).await;
    assert_eq!(
        href_of(email["html"].as_str().unwrap(), "frag"),
        "https://example.com/#sec"
    );

    // A campaign changes the project's set: adds one, drops one.
    let r = app
        .post(
            "/v1/campaigns",
            &json!({ "name": "c", "subject": "s", "from": "n@example.com",
            "body": "<a data-case=\"p\" href=\"https://example.com/p\">p</a>",
            "audience": { "all": true }, "utm": { "x": 1 } }),
        )
        .await;
    assert_eq!(r.status(), 422);
    assert_eq!(r.json::<Value>().await.unwrap()["field"], "utm.x");
    let changes = json!({ "utm_campaign": "spring", "utm_medium": null });
    let r = app
        .post(
            "/v1/campaigns",
            &json!({ "name": "c", "subject": "s", "from": "n@example.com",
            "body": "<a data-case=\"p\" href=\"https://example.com/p\">p</a>",
            "audience": { "all": true }, "utm": changes }),
        )
        .await;
    let c: Value = r.json().await.unwrap();
    assert_eq!(c["data"]["utm"], changes, "{c}");
    let id = c["data"]["id"].as_str().unwrap();
    let (_, html) = run_campaign(&app, id, &["sub@example.com"]).await.remove(0);
    assert_eq!(
        location(&app, &href_of(&html, "p")).await,
        "https://example.com/p?utm_campaign=spring&utm_source=beacon"
    );
    let (status, body) = patch_project(&app, json!({ "utm": null })).await;
    assert_eq!((status, &body["data"]["utm"]), (200, &json!({})));
    app.stop().await;
}

#[tokio::test]
async fn text_part_links_are_tracked_only_when_the_project_asks() {
    let app = spawn_app().await;
    let body = r#"<p><a href="https://example.com/a">Read</a> or
<a href="https://example.com/no" data-beacon-notrack>not this</a>.</p>
<p>Or visit (https://example.com/plain).</p>"#;
    let send = json!({ "to": "t@example.com", "subject": "s", "body": body });
    let (email, _) = send_one(&app, send.clone()).await;
    let (_, text) = delivered(&app, email["id"].as_str().unwrap()).await;
    assert!(!text.contains("/c/"), "off by default: {text}");
    assert!(text.contains("https://example.com/a"), "{text}");

    let (status, _) = patch_project(&app, json!({ "trackTextLinks": true })).await;
    assert_eq!(status, 200);
    let (email, contact) = send_one(&app, send.clone()).await;
    let (_, text) = delivered(&app, email["id"].as_str().unwrap()).await;
    assert_eq!(text, email["text"].as_str().unwrap().replace('\n', "\r\n"));
    assert!(
        text.contains("https://example.com/no"),
        "opted out in the HTML: {text}"
    );
    assert!(
        !text.contains("https://example.com/a") && !text.contains("example.com/plain"),
        "{text}"
    );
    assert!(text.contains(")."), "punctuation stays outside: {text}");
    let prefix = format!("{}/c/", app.base);
    let clicks: Vec<String> = text
        .match_indices(&prefix)
        .map(|(at, _)| {
            text[at..]
                .split([')', '\r', '\n', ' '])
                .next()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(clicks.len(), 2, "{text}");
    let mut found = Vec::new();
    for href in &clicks {
        found.push(location(&app, href).await);
    }
    found.sort();
    assert_eq!(
        found,
        ["https://example.com/a", "https://example.com/plain"]
    );
    app.settle().await;
    let indexes: Vec<i64> = app
        .events(&contact)
        .await
        .iter()
        .filter(|e| e["name"] == "email.click")
        .map(|e| e["data"]["linkIndex"].as_i64().unwrap())
        .collect();
    assert!(
        indexes.contains(&0),
        "the text link shares its HTML twin's index: {indexes:?}"
    );
    // Untracked sends leave the text part alone.
    let mut untracked = send;
    untracked["tracking"] = json!(false);
    let (email, _) = send_one(&app, untracked).await;
    assert!(!email["text"].as_str().unwrap().contains("/c/"));
    app.stop().await;
}

#[tokio::test]
async fn the_unsubscribe_url_is_filled_on_every_send_path() {
    let app = spawn_app().await;
    let template = |kind: &str, body: &str| json!({ "name": kind, "subject": "s", "body": body, "type": kind });
    let mut ids = Vec::new();
    for (kind, body) in [
        (
            "MARKETING",
            r#"<p><a data-case="u" href="{{unsubscribeUrl}}">Unsubscribe</a></p>"#,
        ),
        ("HEADLESS", "<p>No link of its own</p>"),
        (
            "TRANSACTIONAL",
            r#"<p><a data-case="u" href="{{unsubscribeUrl}}">Stop</a></p>"#,
        ),
    ] {
        let r: Value = app
            .post("/v1/templates", &template(kind, body))
            .await
            .json()
            .await
            .unwrap();
        ids.push((kind, r["data"]["id"].as_str().unwrap().to_string()));
    }
    let unsubscribe = format!("{}/unsubscribe/", app.base);
    for (kind, id) in ids {
        let (email, _) = send_one(
            &app,
            json!({ "to": "m@example.com", "template": id, "subscribed": true }),
        )
        .await;
        let html = email["html"].as_str().unwrap();
        let link = if kind == "HEADLESS" {
            // A footer Beacon adds, as on campaigns.
            let at = html.find(&unsubscribe).expect("footer link");
            html[at..].split('"').next().unwrap().to_string()
        } else {
            href_of(html, "u")
        };
        assert!(link.starts_with(&unsubscribe), "{kind}: {link}");
        assert_eq!(
            app.client.get(&link).send().await.unwrap().status(),
            200,
            "{kind}"
        );
        let headers = &email["headers"];
        let marketing = kind != "TRANSACTIONAL";
        assert_eq!(
            headers.get("List-Unsubscribe").is_some(),
            marketing,
            "{kind}: {headers}"
        );
        if marketing {
            assert_eq!(headers["List-Unsubscribe"], format!("<{link}>"));
            assert_eq!(
                headers["List-Unsubscribe-Post"],
                "List-Unsubscribe=One-Click"
            );
            let raw = app
                .get(&format!("/v1/outbox/{}", email["id"].as_str().unwrap()))
                .await;
            assert!(
                raw.text()
                    .await
                    .unwrap()
                    .contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click")
            );
        }
    }
    app.stop().await;
}
