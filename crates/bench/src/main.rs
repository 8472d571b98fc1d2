//! Throughput helpers for `bench/run.sh` (never run by the test suite). Each prints one JSON
//! object per measurement on stdout.
//!
//! - `beacon-bench group-commit DB_URL [SECS]`: hits/s the ingest writer appends at batch sizes
//!   1, 10, 100 and 1000 (its statement: `append`, on one connection kept out of the pool), then hits/s the fold applies from that
//!   backlog to the email counters and events (the server's slice size).
//! - `beacon-bench render HTML_FILE N`: the tracking library rendering N recipients of one
//!   template in process (compile once, `CompiledTemplate::render` each), against a full
//!   `substitute` + `rewrite_html` per recipient on a sample.
//! - `beacon-bench segments [DB_FILE] [SECS]`: segment counts over 100,000 contacts and
//!   1,000,000 events on SQLite (`segments.rs`), each case sampled for about SECS.
//! - `beacon-bench pages [DB_FILE] [SECS]`: the dashboard's pages on the same data set plus
//!   100,000 emails, through a real server (`pages.rs`), each page sampled for about SECS.
//! - `beacon-bench bodies DB_URL [N]`: reading N emails with their bodies as the API does
//!   (`bodies.rs`), after the campaign bench filled the store.
//! - `beacon-bench verdicts`: the accuracy of the machine verdicts on the labelled corpus of
//!   hits, replayed through a Beacon started in process (`verdicts.rs`).

mod bodies;
mod pages;
mod segments;
mod verdicts;

use std::time::{Duration, Instant};

use anyhow::Context;
use beacon::store::{Db, new_id, now_ms};
use beacon::tracking::ingest::{FOLD_SLICE, Fold, Hit, Kind, append};
use beacon_tracking::rewrite::{CompiledTemplate, RewriteConfig, rewrite_html};
use beacon_tracking::token::{KeyRing, SigningKey};
use beacon_tracking::vars::{Escape, substitute};
use serde_json::json;
use sqlx::AssertSqlSafe;

const EMAILS: usize = 1_000;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("group-commit") => {
            let url = args.get(1).context("group-commit DB_URL [SECS]")?;
            let secs: f64 = args.get(2).map_or(Ok(3.0), |s| s.parse())?;
            group_commit(url, Duration::from_secs_f64(secs)).await
        }
        Some("render") => {
            let file = args.get(1).context("render HTML_FILE N")?;
            let n: usize = args.get(2).map_or(Ok(100_000), |s| s.parse())?;
            render(&std::fs::read_to_string(file)?, n);
            Ok(())
        }
        Some("segments") => {
            // An empty DB_FILE stands for none, so a caller can give SECS alone.
            let file = args.get(1).map(String::as_str).filter(|s| !s.is_empty());
            let secs: f64 = args.get(2).map_or(Ok(2.0), |s| s.parse())?;
            segments::run(file, Duration::from_secs_f64(secs)).await
        }
        Some("pages") => {
            let file = args.get(1).map(String::as_str).filter(|s| !s.is_empty());
            let secs: f64 = args.get(2).map_or(Ok(1.0), |s| s.parse())?;
            pages::run(file, Duration::from_secs_f64(secs)).await
        }
        Some("verdicts") => verdicts::run().await,
        Some("bodies") => {
            let url = args.get(1).context("bodies DB_URL [N]")?;
            let n: usize = args.get(2).map_or(Ok(1_000), |s| s.parse())?;
            bodies::run(url, n).await
        }
        _ => anyhow::bail!(
            "usage: beacon-bench group-commit DB_URL [SECS] | render HTML_FILE N \
             | segments [DB_FILE] [SECS] | pages [DB_FILE] [SECS] | verdicts \
             | bodies DB_URL [N]"
        ),
    }
}

/// Seeds one project with 1,000 sent emails, then commits open hits on them round-robin, each
/// batch size for a bounded time, exactly as the ingest writer commits a batch.
async fn group_commit(url: &str, each: Duration) -> anyhow::Result<()> {
    let db = Db::connect(url).await?;
    let project = format!("gc-{}", new_id());
    let now = now_ms();
    sqlx::query(
        "INSERT INTO projects (id, name, secret_key, public_key, created_at) \
         VALUES ($1, 'gc', $2, $3, $4)",
    )
    .bind(&project)
    .bind(format!("sk_{project}"))
    .bind(format!("pk_{project}"))
    .bind(now)
    .execute(&db.write)
    .await?;
    let mut emails = Vec::with_capacity(EMAILS);
    let mut tx = db.begin().await?;
    for i in 0..EMAILS {
        let (contact, email) = (new_id(), new_id());
        sqlx::query(
            "INSERT INTO contacts (id, project_id, email, subscribed, created_at, updated_at) \
             VALUES ($1, $2, $3, 1, $4, $4)",
        )
        .bind(&contact)
        .bind(&project)
        .bind(format!("gc{i}@example.com"))
        .bind(now)
        .execute(&mut *tx)
        .await?;
        sqlx::query(AssertSqlSafe(
            "INSERT INTO emails (id, project_id, contact_id, source_type, subject, from_email, \
             to_email, status, next_attempt_at, created_at, sent_at, tracked) \
             VALUES ($1, $2, $3, 'CAMPAIGN', 'Weekly news', 'news@example.com', $4, 'SENT', \
             $5, $5, $5, 1)",
        ))
        .bind(&email)
        .bind(&project)
        .bind(&contact)
        .bind(format!("gc{i}@example.com"))
        .bind(now)
        .execute(&mut *tx)
        .await?;
        emails.push(email);
    }
    tx.commit().await?;

    let mut next = 0usize;
    // As the ingest writer does: one connection kept for appending, out of the pool.
    let mut conn = db.hits.acquire().await?.detach();
    for batch in [1usize, 10, 100, 1000] {
        let start = Instant::now();
        let (mut hits_n, mut commits) = (0u64, 0u64);
        while start.elapsed() < each {
            let hits: Vec<Hit> = (0..batch)
                .map(|_| {
                    next = (next + 1) % emails.len();
                    Hit {
                        kind: Kind::Open,
                        email_id: emails[next].clone(),
                        link: None,
                        machine: None,
                        scanner: None,
                        ip: Some("203.0.113.7".into()),
                        user_agent: Some("Mozilla/5.0 (bench)".into()),
                        client: None,
                        at: now_ms(),
                    }
                })
                .collect();
            let refs: Vec<&Hit> = hits.iter().collect();
            append(&mut conn, db.backend, &refs).await?;
            hits_n += batch as u64;
            commits += 1;
        }
        let secs = start.elapsed().as_secs_f64();
        println!(
            "{}",
            json!({"bench": "group_commit", "batch": batch, "events": hits_n,
                   "commits": commits, "secs": secs, "events_per_s": hits_n as f64 / secs})
        );
    }
    // Then the fold of that backlog, as the server's fold does it (its slice does not depend on
    // how the hits were appended), bounded in time.
    let fold_start = Instant::now();
    let mut folded = 0u64;
    let mut fold = Fold::new(db.clone(), Default::default()).await?;
    while fold_start.elapsed() < each * 3 {
        let n = fold.fold(FOLD_SLICE).await;
        if n == 0 {
            break;
        }
        folded += n as u64;
    }
    let fold_secs = fold_start.elapsed().as_secs_f64();
    println!(
        "{}",
        json!({"bench": "fold", "slice": FOLD_SLICE, "folded": folded, "secs": fold_secs,
               "per_s": folded as f64 / fold_secs})
    );
    let (stored,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM events WHERE project_id = $1 AND name = 'email.open'")
            .bind(&project)
            .fetch_one(&db.read)
            .await?;
    println!(
        "{}",
        json!({"bench": "group_commit_stored", "events": stored})
    );
    db.close().await;
    Ok(())
}

fn render(html: &str, n: usize) {
    let config = RewriteConfig::builder("https://t.example.com")
        .build()
        .expect("base URL");
    let ring = KeyRing::new(SigningKey::new(1, [7; 32]), vec![]);
    let start = Instant::now();
    let template = CompiledTemplate::compile(html, &config);
    let (mut bytes, mut id) = (0usize, 0u128);
    for i in 0..n {
        id += 1;
        let email = format!("user{i}@example.com");
        let vars = [("first_name", "Ada"), ("email", email.as_str())];
        bytes += template.render(&ring, id.to_be_bytes(), &vars).len();
    }
    let compiled = start.elapsed().as_secs_f64();
    let sample = (n / 20).max(1);
    let start = Instant::now();
    for i in 0..sample {
        id += 1;
        let email = format!("user{i}@example.com");
        let vars = [("first_name", "Ada"), ("email", email.as_str())];
        let substituted = substitute(html, &vars, Escape::Html);
        bytes += rewrite_html(&substituted, &config, &ring, id.to_be_bytes())
            .html
            .len();
    }
    let full = start.elapsed().as_secs_f64();
    println!(
        "{}",
        json!({"bench": "render", "recipients": n, "fast_path": template.is_fast(),
               "compiled_secs": compiled, "compiled_per_s": n as f64 / compiled,
               "full_sample": sample, "full_per_s": sample as f64 / full,
               "bytes": bytes, "peak_rss_kb": peak_rss_kb()})
    );
}

/// This process's peak resident set (VmHWM), in KiB.
fn peak_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).map(str::to_string))
        })
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}
