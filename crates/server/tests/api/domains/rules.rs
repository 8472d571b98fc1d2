//! What a project may add (422s that say which rule), and who gets a name two projects ask for.

use serde_json::json;

use super::*;
use crate::dns::DnsFixture;

#[tokio::test]
async fn bad_domains_get_422s_that_say_which() {
    let dns = DnsFixture::start().await;
    let app = spawn(&dns, None).await;
    let key = app.secret_key.clone();
    let other = other_project(&app).await;
    let taken = add(&app, &other, "taken.example.com").await;
    dns.txt(
        "_beacon.taken.example.com",
        taken["records"][1]["value"].as_str().unwrap(),
    );
    let taken = verify(&app, &other, taken["id"].as_str().unwrap()).await;
    assert_eq!(taken["status"], "VERIFIED", "{taken}");
    let cases = [
        (
            json!({ "hostname": "not a host" }),
            "hostname",
            "not a hostname",
        ),
        (
            json!({ "hostname": "203.0.113.9" }),
            "hostname",
            "IP address",
        ),
        (
            json!({ "hostname": "[2001:db8::1]" }),
            "hostname",
            "IP address",
        ),
        (
            json!({ "hostname": "beacon.test" }),
            "hostname",
            "Beacon's own host",
        ),
        (
            json!({ "hostname": "taken.example.com" }),
            "hostname",
            "another project",
        ),
        (
            json!({ "hostname": "https://links.example.com" }),
            "hostname",
            "hostname alone",
        ),
        (json!({ "hostname": "links" }), "hostname", "full name"),
        (json!({ "hostname": "" }), "hostname", "give a hostname"),
        (
            json!({ "hostname": "links.example.com", "scheme": "ftp" }),
            "scheme",
            "https",
        ),
    ];
    for (body, field, words) in cases {
        let (status, r) = call(&app, &key, "POST", "/v1/domains", Some(body.clone())).await;
        assert_eq!(status, 422, "{body}: {r}");
        assert_eq!(r["field"], field, "{body}: {r}");
        let message = r["message"].as_str().unwrap();
        assert!(message.contains(words), "{body}: {message}");
    }
    // One domain per project, and nothing was added by the refusals.
    let (_, list) = call(&app, &key, "GET", "/v1/domains", None).await;
    assert_eq!(list["data"], json!([]));
    add(&app, &key, "links.example.com").await;
    let (status, r) = call(
        &app,
        &key,
        "POST",
        "/v1/domains",
        Some(json!({ "hostname": "x.example.com" })),
    )
    .await;
    assert_eq!(status, 422, "{r}");
    assert!(
        r["message"].as_str().unwrap().contains("remove it first"),
        "{r}"
    );
    // Unknown ids are 404, another project's too.
    let theirs = call(&app, &other, "GET", "/v1/domains", None).await.1["data"][0]["id"].clone();
    let theirs = theirs.as_str().unwrap();
    for (method, path) in [
        ("GET", format!("/v1/domains/{theirs}")),
        ("POST", format!("/v1/domains/{theirs}/verify")),
        ("DELETE", format!("/v1/domains/{theirs}")),
        ("GET", "/v1/domains/nope".to_string()),
    ] {
        assert_eq!(
            call(&app, &key, method, &path, None).await.0,
            404,
            "{method} {path}"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn a_name_two_projects_ask_for_goes_to_the_one_that_proves_it() {
    let dns = DnsFixture::start().await;
    let app = spawn(&dns, None).await;
    let key = app.secret_key.clone();
    let other = other_project(&app).await;
    // Adding a name does not hold it: another project may add it too.
    let ours = add(&app, &key, "links.contested.test").await;
    let theirs = add(&app, &other, "links.contested.test").await;
    // The CNAME points at Beacon, but says nothing of which project: it verifies neither.
    dns.cname("links.contested.test", "beacon.test");
    let checked = verify(&app, &key, ours["id"].as_str().unwrap()).await;
    assert_eq!(checked["status"], "PENDING", "{checked}");
    assert!(
        checked["lastError"]
            .as_str()
            .unwrap()
            .contains("only the TXT record verifies it"),
        "{checked}"
    );
    // Their own TXT token does; then the name is theirs, and ours cannot be verified.
    dns.txt(
        "_beacon.links.contested.test",
        theirs["records"][1]["value"].as_str().unwrap(),
    );
    let won = verify(&app, &other, theirs["id"].as_str().unwrap()).await;
    assert_eq!(won["status"], "VERIFIED", "{won}");
    let lost = verify(&app, &key, ours["id"].as_str().unwrap()).await;
    assert_eq!(lost["status"], "PENDING", "{lost}");
    assert!(
        lost["lastError"]
            .as_str()
            .unwrap()
            .contains("verified it first"),
        "{lost}"
    );
    let project = app.get_json("/v1/project").await["data"].clone();
    assert_eq!(project["trackingUrl"], PUBLIC);
    app.stop().await;
}

#[tokio::test]
async fn a_nameserver_that_never_answers_gets_one_bounded_answer() {
    // A UDP socket that reads every query and answers none (as a firewalled resolver does).
    let silent = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let app = spawn_with(Opts {
        dns_server: Some(silent.local_addr().unwrap()),
        public_url: Some(PUBLIC.into()),
        ..Opts::default()
    })
    .await;
    let key = app.secret_key.clone();
    let domain = add(&app, &key, "links.example.com").await;
    let started = std::time::Instant::now();
    let checked = verify(&app, &key, domain["id"].as_str().unwrap()).await;
    let took = started.elapsed();
    assert_eq!(checked["status"], "PENDING", "{checked}");
    let why = checked["lastError"].as_str().unwrap();
    // Both lookups (CNAME: the instance has a host name; TXT) gave up at the budget...
    assert_eq!(why.matches("no answer within 4 s").count(), 2, "{why}");
    // ...at the same time: one budget's wait, where one after the other would be two.
    assert!(took < std::time::Duration::from_secs(8), "{took:?}");
    drop(silent);
}
