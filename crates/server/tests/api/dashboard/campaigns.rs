//! Campaigns from the dashboard: a draft written, previewed (untracked), tested, confirmed with
//! its recipient count and sent; its results equal `GET /v1/campaigns/{id}/stats` after real
//! opens and clicks by people and machines; who opened or clicked, as a page, a CSV and a
//! segment.

use serde_json::{Value, json};

use super::owner;
use crate::campaigns::{contact, wait_campaign, wait_sent};
use crate::helpers::spawn_app;
use crate::tracking::{BROWSER, hit, set_mode, tracking_urls};

const BODY: &str = r#"<html><body><h1>Autumn</h1><p>Hi {{firstName ?? there}}</p><a href="https://example.com/read" data-beacon-tag="read">Read</a> <a href="https://example.com/shop">Shop</a></body></html>"#;

fn draft<'a>(
    name: &'a str,
    subject: &'a str,
    kind: &'a str,
    audience: &'a str,
    segment: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("name", name),
        ("subject", subject),
        ("from", "news@acme.example"),
        ("from_name", "Acme"),
        ("reply_to", ""),
        ("kind", kind),
        ("audience", audience),
        ("segment", segment),
        ("utm", ""),
        ("body", BODY),
    ]
}

#[tokio::test]
async fn a_campaign_goes_from_draft_to_results_that_equal_the_api() {
    let app = spawn_app().await;
    let (v, pid) = owner(&app).await;
    let mut pros = Vec::new();
    for i in 0..4 {
        let id = contact(&app, &format!("pro{i}@example.com"), i != 3).await;
        let _ = app
            .patch(
                &format!("/v1/contacts/{id}"),
                &json!({ "data": { "plan": "pro" } }),
            )
            .await;
        pros.push(id);
    }
    contact(&app, "free@example.com", true).await;
    // A segment of the pro plan, built from a rule row.
    let segments = format!("/p/{pid}/segments");
    let made = v
        .submit(
            &format!("{segments}/new"),
            &segments,
            &[
                ("name", "Pro plan"),
                ("match", "all"),
                ("r0_kind", "field"),
                ("r0_name", "data.plan"),
                ("r0_op", "equals"),
                ("r0_value", "pro"),
            ],
        )
        .await;
    assert_eq!(
        made.status,
        303,
        "{:?}",
        made.texts(".field-error, .form-error")
    );
    let segment_page = v.page(&made.location).await;
    assert_eq!(segment_page.text("#live-count"), "4 contacts match");
    let sid = made.created_id();
    // The draft: a bad field is shown next to it, with everything typed kept.
    let list = format!("/p/{pid}/campaigns");
    let csrf = v.page(&format!("{list}/new")).await.csrf();
    let bad = v
        .post(
            &list,
            &csrf,
            &draft("Autumn", "", "MARKETING", "segment", &sid),
        )
        .await;
    assert_eq!(bad.status, 422);
    assert!(bad.text("#subject-error").contains("empty"));
    assert_eq!(bad.attrs("#name", "value"), ["Autumn"]);
    assert!(bad.text("#body").contains("{{firstName ?? there}}"));
    let made = v
        .post(
            &list,
            &csrf,
            &draft("Autumn", "Autumn news", "MARKETING", "segment", &sid),
        )
        .await;
    assert_eq!(made.status, 303);
    let cid = made.created_id();
    let edit = v.page(&made.location).await;
    assert_eq!(
        edit.text("#tracking-note"),
        "Tracking: tracked: opens and clicks will be recorded."
    );
    // The preview is the body without tracking, in a sandbox of its own.
    let r = v
        .client
        .post(format!("{}/p/{pid}/preview", app.base))
        .form(&[
            ("csrf", csrf.as_str()),
            ("body", BODY),
            ("kind", "MARKETING"),
        ])
        .send()
        .await
        .unwrap();
    assert!(
        r.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .starts_with("sandbox;")
    );
    let html = r.text().await.unwrap();
    assert!(
        html.contains("Hi there") && html.contains("href=\"https://example.com/read\""),
        "{html}"
    );
    assert!(!html.contains("/o/") && !html.contains("/c/"), "{html}");
    // A test send: untracked, not counted, its subject marked.
    let r = v
        .post(
            &format!("{list}/{cid}/test"),
            &csrf,
            &[("to", "me@example.com")],
        )
        .await;
    assert_eq!(r.status, 303);
    let me = app.get_json("/v1/contacts/find?email=me@example.com").await["data"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut test = Value::Null;
    for _ in 0..200 {
        if let Some(e) = app
            .events(&me)
            .await
            .into_iter()
            .find(|e| e["name"] == "email.sent")
        {
            test = e;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let test = app.email(test["emailId"].as_str().unwrap()).await;
    assert_eq!(
        (test["tracked"].clone(), test["campaignId"].clone()),
        (json!(false), Value::Null)
    );
    assert_eq!(test["subject"], "[Test] Autumn news");
    // Send, after a confirmation that counts the subscribed pros.
    let confirm = v.page(&format!("{list}/{cid}/send")).await;
    assert_eq!(confirm.text("#recipients"), "3");
    assert_eq!(confirm.text("#confirm-send"), "Send to 3 recipients");
    let bad = v
        .post(
            &format!("{list}/{cid}/send"),
            &csrf,
            &[("when", "next tuesday")],
        )
        .await;
    assert!(bad.text("#when-error").contains("not a time"));
    let sent = v
        .post(&format!("{list}/{cid}/send"), &csrf, &[("when", "")])
        .await;
    assert_eq!(sent.status, 303);
    wait_campaign(&app, &cid, "SENT").await;
    let emails = wait_sent(&app, &pros, &cid, 3).await;
    // People and machines open and click, through the real endpoints.
    let html = |i: usize| emails[i]["html"].as_str().unwrap().to_string();
    hit(&app, &tracking_urls(&app, &html(0), "/o/")[0], BROWSER).await;
    hit(&app, &tracking_urls(&app, &html(0), "/c/")[1], BROWSER).await;
    hit(
        &app,
        &tracking_urls(&app, &html(1), "/o/")[0],
        "Mozilla/5.0",
    )
    .await;
    hit(
        &app,
        &tracking_urls(&app, &html(2), "/c/")[0],
        "Mozilla/5.0 (compatible; Mimecast)",
    )
    .await;
    let api = app.get_json(&format!("/v1/campaigns/{cid}/stats")).await["data"].clone();
    let results = v.page(&format!("{list}/{cid}")).await;
    let step = |s: &str| results.texts(&format!("#funnel tr[data-step='{s}'] td"));
    assert_eq!(step("Sent")[1], api["sent"].to_string());
    assert_eq!(step("Opened")[1], api["uniqueOpens"].to_string());
    assert_eq!(
        step("Opened")[3],
        (api["humanOpens"].as_i64().unwrap() + api["machineOpens"].as_i64().unwrap()).to_string()
    );
    assert_eq!(step("Clicked")[1], api["uniqueClicks"].to_string());
    assert_eq!(
        step("Opened")[2],
        format!(
            "{:.1} % of tracked",
            api["openRate"].as_f64().unwrap() * 100.0
        )
    );
    assert_eq!(
        (step("Opened")[1].as_str(), step("Opened")[3].as_str()),
        ("1", "2")
    );
    // The links table: what the API lists, people and machines apart.
    for l in api["links"].as_array().unwrap() {
        let row = results.texts(&format!("#links tr[data-link='{}'] td", l["index"]));
        assert_eq!(row[1], l["url"].as_str().unwrap());
        assert_eq!(
            (row[3].clone(), row[4].clone(), row[7].clone()),
            (
                l["humanClicks"].to_string(),
                l["uniqueHumanClicks"].to_string(),
                l["machineClicks"].to_string()
            )
        );
    }
    assert!(results.has("svg.chart"), "the chart is drawn");
    assert!(
        results.has("table.visually-hidden"),
        "with its numbers as a table"
    );
    // Who opened (people only) and who clicked the shop link.
    let opened = v.page(&format!("{list}/{cid}/people?who=opened")).await;
    assert_eq!(
        opened.texts("#people td a"),
        ["pro0@example.com"],
        "the Apple proxy's fetch is no one's open"
    );
    let csv = v
        .client
        .get(format!(
            "{}{list}/{cid}/people.csv?who=clicked&link=1",
            app.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let csv = csv.text().await.unwrap();
    assert!(
        csv.starts_with("email,contact_id,first_at\r\npro0@example.com,"),
        "{csv}"
    );
    assert_eq!(csv.lines().count(), 2);
    // … and as a segment that keeps the same definition.
    let made = v
        .post(
            &format!("{list}/{cid}/people/segment?who=clicked&link=1"),
            &csrf,
            &[],
        )
        .await;
    assert_eq!(made.status, 303);
    let page = v.page(&made.location).await;
    assert_eq!(page.text("#live-count"), "1 contacts match");
    assert_eq!(page.texts("#members a"), ["pro0@example.com"]);
    // The list shows the campaign with its rates.
    let row = v
        .page(&list)
        .await
        .texts(&format!("tr[data-campaign='{cid}'] td"));
    assert_eq!(
        (row[2].as_str(), row[4].as_str(), row[5].as_str()),
        ("SENT", "3", "33.3 %")
    );
    app.stop().await;
}

#[tokio::test]
async fn a_draft_can_go_to_contacts_matching_a_filter() {
    let app = spawn_app().await;
    let (v, pid) = owner(&app).await;
    contact(&app, "a@example.com", true).await;
    contact(&app, "b@example.com", false).await;
    let list = format!("/p/{pid}/campaigns");
    let csrf = v.page(&format!("{list}/new")).await.csrf();
    let mut fields = draft("Filtered", "Hi", "TRANSACTIONAL", "filter", "");
    fields.push(("filter", "{not json"));
    let bad = v.post(&list, &csrf, &fields).await;
    assert_eq!(bad.status, 422);
    assert!(bad.text("#audience-error").contains("not JSON"));
    assert_eq!(bad.text("#filter"), "{not json");
    fields.pop();
    fields.push((
        "filter",
        r#"{"field": "email", "op": "contains", "value": "b@"}"#,
    ));
    let made = v.post(&list, &csrf, &fields).await;
    assert_eq!(
        made.status,
        303,
        "{:?}",
        made.texts(".field-error, .form-error")
    );
    let cid = made.created_id();
    let confirm = v.page(&format!("{list}/{cid}/send")).await;
    assert_eq!(
        confirm.text("#recipients"),
        "1",
        "transactional: the unsubscribed contact counts"
    );
    app.stop().await;
}

#[tokio::test]
async fn the_editor_says_when_a_campaign_will_go_untracked() {
    let app = spawn_app().await;
    let (v, pid) = owner(&app).await;
    set_mode(&app, "MARKETING_ONLY").await;
    let list = format!("/p/{pid}/campaigns");
    let csrf = v.page(&format!("{list}/new")).await.csrf();
    let made = v
        .post(
            &list,
            &csrf,
            &draft("Notice", "Service notice", "TRANSACTIONAL", "all", ""),
        )
        .await;
    let edit = v.page(&made.location).await;
    assert_eq!(
        edit.text("#tracking-note"),
        "Tracking: untracked: TRANSACTIONAL campaigns are not tracked in Marketing-only mode."
    );
    // The note follows the type as it is picked, before saving (the fragment htmx swaps in).
    let note = |kind: &'static str| {
        let v = &v;
        let url = format!("{list}/tracking?kind={kind}");
        async move { v.page(&url).await.text("#tracking-note") }
    };
    assert_eq!(
        note("MARKETING").await,
        "Tracking: tracked: opens and clicks will be recorded."
    );
    assert!(note("TRANSACTIONAL").await.contains("untracked"));
    assert!(edit.has("fieldset[hx-get$='/campaigns/tracking']"));
    app.stop().await;
}

#[tokio::test]
async fn the_segment_builder_refuses_bad_rules_and_counts_as_it_goes() {
    let app = spawn_app().await;
    let (v, pid) = owner(&app).await;
    contact(&app, "a@example.com", true).await;
    contact(&app, "b@example.com", false).await;
    let segments = format!("/p/{pid}/segments");
    let csrf = v.page(&format!("{segments}/new")).await.csrf();
    let bad = v
        .post(
            &segments,
            &csrf,
            &[
                ("name", "X"),
                ("r1_kind", "opened"),
                ("r1_op", "triggeredWithin"),
                ("r1_days", "soon"),
            ],
        )
        .await;
    assert_eq!(bad.status, 422);
    assert!(bad.text("#rows-1-error").contains("number of days"));
    assert_eq!(bad.attrs("input[name=r1_days]", "value"), ["soon"]);
    let bad = v
        .post(
            &segments,
            &csrf,
            &[
                ("name", "X"),
                ("r0_kind", "field"),
                ("r0_name", "plan"),
                ("r0_op", "equals"),
                ("r0_value", "x"),
            ],
        )
        .await;
    assert!(
        bad.text("#rows-0-error").contains("unknown field"),
        "{}",
        bad.text("#rows-0-error")
    );
    let bad = v
        .post(
            &segments,
            &csrf,
            &[("name", "X"), ("json", "{\"all\": []}")],
        )
        .await;
    assert!(bad.text("#json-error").contains("empty"));
    // The live count, as the builder asks for it while typing.
    let r = v
        .post(
            &format!("{segments}/count"),
            &csrf,
            &[
                ("r0_kind", "field"),
                ("r0_name", "subscribed"),
                ("r0_op", "equals"),
                ("r0_value", "true"),
            ],
        )
        .await;
    assert_eq!(r.text("#live-count"), "1 contacts match");
    let r = v
        .post(
            &format!("{segments}/count"),
            &csrf,
            &[
                ("r0_kind", "field"),
                ("r0_name", "nope"),
                ("r0_op", "equals"),
            ],
        )
        .await;
    assert!(r.text("#live-count").starts_with("Not counted yet"));
    // A condition the rows cannot hold is edited as JSON.
    let nested = r#"{"any": [{"all": [{"field": "subscribed", "op": "equals", "value": false}]}]}"#;
    let made = v
        .post(&segments, &csrf, &[("name", "Nested"), ("json", nested)])
        .await;
    assert_eq!(made.status, 303);
    let page = v.page(&made.location).await;
    assert!(page.text("#json").contains("\"any\""));
    assert_eq!(page.texts("#members a"), ["b@example.com"]);
    app.stop().await;
}
