//! A campaign's audience given as a condition in place (`{"condition": …}`): checked like a
//! segment's, counted and walked like one.

use serde_json::{Value, json};

use crate::campaigns::{contact, create, send_now, wait_campaign, wait_sent};
use crate::helpers::spawn_app;

#[tokio::test]
async fn a_campaign_goes_to_the_contacts_its_condition_matches() {
    let app = spawn_app().await;
    let pro = contact(&app, "pro@example.com", true).await;
    let _ = app
        .patch(
            &format!("/v1/contacts/{pro}"),
            &json!({ "data": { "plan": "pro" } }),
        )
        .await;
    let free = contact(&app, "free@example.com", true).await;
    let condition = json!({ "field": "data.plan", "op": "equals", "value": "pro" });
    // A bad condition is refused with its path.
    let r = app
        .post("/v1/campaigns", &json!({ "name": "n", "subject": "s", "body": "<p>b</p>", "from": "a@example.com", "audience": { "condition": { "field": "plan", "op": "equals", "value": 1 } } }))
        .await;
    assert_eq!(r.status(), 422);
    let err: Value = r.json().await.unwrap();
    assert!(
        err["field"]
            .as_str()
            .unwrap()
            .starts_with("audience.condition"),
        "{err}"
    );
    let c = create(&app, json!({ "audience": { "condition": condition } })).await;
    assert_eq!(c["audience"]["condition"], condition);
    let id = c["id"].as_str().unwrap();
    send_now(&app, id).await;
    wait_campaign(&app, id, "SENT").await;
    let sent = wait_sent(&app, &[pro.clone(), free.clone()], id, 1).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["to"], "pro@example.com");
    app.stop().await;
}
