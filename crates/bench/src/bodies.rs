//! `beacon-bench bodies DB_URL [N]`: reading an email with its bodies as `GET /v1/emails/{id}`
//! and the dashboard do (`beacon::store::emails::get`: the row, its compressed bodies, their
//! dictionary, decompressed), for N emails spread over the store (after the campaign bench).
//! Prints one JSON object: times in microseconds and the bodies' stored size.

use std::time::Instant;

use beacon::store::{Db, emails};
use serde_json::json;

pub async fn run(url: &str, n: usize) -> anyhow::Result<()> {
    let db = Db::connect(url).await?;
    let all: Vec<(String, String)> =
        sqlx::query_as("SELECT project_id, id FROM emails ORDER BY id")
            .fetch_all(&db.read)
            .await?;
    anyhow::ensure!(!all.is_empty(), "no emails in {url}");
    let step = (all.len() / n.max(1)).max(1);
    let mut micros = Vec::with_capacity(n);
    for (project, id) in all.iter().step_by(step).take(n) {
        let t = Instant::now();
        let found = emails::get(&db, project, id).await?;
        micros.push(t.elapsed().as_secs_f64() * 1e6);
        anyhow::ensure!(
            found.is_some_and(|e| e.bodies.html.is_some()),
            "email {id} has no HTML"
        );
    }
    micros.sort_by(f64::total_cmp);
    let at = |q: f64| micros[((micros.len() - 1) as f64 * q).round() as usize];
    let (count, bytes): (i64, Option<i64>) =
        sqlx::query_as("SELECT COUNT(*), CAST(SUM(LENGTH(packed)) AS BIGINT) FROM email_bodies")
            .fetch_one(&db.read)
            .await?;
    println!(
        "{}",
        json!({
            "reads": micros.len(),
            "mean_us": micros.iter().sum::<f64>() / micros.len() as f64,
            "p50_us": at(0.5),
            "p99_us": at(0.99),
            "max_us": at(1.0),
            "bodies": count,
            "stored_bytes_per_email": bytes.unwrap_or(0) as f64 / count.max(1) as f64,
        })
    );
    db.close().await;
    Ok(())
}
