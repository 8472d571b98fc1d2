//! The OpenAPI document: committed as docs/openapi.json, served at /openapi.json, and every
//! operation it lists is a route the server has.

use serde_json::Value;

use crate::helpers::spawn_app;

const COMMITTED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/openapi.json");

/// Fails when the code's document and the committed one differ. Run with
/// `BEACON_WRITE_OPENAPI=1` to write the generated one to docs/openapi.json.
#[test]
fn the_committed_document_is_the_generated_one() {
    let generated = beacon::api::openapi::json();
    if std::env::var_os("BEACON_WRITE_OPENAPI").is_some() {
        std::fs::write(COMMITTED, generated).unwrap();
    }
    let committed = std::fs::read_to_string(COMMITTED).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/openapi.json differs from the document the code generates; regenerate it with \
         BEACON_WRITE_OPENAPI=1 cargo test -p beacon --test api openapi"
    );
    let doc: Value = serde_json::from_str(generated).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
}

#[tokio::test]
async fn the_document_is_served_and_every_operation_is_a_route() {
    let app = spawn_app().await;
    let served = app
        .client
        .get(app.url("/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(served.status(), 200);
    assert_eq!(served.headers()["content-type"], "application/json");
    let served = served.text().await.unwrap();
    assert_eq!(served, beacon::api::openapi::json());

    let doc: Value = serde_json::from_str(&served).unwrap();
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.len() >= 35, "{} paths", paths.len());
    for (path, ops) in paths {
        for method in ops.as_object().unwrap().keys() {
            let url = app.url(&path.replace(['{', '}'], ""));
            let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let answer = app
                .client
                .request(method.clone(), &url)
                .send()
                .await
                .unwrap();
            let status = answer.status().as_u16();
            let body = answer.text().await.unwrap_or_default();
            // The fallback's 404 and 405 say the router has no such route.
            assert!(
                status != 405 && !body.contains("no such endpoint"),
                "{method} {path}: {status} {body}"
            );
        }
    }
    app.stop().await;
}
