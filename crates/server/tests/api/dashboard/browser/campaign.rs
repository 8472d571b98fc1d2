//! In a real browser: a campaign made from the dashboard shows a real open and click in its
//! results, chart, links and CSV.

use super::*;

#[tokio::test]
async fn a_campaign_made_in_the_browser_shows_a_real_open_and_click_in_its_results() {
    let _one = ONE_AT_A_TIME.lock().await;
    let Some(b) = chrome().await else { return };
    let (relay, app) = app_with_sink().await;
    for (email, plan) in [
        ("ada@example.com", "pro"),
        ("grace@example.com", "pro"),
        ("alan@example.com", "free"),
    ] {
        let r = app
            .post(
                "/v1/contacts",
                &json!({ "email": email, "subscribed": true, "data": { "plan": plan } }),
            )
            .await;
        assert_eq!(r.status(), 201);
    }
    b.set_up(&app).await;
    // A segment of the pro plan, from the builder.
    b.go_by("nav a[href$='/segments']").await;
    b.go_by("a[href$='/segments/new']").await;
    b.fill("#name", "Pro plan").await;
    b.css("select[name=r0_kind]")
        .await
        .select_by_value("field")
        .await
        .unwrap();
    b.fill("input[name=r0_name]", "data.plan").await;
    b.css("select[name=r0_op]")
        .await
        .select_by_value("equals")
        .await
        .unwrap();
    b.fill("input[name=r0_value]", "pro").await;
    b.go_by("#segment-form button[type=submit]").await;
    assert_eq!(b.text("#live-count").await, "2 contacts match");
    // The campaign, to that segment, with a link back to Beacon's health page.
    let destination = format!("{}/health?from=campaign", app.base);
    b.go_by("nav a[href$='/campaigns']").await;
    b.go_by("a[href$='/campaigns/new']").await;
    b.fill("#name", "November news").await;
    b.fill("#subject", "November news").await;
    b.fill("#body", &format!("<h1>November</h1><p>Hello {{{{email}}}}</p><p><a href=\"{destination}\">Read on</a></p>")).await;
    b.click("input[name=audience][value=segment]").await;
    let segment = b.css("#segment").await;
    segment.select_by_label("Pro plan").await.unwrap();
    b.go_by("#draft button[type=submit]:not(#preview-button)")
        .await;
    assert!(b.text("#tracking-note").await.contains("tracked"));
    b.go_by("a[href$='/send']").await;
    assert_eq!(b.text("#recipients").await, "2");
    b.go_by("#confirm-send").await;
    let delivered = relay.wait_for(2, Duration::from_secs(20)).await;
    let ada = delivered
        .iter()
        .find(|m| m.rcpt_to == ["ada@example.com"])
        .unwrap();
    let html = delivered_html(&ada.data);
    b.go(&urls(&html, &format!("{}/o/", app.base))[0]).await;
    b.go(&urls(&html, &format!("{}/c/", app.base))[0]).await;
    assert_eq!(b.client.current_url().await.unwrap().as_str(), destination);
    app.settle().await;
    // The results: the funnel, the links table and the chart show them.
    b.go(&app.base).await;
    b.go_by("nav a[href$='/campaigns']").await;
    let campaign = b
        .client
        .find(Locator::LinkText("November news"))
        .await
        .unwrap();
    b.leave(campaign).await;
    let opened = b.text("#funnel tr[data-step='Opened']").await;
    assert!(opened.starts_with("Opened 1 50.0 %"), "{opened}");
    let link = b.text("#links tr[data-link='0']").await;
    assert!(
        link.contains(&destination) && link.contains("100.0 %"),
        "{link}"
    );
    assert!(
        b.css("svg.chart polyline.people-opens")
            .await
            .is_displayed()
            .await
            .unwrap()
    );
    b.shot("campaign").await;
    // Who clicked, and their CSV (fetched with the browser's own session).
    b.go_by("#links tr[data-link='0'] a").await;
    assert_eq!(b.text("#people td a").await, "ada@example.com");
    let csv_href = b
        .css("a[download]")
        .await
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    let session = b.client.get_named_cookie("beacon_session").await.unwrap();
    let csv = app
        .client
        .get(format!("{}{csv_href}", app.base))
        .header("cookie", format!("beacon_session={}", session.value()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(csv.contains("\r\nada@example.com,"), "{csv}");
    assert!(!csv.contains("grace@example.com"));
    b.go_by("nav a[href$='/analytics']").await;
    b.css("#heat").await;
    b.shot("analytics").await;
    b.close().await;
    app.stop().await;
}
