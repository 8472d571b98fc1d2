//! `beacon-bench segments [DB_FILE] [SECS]`: `segments::count` on SQLite over 100,000 contacts
//! and 1,000,000 events (target: under a second), through the real `beacon::segments` API.
//!
//! The data set is generated in SQL (recursive CTEs) into a file migrated by `Db::connect`, so
//! the indexes are the shipped ones. With DB_FILE the file is kept, and reused when it exists;
//! without, a temp file is removed at the end. Each case is counted once (its match count),
//! then timed at least `MIN_SAMPLES` times and at most `MAX_SAMPLES`, stopping once SECS of
//! samples have been spent: a slow case gets fewer samples, never an unbounded run.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use beacon::segments::{self, Condition};
use beacon::store::{Db, now_ms};
use serde_json::{Value, json};
use sqlx::AssertSqlSafe;

pub const CONTACTS: i64 = 100_000;
pub const EVENTS: i64 = 1_000_000;
pub const PROJECT: &str = "bench-project";
pub const DAY_MS: i64 = 86_400_000;
const MIN_SAMPLES: usize = 3;
const MAX_SAMPLES: usize = 10;

/// Roughly what the ingest writes on an email event: ids, subject, agent, IP.
const EVENT_DATA: &str = r#"{"emailId":"0190a0b1-0000-7000-8000-000000000000","subject":"Our weekly newsletter","sourceType":"CAMPAIGN","userAgent":"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36","ip":"203.0.113.0"}"#;

pub async fn run(file: Option<&str>, budget: Duration) -> anyhow::Result<()> {
    let (path, keep) = match file {
        Some(p) => (PathBuf::from(p), true),
        None => (
            std::env::temp_dir().join(format!("beacon_bench_{}.db", std::process::id())),
            false,
        ),
    };
    let reuse = keep && path.exists();
    let db = Db::connect(&format!("sqlite://{}", path.display())).await?;
    let result = measure(&db, reuse, budget).await;
    db.close().await;
    if !keep {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }
    result
}

async fn measure(db: &Db, reuse: bool, budget: Duration) -> anyhow::Result<()> {
    if !reuse {
        let t = Instant::now();
        build(db).await?;
        println!(
            "{}",
            json!({"bench": "segment_data", "contacts": CONTACTS, "events": EVENTS,
                   "secs": t.elapsed().as_secs_f64()})
        );
    }
    for (name, raw) in cases() {
        let cond = Condition::parse(&raw).map_err(|e| anyhow::anyhow!("{name}: {e:?}"))?;
        let contacts = segments::count(db, PROJECT, &cond).await?;
        let samples = sample(budget, || segments::count(db, PROJECT, &cond)).await?;
        report("count", name, contacts, &samples);
    }
    // A page of the `all` example: it walks contacts in id order and probes each one's events.
    let (name, raw) = &cases()[1];
    let cond = Condition::parse(raw).map_err(|e| anyhow::anyhow!("{name}: {e:?}"))?;
    let page = || segments::contacts_page(db, PROJECT, &cond, None, 100);
    let contacts = page().await?.len() as i64;
    let samples = sample(budget, page).await?;
    report("page_100", name, contacts, &samples);
    Ok(())
}

/// Times `f` between MIN_SAMPLES and MAX_SAMPLES times, stopping once `budget` is spent.
async fn sample<T, F, Fut>(budget: Duration, mut f: F) -> anyhow::Result<Vec<f64>>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, sqlx::Error>>,
{
    let start = Instant::now();
    let mut ms = Vec::with_capacity(MAX_SAMPLES);
    while ms.len() < MIN_SAMPLES || (ms.len() < MAX_SAMPLES && start.elapsed() < budget) {
        let t = Instant::now();
        f().await?;
        ms.push(t.elapsed().as_secs_f64() * 1e3);
    }
    Ok(ms)
}

fn report(kind: &str, case: &str, contacts: i64, ms: &[f64]) {
    let mean = ms.iter().sum::<f64>() / ms.len() as f64;
    let min = ms.iter().copied().fold(f64::INFINITY, f64::min);
    let max = ms.iter().copied().fold(0.0, f64::max);
    println!(
        "{}",
        json!({"bench": "segment", "kind": kind, "case": case, "contacts": contacts,
               "samples": ms.len(), "mean_ms": mean, "min_ms": min, "max_ms": max})
    );
}

pub async fn build(db: &Db) -> anyhow::Result<()> {
    let now = now_ms();
    let statements = [
        format!(
            "INSERT INTO projects (id, name, secret_key, public_key, created_at) \
             VALUES ('{PROJECT}', 'bench', 'sk_bench', 'pk_bench', 0)"
        ),
        // 70 % subscribed; plan pro/free/team/team; age 18..77; one tag of five.
        format!(
            "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {CONTACTS} - 1) \
             INSERT INTO contacts (id, project_id, email, subscribed, data, created_at, updated_at) \
             SELECT printf('c%08d', i), '{PROJECT}', printf('u%d@example.com', i), \
               CASE WHEN i % 10 < 7 THEN 1 ELSE 0 END, \
               json_object('plan', CASE i % 4 WHEN 0 THEN 'pro' WHEN 1 THEN 'free' ELSE 'team' END, \
                           'age', 18 + i % 60, 'tags', json_array('t' || (i % 5))), \
               {now}, {now} FROM n"
        ),
        // Over 90 days in time order (as ingested): 40 % sent, 30 % opens (a third of them
        // machine), 10 % clicks (a third machine), 20 % custom events; email events spread
        // over 20 campaigns and 5 templates; contacts spread by a multiplicative hash (not
        // random(), which SQLite re-evaluates per reference: the data set is the same every run).
        format!(
            "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {EVENTS} - 1) \
             INSERT INTO events (id, project_id, contact_id, email_id, name, data, created_at, \
               machine, campaign_id, template_id) \
             SELECT printf('e%09d', i), '{PROJECT}', printf('c%08d', k), \
               CASE WHEN r < 80 THEN printf('m%09d', i) END, \
               CASE WHEN r < 40 THEN 'email.sent' WHEN r < 70 THEN 'email.open' \
                    WHEN r < 80 THEN 'email.click' WHEN r < 90 THEN 'signup' ELSE 'purchase' END, \
               '{EVENT_DATA}', {start} + i * {step}, \
               CASE WHEN r >= 40 AND r < 80 AND i % 3 = 0 THEN 'apple_mpp' END, \
               CASE WHEN r < 80 THEN 'camp' || (i % 20) END, \
               CASE WHEN r < 80 THEN 'tmpl' || (i % 5) END \
             FROM (SELECT i, (i * 2654435761 % 4294967296) / 65536 % 100 AS r, \
               ((i + 7) * 2246822519 % 4294967296) / 16 % {CONTACTS} AS k FROM n)",
            start = now - 90 * DAY_MS,
            step = 90 * DAY_MS / EVENTS,
        ),
        "INSERT INTO campaigns (id, project_id, name, subject, body, from_email, type, audience, \
         status, created_at, updated_at) \
         VALUES ('camp3', 'bench-project', 'c', 's', 'b', 'a@example.com', 'MARKETING', '{}', \
         'SENT', 0, 0)"
            .to_string(),
        "ANALYZE".to_string(),
    ];
    for sql in statements {
        sqlx::raw_sql(AssertSqlSafe(sql)).execute(&db.write).await?;
    }
    Ok(())
}

fn cases() -> Vec<(&'static str, Value)> {
    let clicked7 =
        json!({"activity": "email.clicked", "op": "triggeredWithin", "amount": 7, "unit": "days"});
    vec![
        ("clicked_7d_humans", clicked7),
        (
            "spec_example",
            json!({"all": [
                {"field": "subscribed", "op": "equals", "value": true},
                {"field": "data.plan", "op": "equals", "value": "pro"},
                {"activity": "email.clicked", "op": "triggeredWithin", "amount": 7, "unit": "days",
                 "campaignId": "camp3", "humanOnly": true}
            ]}),
        ),
        (
            "opened_30d_or_signup",
            json!({"any": [
                {"activity": "email.opened", "op": "triggeredWithin", "amount": 30, "unit": "days"},
                {"activity": "event.signup", "op": "triggered"}
            ]}),
        ),
        (
            "not_opened_30d",
            json!({"activity": "email.opened", "op": "notTriggeredWithin", "amount": 30, "unit": "days"}),
        ),
        (
            "data_only",
            json!({"all": [
                {"field": "data.age", "op": "gt", "value": 40},
                {"field": "data.tags", "op": "contains", "value": "t1"}
            ]}),
        ),
    ]
}
