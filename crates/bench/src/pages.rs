//! `beacon-bench pages [DB_FILE] [SECS]`: how long the dashboard's pages take to answer on
//! SQLite (targets: p95 under 100 ms, and under 200 ms for a campaign's results and analytics),
//! through a real server on a random port and a signed-in session.
//!
//! The data: `segments.rs`'s 100,000 contacts and 1,000,000 events, plus a campaign (`big`) sent
//! ten days ago to all 100,000 contacts (one email each, a third opened, a tenth clicked) with
//! 1,000,000 events of its own over the ten days since (sends, opens, clicks on five links, a
//! third of opens and a quarter of clicks by machines): 2,000,000 events in all. Each page is
//! fetched once to warm up, then at least `MIN_SAMPLES` and at most `MAX_SAMPLES` times,
//! sequentially, until SECS are spent.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use beacon::config::Settings;
use beacon::startup::Application;
use beacon::store::{Db, now_ms, sessions};
use serde_json::json;
use sqlx::AssertSqlSafe;

use crate::segments::{CONTACTS, DAY_MS, PROJECT};

const MIN_SAMPLES: usize = 20;
const MAX_SAMPLES: usize = 200;

pub async fn run(file: Option<&str>, budget: Duration) -> anyhow::Result<()> {
    let (path, keep) = match file {
        Some(p) => (PathBuf::from(p), true),
        None => (
            std::env::temp_dir().join(format!("beacon_pages_{}.db", std::process::id())),
            false,
        ),
    };
    let url = format!("sqlite://{}", path.display());
    let reuse = keep && path.exists();
    if !reuse {
        let db = Db::connect(&url).await?;
        let t = Instant::now();
        crate::segments::build(&db).await?;
        add_emails(&db).await?;
        println!(
            "{}",
            json!({"bench": "page_data", "secs": t.elapsed().as_secs_f64()})
        );
        db.close().await;
    }
    let result = measure(&url, budget).await;
    if !keep {
        for suffix in ["", "-wal", "-shm", "-hits", "-hits-wal", "-hits-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }
    result
}

/// The `big` campaign: one email per contact, queued over an hour ten days ago, and its
/// events since; an account that owns the project.
async fn add_emails(db: &Db) -> anyhow::Result<()> {
    let sent = now_ms() - 10 * DAY_MS;
    let campaign = format!(
        "INSERT INTO campaigns (id, project_id, name, subject, body, from_email, type, audience, \
         status, started_at, finished_at, recipients, created_at, updated_at) \
         VALUES ('big', '{PROJECT}', 'Our weekly newsletter', 'Our weekly newsletter', '<p>b</p>', \
         'news@example.com', 'MARKETING', '{{\"all\":true}}', 'SENT', {sent}, {done}, {CONTACTS}, \
         {made}, {made})",
        done = sent + 3_600_000,
        made = sent - 60_000,
    );
    sqlx::raw_sql(AssertSqlSafe(campaign))
        .execute(&db.write)
        .await?;
    let sql = format!(
        "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {CONTACTS} - 1) \
         INSERT INTO emails (id, project_id, contact_id, source_type, campaign_id, subject, \
           from_email, to_email, headers, attachments, tracked, status, attempts, \
           next_attempt_at, created_at, sent_at, opened_at, clicked_at, opens, opens_machine, \
           clicks, clicks_machine) \
         SELECT printf('m%09d', i), '{PROJECT}', printf('c%08d', i), 'CAMPAIGN', 'big', \
           'Our weekly newsletter', 'news@example.com', printf('u%d@example.com', i), '{{}}', '[]', 1, \
           CASE WHEN i % 3 = 0 THEN 'OPENED' ELSE 'SENT' END, 1, t, t, t + 1000, \
           CASE WHEN i % 3 = 0 THEN t + 60000 END, CASE WHEN i % 10 = 0 THEN t + 90000 END, \
           CASE WHEN i % 3 = 0 THEN 1 ELSE 0 END, CASE WHEN i % 30 = 0 THEN 1 ELSE 0 END, \
           CASE WHEN i % 10 = 0 THEN 1 ELSE 0 END, 0 \
         FROM (SELECT i, {sent} + i * 36 AS t FROM n)"
    );
    sqlx::raw_sql(AssertSqlSafe(sql)).execute(&db.write).await?;
    // Its million events over the ten days since, in time order (as the fold writes them).
    let events = format!(
        "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 1000000 - 1) \
         INSERT INTO events (id, project_id, contact_id, email_id, name, data, created_at, \
           machine, campaign_id, link_url, link_index) \
         SELECT printf('b%09d', i), '{PROJECT}', printf('c%08d', k), printf('m%09d', k), \
           CASE WHEN r < 50 THEN 'email.delivered' WHEN r < 90 THEN 'email.open' ELSE 'email.click' END, \
           '{{\"subject\":\"Our weekly newsletter\"}}', {sent} + 3600000 + i * 860, \
           CASE WHEN r >= 50 AND r < 90 AND i % 3 = 0 THEN 'apple_mpp' \
                WHEN r >= 90 AND i % 4 = 0 THEN 'security_scanner' END, 'big', \
           CASE WHEN r >= 90 THEN 'https://example.com/article/' || (i % 5) END, \
           CASE WHEN r >= 90 THEN i % 5 END \
         FROM (SELECT i, (i * 2654435761 % 4294967296) / 65536 % 100 AS r, \
           ((i + 11) * 2246822519 % 4294967296) / 16 % {CONTACTS} AS k FROM n)"
    );
    sqlx::raw_sql(AssertSqlSafe(events))
        .execute(&db.write)
        .await?;
    let body = "<html><body><h1>Our weekly newsletter</h1><p>Hello.</p></body></html>";
    sqlx::query(
        "INSERT INTO email_bodies (email_id, html, text) VALUES ('m000000042', $1, 'Hello.')",
    )
    .bind(body)
    .execute(&db.write)
    .await?;
    sqlx::raw_sql(
        "INSERT INTO users (id, email, password_hash, created_at) \
           VALUES ('bench-user', 'bench@example.com', NULL, 0); \
         INSERT INTO memberships (project_id, user_id, role, created_at) \
           VALUES ('bench-project', 'bench-user', 'OWNER', 0); \
         ANALYZE;",
    )
    .execute(&db.write)
    .await?;
    Ok(())
}

async fn measure(url: &str, budget: Duration) -> anyhow::Result<()> {
    let mut settings = Settings::for_tests(url);
    settings.workers = 1;
    let app = Application::build(settings).await?;
    let base = format!("http://127.0.0.1:{}", app.port());
    let token = sessions::create(&app.state().db, "bench-user").await?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let p = format!("/p/{PROJECT}");
    let pages = [
        ("home", p.clone()),
        ("contacts", format!("{p}/contacts")),
        (
            "contacts: a later page",
            format!("{p}/contacts?cursor=c00050000"),
        ),
        ("contacts: search", format!("{p}/contacts?q=u123")),
        (
            "contacts: not subscribed",
            format!("{p}/contacts?subscribed=no"),
        ),
        ("contact", format!("{p}/contacts/c00000042")),
        ("activity: 7 days", format!("{p}/activity")),
        (
            "activity: clicks, 90 days",
            format!("{p}/activity?kind=click&period=90d"),
        ),
        (
            "activity: custom, 30 days",
            format!("{p}/activity?kind=custom&period=30d"),
        ),
        (
            "activity: bounces (none), 90 days",
            format!("{p}/activity?kind=bounced&period=90d"),
        ),
        ("email", format!("{p}/emails/m000000042")),
        ("email preview", format!("{p}/emails/m000000042/preview")),
        ("campaigns", format!("{p}/campaigns")),
        (
            "campaign results (100k recipients, 1M events)",
            format!("{p}/campaigns/big"),
        ),
        (
            "campaign: who opened",
            format!("{p}/campaigns/big/people?who=opened"),
        ),
        (
            "campaign: who clicked link 3",
            format!("{p}/campaigns/big/people?who=clicked&link=2"),
        ),
        ("analytics: 30 days", format!("{p}/analytics")),
        (
            "analytics: 90 days, campaigns",
            format!("{p}/analytics?period=90d&stream=CAMPAIGN"),
        ),
        ("segments", format!("{p}/segments")),
        ("templates", format!("{p}/templates")),
        ("settings: tracking", format!("{p}/settings/tracking")),
        ("settings: team", format!("{p}/settings/team")),
    ];
    let cookie = format!("beacon_session={token}");
    let mut failed = None;
    for (name, path) in pages {
        let get = || {
            client
                .get(format!("{base}{path}"))
                .header("cookie", &cookie)
                .send()
        };
        let status = get().await?.status();
        if status != 200 {
            failed = Some(format!("{name}: {path} answered {status}"));
            break;
        }
        let start = Instant::now();
        let mut ms = Vec::with_capacity(MAX_SAMPLES);
        while ms.len() < MIN_SAMPLES || (ms.len() < MAX_SAMPLES && start.elapsed() < budget) {
            let t = Instant::now();
            get().await?.bytes().await?;
            ms.push(t.elapsed().as_secs_f64() * 1e3);
        }
        ms.sort_by(f64::total_cmp);
        let at = |q: f64| ms[((ms.len() - 1) as f64 * q).round() as usize];
        println!(
            "{}",
            json!({"bench": "page", "page": name, "path": path, "samples": ms.len(),
                   "p50_ms": at(0.5), "p95_ms": at(0.95), "max_ms": ms[ms.len() - 1]})
        );
    }
    let _ = stop.send(());
    server.await??;
    match failed {
        Some(f) => anyhow::bail!(f),
        None => Ok(()),
    }
}
