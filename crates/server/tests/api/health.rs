use crate::helpers::spawn_app;

#[tokio::test]
async fn health_answers_ok_with_the_store_reachable() {
    let app = spawn_app().await;
    let r = app.client.get(app.url("/health")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["database"], "ok");
    app.stop().await;
}

#[tokio::test]
async fn unknown_paths_are_a_json_404() {
    let app = spawn_app().await;
    let r = app.get("/v1/nothing-here").await;
    assert_eq!(r.status(), 404);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["success"], false);
    app.stop().await;
}
