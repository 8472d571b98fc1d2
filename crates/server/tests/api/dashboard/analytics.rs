//! The analytics page equals `GET /v1/stats` for the same days and stream.

use serde_json::{Value, json};

use super::owner;
use crate::campaigns::{contact, create, send_now, wait_campaign, wait_sent};
use crate::helpers::spawn_app;
use crate::tracking::{BROWSER, hit, send_one, tracking_urls};

const DAY: i64 = 86_400_000;

fn iso(ms: i64) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp_millis(ms)
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[tokio::test]
async fn the_analytics_page_equals_the_api_for_the_same_period_and_stream() {
    let app = spawn_app().await;
    let (v, pid) = owner(&app).await;
    let body = r#"<html><body><a href="https://example.com/x">x</a></body></html>"#;
    let (receipt, _) = send_one(
        &app,
        json!({ "to": "r@example.com", "subject": "Receipt", "body": body }),
    )
    .await;
    let ids = vec![
        contact(&app, "n1@example.com", true).await,
        contact(&app, "n2@example.com", true).await,
    ];
    let c = create(&app, json!({})).await;
    let cid = c["id"].as_str().unwrap();
    send_now(&app, cid).await;
    wait_campaign(&app, cid, "SENT").await;
    let news = wait_sent(&app, &ids, cid, 2).await;
    let html = |e: &Value| e["html"].as_str().unwrap().to_string();
    hit(
        &app,
        &tracking_urls(&app, &html(&receipt), "/o/")[0],
        BROWSER,
    )
    .await;
    hit(
        &app,
        &tracking_urls(&app, &html(&news[0]), "/o/")[0],
        BROWSER,
    )
    .await;
    hit(
        &app,
        &tracking_urls(&app, &html(&news[0]), "/c/")[0],
        BROWSER,
    )
    .await;
    hit(
        &app,
        &tracking_urls(&app, &html(&news[1]), "/o/")[0],
        "Mozilla/5.0",
    )
    .await;
    let tomorrow = (chrono::Utc::now().timestamp_millis() / DAY + 1) * DAY;
    let (from, to) = (tomorrow - 7 * DAY, tomorrow);
    for stream in ["", "CAMPAIGN", "TRANSACTIONAL"] {
        let mut path = format!("/v1/stats?from={}&to={}", iso(from), iso(to));
        if !stream.is_empty() {
            path.push_str(&format!("&stream={stream}"));
        }
        let api = app.get_json(&path).await["data"].clone();
        let page = v
            .page(&format!("/p/{pid}/analytics?period=7d&stream={stream}"))
            .await;
        let figure = |label: &str| page.texts(&format!("#figures tr[data-figure='{label}'] td"));
        let rate = |r: &Value| format!("{:.1} %", r.as_f64().unwrap() * 100.0);
        assert_eq!(
            figure("Sent")[0],
            api["sent"].to_string(),
            "stream {stream:?}"
        );
        let opened = if api["tracked"] == 0 {
            "—".to_string()
        } else {
            rate(&api["openRate"])
        };
        assert_eq!(figure("Open rate")[0], opened, "stream {stream:?}");
        assert_eq!(figure("Unsubscribes")[0], api["unsubscribed"].to_string());
        assert_eq!(
            figure("Bounce rate")[2],
            format!("{} bounces", api["bounced"])
        );
    }
    let all = v.page(&format!("/p/{pid}/analytics")).await;
    assert!(all.text("#range").contains("(UTC)"));
    let heat: i64 = all
        .texts("#heat td")
        .iter()
        .map(|t| t.parse::<i64>().unwrap())
        .sum();
    assert_eq!(heat, 2, "the people's two opens, not the proxy's");
    assert_eq!(
        all.texts("#reasons td")[..2],
        ["Apple Mail Privacy Protection", "1"]
    );
    assert_eq!(all.texts("#top-links td")[0], "https://example.com/post");
    let campaigns = v.page(&format!("/p/{pid}/analytics?stream=CAMPAIGN")).await;
    assert_eq!(
        campaigns.texts("#figures tr[data-figure='Sent'] td")[0],
        "2"
    );
    // Bad periods and streams are refused with the reason.
    let r = v.get(&format!("/p/{pid}/analytics?period=1y")).await;
    assert_eq!(r.status, 422);
    assert!(r.text("#range-error").contains("7d, 30d, 90d"));
    assert_eq!(
        v.get(&format!("/p/{pid}/analytics?stream=SMS"))
            .await
            .status,
        400
    );
    let r = v
        .get(&format!(
            "/p/{pid}/analytics?period=custom&from=2026-11-10&to=2026-11-01"
        ))
        .await;
    // Said next to the dates, over the default period.
    assert_eq!(r.status, 422);
    assert!(r.text("#range-error").contains("run forward"));
    assert!(r.text("#range").contains("beside the same length"));
    let custom = v
        .page(&format!(
            "/p/{pid}/analytics?period=custom&from=2026-11-01&to=2026-11-02"
        ))
        .await;
    assert!(
        custom
            .text("#range")
            .starts_with("2026-11-01 to 2026-11-02")
    );
    app.stop().await;
}
