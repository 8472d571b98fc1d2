//! Pages as a signed-in user sees them: the numbers, contacts, activity and an email, each
//! checked against what the API says. Getting in is `signin.rs`.

use serde_json::{Value, json};

use super::owner;
use crate::helpers::spawn_app;
use crate::tracking::{BROWSER, hit, send_one, tracking_urls};

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
    // The default outbox delivers nothing, and says so rather than showing 0 % delivered.
    assert!(
        asides.iter().any(|a| a.contains("outbox transport")),
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
