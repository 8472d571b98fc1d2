//! In a real browser: a real open and click on the contact's timeline, and an email preview that
//! records nothing.

use super::*;

#[tokio::test]
async fn a_real_open_and_click_appear_on_the_timeline_and_the_preview_records_nothing() {
    let _one = ONE_AT_A_TIME.lock().await;
    let Some(b) = chrome().await else { return };
    let (relay, app) = app_with_sink().await;
    b.set_up(&app).await;
    // The link leads back to Beacon's own health page, so following it lands somewhere real.
    let destination = format!("{}/health?from=newsletter", app.base);
    let body = format!(
        "<html><body><h1>Autumn news</h1><p>Dear reader,</p><p><a href=\"{destination}\">Read more</a></p></body></html>"
    );
    for to in ["ada@example.com", "grace@example.com"] {
        let r = app
            .post(
                "/v1/send",
                &json!({ "to": to, "subject": "Autumn news", "body": body }),
            )
            .await;
        assert_eq!(r.status(), 200);
    }
    let delivered = relay.wait_for(2, Duration::from_secs(10)).await;
    let m = delivered
        .iter()
        .find(|m| m.rcpt_to == ["ada@example.com"])
        .unwrap();
    let html = delivered_html(&m.data);
    // The recipient's mail client loads the pixel; they click the link.
    b.go(&urls(&html, &format!("{}/o/", app.base))[0]).await;
    b.go(&urls(&html, &format!("{}/c/", app.base))[0]).await;
    assert_eq!(b.client.current_url().await.unwrap().as_str(), destination);
    // Grace's copy is fetched by Apple's privacy proxy: a machine open, flagged.
    let grace = delivered
        .iter()
        .find(|m| m.rcpt_to == ["grace@example.com"])
        .unwrap();
    let pixel = urls(&delivered_html(&grace.data), &format!("{}/o/", app.base))[0].clone();
    let r = app
        .client
        .get(&pixel)
        .header("user-agent", "Mozilla/5.0")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    app.settle().await;
    let before = app.get_json("/v1/stats").await["data"].clone();
    assert_eq!(
        (before["humanOpens"].clone(), before["machineOpens"].clone()),
        (json!(1), json!(1))
    );
    // Their contact page tells the story.
    b.go(&app.base).await;
    b.shot("home").await;
    b.go_by("nav a[href$='/contacts']").await;
    b.shot("contacts").await;
    let ada = b
        .client
        .find(Locator::LinkText("ada@example.com"))
        .await
        .unwrap();
    b.leave(ada).await;
    let timeline = b.text(".timeline").await;
    assert!(
        timeline.contains("Clicked") && timeline.contains("Opened") && timeline.contains("Sent"),
        "{timeline}"
    );
    assert!(timeline.contains(&destination), "{timeline}");
    let verdicts = b
        .client
        .find_all(Locator::Css(".timeline [data-verdict]"))
        .await
        .unwrap();
    assert_eq!(verdicts.len(), 2);
    for v in verdicts {
        assert_eq!(v.text().await.unwrap(), "person");
    }
    b.shot("contact").await;
    b.go_by(".timeline li[data-event='email.click'] a[href*='/emails/']")
        .await;
    b.css("iframe.preview").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    b.shot("email").await;
    // The Emails page lists both, Ada's clicked by a person.
    b.go_by("nav a[href$='/emails']").await;
    let rows = b.text("#emails").await;
    assert!(
        rows.contains("ada@example.com") && rows.contains("grace@example.com"),
        "{rows}"
    );
    assert!(rows.contains("CLICKED"), "{rows}");
    b.shot("emails").await;
    // Grace's email, opened in the dashboard with its preview, records nothing.
    b.go_by("nav a[href$='/contacts']").await;
    let grace = b.css("tr[data-contact] a").await;
    assert_eq!(grace.text().await.unwrap(), "grace@example.com");
    b.leave(grace).await;
    b.go_by(".timeline li[data-event='email.sent'] a[href*='/emails/']")
        .await;
    b.css("iframe.preview").await.enter_frame().await.unwrap();
    let link = b.css("a").await;
    assert_eq!(
        link.attr("href").await.unwrap().as_deref(),
        Some(destination.as_str())
    );
    assert!(
        b.client
            .find_all(Locator::Css("img"))
            .await
            .unwrap()
            .is_empty(),
        "no pixel in the preview"
    );
    link.click().await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    b.client.enter_parent_frame().await.unwrap();
    app.settle().await;
    let after = app.get_json("/v1/stats").await["data"].clone();
    // Every count and link, not the window (`from`, `to`), which moves with the clock.
    let counts = |mut v: Value| {
        v.as_object_mut()
            .unwrap()
            .retain(|k, _| k != "from" && k != "to");
        v
    };
    assert_eq!(
        counts(before),
        counts(after),
        "the preview and a click in it recorded nothing"
    );
    b.close().await;
    app.stop().await;
}
