//! The Emails page: every email of the project newest first, in pages, by recipient, status
//! and stream; an email id goes to its page; another project's emails are never listed.

use serde_json::{Value, json};

use super::owner;
use crate::helpers::spawn_app;
use crate::tracking::{BROWSER, hit, send_one, tracking_urls};

#[tokio::test]
async fn emails_are_listed_newest_first_filtered_and_paged() {
    let app = spawn_app().await;
    let (v, pid) = owner(&app).await;
    let (first, ada) = send_one(
        &app,
        json!({ "to": "ada@example.com", "subject": "First", "body": "<a href=\"https://example.com/a\">a</a>" }),
    )
    .await;
    hit(
        &app,
        &tracking_urls(&app, first["html"].as_str().unwrap(), "/o/")[0],
        BROWSER,
    )
    .await;
    // Fifty more to fifty others in one request: the list pages at fifty.
    let many: Vec<String> = (0..50).map(|i| format!("r{i}@example.com")).collect();
    let r: Value = app
        .post(
            "/v1/send",
            &json!({ "to": many, "subject": "Many", "body": "<p>m</p>" }),
        )
        .await
        .json()
        .await
        .unwrap();
    let last = r["data"]["emails"][49]["email"]
        .as_str()
        .unwrap()
        .to_string();
    app.wait_status(&last, "SENT").await;

    let list = format!("/p/{pid}/emails");
    let page = v.page(&list).await;
    let rows = page.attrs("#emails tr[data-email]", "data-email");
    assert_eq!(rows.len(), 50);
    assert!(!rows.contains(&first["id"].as_str().unwrap().to_string()));
    let older = page.attrs("a[rel=next]", "href");
    let page2 = v.page(&format!("{list}{}", older[0])).await;
    assert_eq!(
        page2.attrs("#emails tr[data-email]", "data-email"),
        [first["id"].as_str().unwrap()]
    );
    let cells = page2.texts("#emails td");
    assert_eq!(
        cells[1..5],
        ["ada@example.com", "First", "TRANSACTIONAL", "OPENED"]
    );
    assert!(cells[5].ends_with("UTC"), "opened by a person: {cells:?}");
    assert_eq!(
        page2.attrs("#emails td a", "href")[0],
        format!("/p/{pid}/contacts/{ada}")
    );

    // By recipient (any case), status and stream.
    let by = v.page(&format!("{list}?q=ADA@example.com")).await;
    assert_eq!(by.texts("#emails td a")[1], "First");
    assert_eq!(by.texts("#emails tr[data-email]").len(), 1);
    let opened = v.page(&format!("{list}?status=OPENED")).await;
    assert_eq!(opened.texts("#emails tr[data-email] td a")[1], "First");
    let failed = v.page(&format!("{list}?status=FAILED")).await;
    assert!(failed.texts("#emails tr[data-email]").is_empty());
    let campaigns = v.page(&format!("{list}?stream=CAMPAIGN")).await;
    assert!(campaigns.texts("#emails tr[data-email]").is_empty());
    assert_eq!(v.get(&format!("{list}?status=LOST")).await.status, 400);
    let nobody = v.page(&format!("{list}?q=nobody%27%3B--")).await;
    assert!(nobody.texts("#emails tr[data-email]").is_empty());
    // An id goes to the email.
    let id = first["id"].as_str().unwrap();
    let go = v.get(&format!("{list}?q={id}")).await;
    assert_eq!(go.location, format!("/p/{pid}/emails/{id}"));

    // Another project's owner finds none of them, not even by id.
    let made = v
        .submit("/projects", "/projects", &[("name", "Other")])
        .await;
    let other = made.location.split('/').nth(2).unwrap().to_string();
    let theirs = v.page(&format!("/p/{other}/emails")).await;
    assert!(theirs.texts("#emails tr[data-email]").is_empty());
    let by_id = v.get(&format!("/p/{other}/emails?q={id}")).await;
    assert_eq!(by_id.status, 200);
    assert!(by_id.location.is_empty());
    app.stop().await;
}
