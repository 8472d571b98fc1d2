//! `beacon-bench verdicts`: the labelled corpus of hits (`crates/tracking/tests/verdicts`)
//! replayed through a Beacon started in process on a fresh SQLite file, exactly as the
//! integration test `verdicts::the_labelled_corpus_is_judged_right` does, printing the accuracy
//! of its verdicts as one JSON object.

use std::time::Instant;

use beacon::config::Settings;
use beacon::startup::Application;
use beacon::store::{Db, projects};
use beacon::tracking::replay::{Target, replay};
use serde_json::json;

pub async fn run() -> anyhow::Result<()> {
    let began = Instant::now();
    let dir = std::env::temp_dir().join(format!("beacon-verdicts-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let url = format!("sqlite://{}", dir.join("verdicts.db").display());
    let mut settings = Settings::for_tests(&url);
    // The corpus gives each hit its client's address through a trusted proxy header, and is
    // labelled for the default thresholds.
    settings.trust_forwarded_for = true;
    let app = Application::build(settings).await?;
    let base = format!("http://127.0.0.1:{}", app.port());
    let secret_key = projects::list(&app.state().db)
        .await?
        .first()
        .map(|p| p.secret_key.clone())
        .ok_or_else(|| anyhow::anyhow!("no project"))?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    let db = Db::connect(&url).await?;
    let score = replay(&Target {
        base,
        db: db.clone(),
        secret_key,
    })
    .await;
    db.close().await;
    let _ = stop.send(());
    server.await??;
    let _ = std::fs::remove_dir_all(&dir);
    let score = score?;
    println!(
        "{}",
        json!({
            "bench": "verdicts",
            "hits": score.total,
            "accuracy": score.accuracy(),
            "humans": score.humans,
            "humans_flagged": score.humans_flagged,
            "machines_missed": score.machines_missed,
            "other_reason": score.other_reason,
            "mistakes": score.mistakes,
            "secs": began.elapsed().as_secs_f64(),
        })
    );
    Ok(())
}
