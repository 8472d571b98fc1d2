//! Every page checks who is asking: a user of project B walks every dashboard route with
//! project A's ids and gets 404 each time, and nothing of A changes.

use reqwest::StatusCode;
use serde_json::json;

use super::{Visitor, invite, owner};
use crate::helpers::spawn_app;
use crate::tracking::send_one;

#[tokio::test]
async fn a_user_of_one_project_finds_nothing_of_another() {
    let app = spawn_app().await;
    let (alice, a) = owner(&app).await;
    // Project A (the default project) has a contact, an email and its owner.
    let (email, cid) = send_one(
        &app,
        json!({ "to": "a-reader@example.com", "subject": "A", "body": "<p>a</p>" }),
    )
    .await;
    let eid = email["id"].as_str().unwrap().to_string();
    let campaign = crate::campaigns::create(&app, json!({ "name": "A's campaign" })).await;
    let kid = campaign["id"].as_str().unwrap().to_string();
    let segment: serde_json::Value = app
        .post(
            "/v1/segments",
            &json!({ "name": "A's segment", "condition": { "field": "subscribed", "op": "equals", "value": true } }),
        )
        .await
        .json()
        .await
        .unwrap();
    let sid = segment["data"]["id"].as_str().unwrap().to_string();
    let template: serde_json::Value = app
        .post(
            "/v1/templates",
            &json!({ "name": "A's template", "subject": "s", "body": "<p>b</p>" }),
        )
        .await
        .json()
        .await
        .unwrap();
    let tid = template["data"]["id"].as_str().unwrap().to_string();
    let workflow = crate::workflows::workflow(
        &app,
        json!({ "name": "A's workflow", "trigger": { "event": "joined" },
                "steps": [{ "type": "SEND_EMAIL", "id": "hi", "template": tid }] }),
    )
    .await;
    let wid = workflow["id"].as_str().unwrap().to_string();
    let domain: serde_json::Value = app
        .post("/v1/domains", &json!({ "hostname": "links.a.example" }))
        .await
        .json()
        .await
        .unwrap();
    let did = domain["data"]["id"].as_str().unwrap().to_string();
    // The project as it stands, less its domain (which the scheduled DNS check may touch).
    let project_now = async || {
        let mut p = app.get_json("/v1/project").await["data"].clone();
        p.as_object_mut().unwrap().remove("trackingDomain");
        p
    };
    let keys_before = project_now().await;
    let contact_before = app.get_json(&format!("/v1/contacts/{cid}")).await["data"].clone();
    // Project B belongs to Bob alone: Alice makes it, makes Bob an owner, and leaves.
    let made = alice
        .submit("/projects", "/projects", &[("name", "B")])
        .await;
    let b = made.location.split('/').nth(2).unwrap().to_string();
    let (bob, _) = invite(&app, &alice, &b, "bob@example.com", "OWNER").await;
    let team_b = format!("/p/{b}/settings/team");
    let alice_id = alice
        .page(&team_b)
        .await
        .attrs("tr[data-member='owner@example.com'] select", "id")[0]
        .trim_start_matches("role-")
        .to_string();
    let left = alice
        .submit(
            &team_b,
            &format!("/p/{b}/settings/team/{alice_id}/remove"),
            &[],
        )
        .await;
    assert_eq!(left.status, 303);
    assert_eq!(
        alice.get(&format!("/p/{b}")).await.status,
        StatusCode::NOT_FOUND
    );
    let bob_csrf = bob.page(&format!("/p/{b}")).await.csrf();

    let pages = [
        format!("/p/{a}"),
        format!("/p/{a}/"),
        format!("/p/{a}/contacts"),
        format!("/p/{a}/contacts/{cid}"),
        format!("/p/{a}/activity"),
        format!("/p/{a}/emails"),
        format!("/p/{a}/emails?q={eid}"),
        format!("/p/{a}/emails/{eid}"),
        format!("/p/{a}/emails/{eid}/preview"),
        format!("/p/{a}/settings"),
        format!("/p/{a}/settings/tracking"),
        format!("/p/{a}/settings/keys"),
        format!("/p/{a}/settings/domains"),
        format!("/p/{a}/settings/team"),
        format!("/p/{a}/settings/project"),
        format!("/p/{a}/campaigns"),
        format!("/p/{a}/campaigns/new"),
        format!("/p/{a}/campaigns/{kid}"),
        format!("/p/{a}/campaigns/{kid}/send"),
        format!("/p/{a}/campaigns/{kid}/people?who=opened"),
        format!("/p/{a}/campaigns/{kid}/people.csv?who=opened"),
        format!("/p/{a}/templates"),
        format!("/p/{a}/templates/new"),
        format!("/p/{a}/templates/{tid}"),
        format!("/p/{b}/templates/{tid}"),
        format!("/p/{a}/segments"),
        format!("/p/{a}/segments/new"),
        format!("/p/{a}/segments/{sid}"),
        format!("/p/{a}/segments/{sid}/count"),
        format!("/p/{a}/workflows"),
        format!("/p/{a}/workflows/new"),
        format!("/p/{a}/workflows/{wid}"),
        format!("/p/{a}/workflows/{wid}/executions"),
        format!("/p/{b}/workflows/{wid}"),
        format!("/p/{b}/workflows/{wid}/executions"),
        format!("/p/{b}/campaigns/{kid}"),
        format!("/p/{b}/campaigns/{kid}/people?who=opened"),
        format!("/p/{b}/segments/{sid}"),
        format!("/p/{b}/segments/{sid}/count"),
        // A's ids under B's path.
        format!("/p/{b}/contacts/{cid}"),
        format!("/p/{b}/emails/{eid}"),
        format!("/p/{b}/emails/{eid}/preview"),
    ];
    for path in &pages {
        let r = bob.get(path).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "GET {path}");
        assert!(
            !r.html.html().contains("a-reader@example.com"),
            "GET {path} leaked"
        );
    }
    let forms: Vec<(String, Vec<(&str, &str)>)> = vec![
        (format!("/p/{a}/contacts"), vec![("email", "x@example.com")]),
        (
            format!("/p/{a}/contacts/{cid}/subscription"),
            vec![("subscribed", "false")],
        ),
        (format!("/p/{a}/contacts/{cid}/delete"), vec![]),
        (
            format!("/p/{a}/settings/tracking"),
            vec![("tracking", "DISABLED")],
        ),
        (
            format!("/p/{a}/settings/keys/regenerate"),
            vec![("confirm", "on")],
        ),
        (
            format!("/p/{a}/settings/links"),
            vec![("utm", "utm_source=b")],
        ),
        (
            format!("/p/{a}/settings/team"),
            vec![("email", "bob@example.com"), ("role", "OWNER")],
        ),
        (
            format!("/p/{a}/settings/team/{alice_id}/role"),
            vec![("role", "MEMBER")],
        ),
        (format!("/p/{a}/settings/team/{alice_id}/remove"), vec![]),
        (format!("/p/{a}/settings/project"), vec![("name", "taken")]),
        (format!("/p/{a}/campaigns"), vec![("name", "x")]),
        (format!("/p/{a}/preview"), vec![("body", "x")]),
        (format!("/p/{a}/campaigns/{kid}"), vec![("name", "x")]),
        (
            format!("/p/{a}/campaigns/{kid}/test"),
            vec![("to", "bob@example.com")],
        ),
        (format!("/p/{a}/campaigns/{kid}/send"), vec![]),
        (format!("/p/{a}/campaigns/{kid}/cancel"), vec![]),
        (format!("/p/{a}/campaigns/{kid}/delete"), vec![]),
        (
            format!("/p/{a}/campaigns/{kid}/people/segment?who=opened"),
            vec![],
        ),
        (format!("/p/{a}/templates"), vec![("name", "x")]),
        (format!("/p/{a}/templates/{tid}"), vec![("name", "x")]),
        (format!("/p/{a}/templates/{tid}/delete"), vec![]),
        (format!("/p/{b}/templates/{tid}/delete"), vec![]),
        (format!("/p/{a}/segments"), vec![("name", "x")]),
        (format!("/p/{a}/segments/count"), vec![]),
        (format!("/p/{a}/segments/{sid}"), vec![("name", "x")]),
        (format!("/p/{a}/segments/{sid}/delete"), vec![]),
        (format!("/p/{b}/campaigns/{kid}"), vec![("name", "x")]),
        (format!("/p/{b}/campaigns/{kid}/send"), vec![]),
        (format!("/p/{b}/campaigns/{kid}/delete"), vec![]),
        (format!("/p/{b}/segments/{sid}/delete"), vec![]),
        (format!("/p/{a}/workflows"), vec![("name", "x")]),
        (format!("/p/{a}/workflows/{wid}"), vec![("name", "x")]),
        (
            format!("/p/{a}/workflows/{wid}/enabled"),
            vec![("enabled", "off")],
        ),
        (format!("/p/{a}/workflows/{wid}/delete"), vec![]),
        (format!("/p/{b}/workflows/{wid}"), vec![("name", "x")]),
        (
            format!("/p/{b}/workflows/{wid}/enabled"),
            vec![("enabled", "off")],
        ),
        (format!("/p/{b}/workflows/{wid}/delete"), vec![]),
        (
            format!("/p/{a}/settings/project/delete"),
            vec![("confirm", "Default project")],
        ),
        (
            format!("/p/{b}/contacts/{cid}/subscription"),
            vec![("subscribed", "false")],
        ),
        (format!("/p/{b}/contacts/{cid}/delete"), vec![]),
        (
            format!("/p/{b}/settings/team/{alice_id}/role"),
            vec![("role", "MEMBER")],
        ),
        (format!("/p/{b}/settings/team/{alice_id}/remove"), vec![]),
        (
            format!("/p/{a}/settings/domains"),
            vec![("hostname", "links.b.example")],
        ),
        (format!("/p/{a}/settings/domains/{did}/verify"), vec![]),
        (format!("/p/{a}/settings/domains/{did}/remove"), vec![]),
        (format!("/p/{b}/settings/domains/{did}/remove"), vec![]),
    ];
    for (path, fields) in &forms {
        let r = bob.post(path, &bob_csrf, fields).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "POST {path}");
    }
    // Nothing of A changed.
    let keys_after = project_now().await;
    assert_eq!(keys_before, keys_after);
    let contact_after = app.get_json(&format!("/v1/contacts/{cid}")).await["data"].clone();
    assert_eq!(contact_before, contact_after);
    assert_eq!(
        app.get_json("/v1/domains").await["data"][0]["id"],
        json!(did)
    );
    assert_eq!(
        app.get_json(&format!("/v1/campaigns/{kid}")).await["data"]["status"],
        "DRAFT"
    );
    assert_eq!(app.get(&format!("/v1/segments/{sid}")).await.status(), 200);
    let after = app.get_json(&format!("/v1/workflows/{wid}")).await["data"].clone();
    assert_eq!(
        (after["name"].clone(), after["enabled"].clone()),
        (json!("A's workflow"), json!(true))
    );
    assert_eq!(
        app.get_json(&format!("/v1/templates/{tid}")).await["data"]["name"],
        "A's template"
    );
    assert_eq!(
        alice
            .page(&format!("/p/{a}/settings/team"))
            .await
            .texts("tr[data-member]")
            .len(),
        1
    );
    // A visitor with no session is sent to sign in, never shown a page.
    let stranger = Visitor::new(&app);
    for path in &pages {
        let r = stranger.get(path).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "GET {path}");
        assert!(r.location.starts_with("/login"), "{path}: {}", r.location);
    }
    app.stop().await;
}
