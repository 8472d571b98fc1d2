//! Settings → Domains: a tracking domain added, shown with its DNS records, verified and
//! removed from the page, through the rules `/v1/domains` uses.

use serde_json::json;

use super::{invite, owner};
use crate::dns::DnsFixture;
use crate::helpers::{Opts, spawn_with};

#[tokio::test]
async fn a_domain_is_added_verified_and_removed_from_its_page() {
    let dns = DnsFixture::start().await;
    let app = spawn_with(Opts {
        dns_server: Some(dns.addr),
        public_url: Some("http://beacon.test".into()),
        ..Opts::default()
    })
    .await;
    let (v, pid) = owner(&app).await;
    let path = format!("/p/{pid}/settings/domains");
    let page = v.page(&path).await;
    assert_eq!(page.text("#tracking-base"), "http://beacon.test");
    let csrf = page.csrf();

    // A refusal is shown next to the field, with what was typed.
    let refused = v
        .post(
            &path,
            &csrf,
            &[("hostname", "10.0.0.1"), ("scheme", "https")],
        )
        .await;
    assert_eq!(refused.status, 422);
    assert!(
        refused.text("#hostname-error").contains("IP address"),
        "{}",
        refused.text("#hostname-error")
    );
    assert_eq!(refused.attrs("#hostname", "value"), ["10.0.0.1"]);
    let refused = v
        .post(
            &path,
            &csrf,
            &[("hostname", "beacon.test"), ("scheme", "https")],
        )
        .await;
    assert!(
        refused
            .text("#hostname-error")
            .contains("Beacon's own host")
    );

    let added = v
        .post(
            &path,
            &csrf,
            &[("hostname", "links.dash.test"), ("scheme", "https")],
        )
        .await;
    assert_eq!(added.status, 303, "{}", added.html.html());
    let page = v.page(&added.location).await;
    assert_eq!(page.attrs("#domain", "data-status"), ["PENDING"]);
    assert_eq!(page.texts("tr[data-record]").len(), 2);
    let txt = page.texts("tr[data-record=TXT] code");
    assert_eq!(txt[0], "_beacon.links.dash.test");
    let did = app.get_json("/v1/domains").await["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();

    // Members see it and change nothing.
    let (member, _) = invite(&app, &v, &pid, "member@example.com", "MEMBER").await;
    let seen = member.page(&path).await;
    assert!(seen.has("tr[data-record=CNAME]"));
    let member_csrf = seen.csrf();
    for action in [
        format!("{path}/{did}/verify"),
        format!("{path}/{did}/remove"),
    ] {
        assert_eq!(
            member.post(&action, &member_csrf, &[]).await.status,
            403,
            "{action}"
        );
    }

    // Not there yet: the check says why; then the TXT record verifies it.
    let checked = v.post(&format!("{path}/{did}/verify"), &csrf, &[]).await;
    assert_eq!(checked.status, 303);
    let page = v.page(&checked.location).await;
    assert!(page.text("#domain-error").contains("no TXT record"));
    dns.txt(&txt[0], &txt[1]);
    v.post(&format!("{path}/{did}/verify"), &csrf, &[]).await;
    let page = v.page(&path).await;
    assert_eq!(page.attrs("#domain", "data-status"), ["VERIFIED"]);
    assert_eq!(page.text("#tracking-base"), "https://links.dash.test");
    assert_eq!(
        app.get_json("/v1/project").await["data"]["trackingUrl"],
        json!("https://links.dash.test")
    );

    assert_eq!(
        v.post(&format!("{path}/{did}/undo"), &csrf, &[])
            .await
            .status,
        404
    );
    let removed = v.post(&format!("{path}/{did}/remove"), &csrf, &[]).await;
    assert_eq!(removed.status, 303);
    let page = v.page(&removed.location).await;
    assert!(page.has("#hostname"));
    assert_eq!(page.text("#tracking-base"), "http://beacon.test");
    app.stop().await;
}
