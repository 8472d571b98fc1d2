//! Link fidelity end to end: links spelled as senders write them (and as public bug reports
//! against other trackers show them) are sent, read back from the delivered message, followed,
//! and must redirect exactly where the untracked link would have led — the `href` after one
//! HTML decode, trimmed, parsed and serialised as the WHATWG URL Standard does — with a short
//! tracked `href`; links Beacon leaves alone must arrive byte for byte as written.

mod settings;
mod support;
mod table;

use std::collections::BTreeSet;

use serde_json::json;

use crate::helpers::spawn_app;
use crate::tracking::send_one;
use support::{delivered, href_of, location, run_campaign};
use table::{OPTED_OUT, table};

#[tokio::test]
async fn every_link_spelling_redirects_where_the_untracked_link_leads() {
    let app = spawn_app().await;
    let rows = table(&app.base);
    let mut body = String::from("<html><body>\n");
    for (case, attrs, _) in &rows {
        body.push_str(&format!("<a data-case=\"{case}\" {attrs}>{case}</a>\n"));
    }
    for (case, attrs, _) in OPTED_OUT {
        body.push_str(&format!("<a data-case=\"{case}\" {attrs}>{case}</a>\n"));
    }
    // An Outlook button and its HTML twin, and an image map's area.
    body.push_str(concat!(
        "<!--[if mso]><v:roundrect data-case=\"vml\" href=\"https://example.com/btn é\"></v:roundrect><![endif]-->",
        "<a data-case=\"vml-twin\" href=\"https://example.com/btn é\">button</a>\n",
        "<map><area data-case=\"area\" href=\"https://example.com/área\"></map>\n</body></html>"
    ));
    let data =
        json!({ "id": "42 x&y", "link": "https://example.com/from-data?a=1&b=é", "sub": "news" });
    let (email, contact) = send_one(
        &app,
        json!({ "to": "links@example.com", "subject": "Links", "body": body, "data": data }),
    )
    .await;
    let (html, _) = delivered(&app, email["id"].as_str().unwrap()).await;
    // MIME ends lines with CRLF; otherwise the delivered part is the stored one.
    let html = html.replace("\r\n", "\n");
    assert!(
        html == email["html"].as_str().unwrap(),
        "delivered = stored"
    );

    let mut extra = vec![
        ("vml", Some("https://example.com/btn%20%C3%A9".to_string())),
        (
            "vml-twin",
            Some("https://example.com/btn%20%C3%A9".to_string()),
        ),
        ("area", Some("https://example.com/%C3%A1rea".to_string())),
    ];
    let mut cases: Vec<(&str, Option<String>)> =
        rows.iter().map(|(c, _, want)| (*c, want.clone())).collect();
    cases.append(&mut extra);
    assert!(cases.len() >= 40, "{} spellings", cases.len());
    let mut expected_links = BTreeSet::new();
    for (case, want) in &cases {
        let href = href_of(&html, case);
        match want {
            Some(want) => {
                let prefix = format!("{}/c/", app.base);
                assert!(href.starts_with(&prefix), "{case}: not tracked: {href}");
                assert!(
                    href.len() < 200,
                    "{case}: href of {} characters",
                    href.len()
                );
                assert_eq!(&location(&app, &href).await, want, "{case}");
                expected_links.insert(want.clone());
            }
            None => {
                let (_, attrs, _) = rows.iter().find(|(c, _, _)| c == case).unwrap();
                assert!(
                    attrs.contains(&format!("\"{href}\"")),
                    "{case}: changed to {href}"
                );
            }
        }
    }
    for (case, _, as_written) in OPTED_OUT {
        assert_eq!(href_of(&html, case), *as_written, "{case}");
    }
    assert!(!html.contains("data-beacon-notrack") && !html.contains("clicktracking"));
    assert!(!html.contains("ses:no-track") && !html.contains("data-beacon-tag"));

    // The click events record the same URLs as the Locations, and the tag.
    app.settle().await;
    let stats = app.get_json("/v1/stats").await["data"]["links"].clone();
    let recorded: BTreeSet<String> = stats
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["url"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(recorded, expected_links);
    let tagged = stats
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["tag"] == "hero")
        .unwrap();
    assert_eq!(tagged["url"], "https://example.com/tagged%20%C3%BC");
    assert!(!app.events(&contact).await.is_empty());
    app.stop().await;
}

#[tokio::test]
async fn long_links_keep_redirecting_after_their_campaign_is_deleted_and_on_another_node() {
    let app = spawn_app().await;
    let long = format!(
        "https://example.com/report?ids={}",
        "1234567890,".repeat(300)
    );
    // The same long link twice, and once with the recipient's address at its end.
    let body = format!(
        "<p><a href=\"{long}\">Report</a> <a href=\"{long}\">Again</a> \
         <a href=\"{long}&amp;for={{{{email}}}}\">Mine</a></p>"
    );
    let r = app
        .post(
            "/v1/campaigns",
            &json!({ "name": "Long", "subject": "s", "body": body,
            "from": "news@example.com", "audience": { "all": true } }),
        )
        .await;
    let campaign = r.json::<serde_json::Value>().await.unwrap()["data"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut hrefs = Vec::new();
    let to = ["l1@example.com", "l2@example.com", "l3@example.com"];
    for (to, html) in run_campaign(&app, &campaign, &to).await {
        let prefix = format!("{}/c/", app.base);
        let found: Vec<String> = html
            .match_indices(&prefix)
            .map(|(at, _)| html[at..].split('"').next().unwrap().to_string())
            .collect();
        assert_eq!(found.len(), 3);
        assert!(found.iter().all(|h| h.len() < 200), "{found:?}");
        for (i, href) in found.into_iter().enumerate() {
            let want = if i < 2 {
                long.clone()
            } else {
                format!("{long}&for={to}")
            };
            hrefs.push((href, want));
        }
    }
    // One row, however many recipients and links carry the destination, personalised or not:
    // the row holds the long start and each token the short rest.
    assert_eq!(support::stored_destinations(&app).await, 1);

    // The campaign is deleted; its links keep working, here and on a second node.
    assert_eq!(
        app.delete(&format!("/v1/campaigns/{campaign}"))
            .await
            .status(),
        200
    );
    let second = crate::helpers::spawn_with(crate::helpers::Opts {
        db_url: Some(app.db_url.clone()),
        ..Default::default()
    })
    .await;
    for (href, want) in &hrefs {
        for node in [&app.base, &second.base] {
            let url = href.replacen(&app.base, node, 1);
            assert_eq!(&location(&app, &url).await, want);
        }
    }
    // An altered token never redirects.
    let mut forged = hrefs[2].0.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == 'A' { 'B' } else { 'A' });
    let r = app.client.get(&forged).send().await.unwrap();
    assert_eq!(r.status(), 404);
    second.stop().await;
    app.stop().await;
}
