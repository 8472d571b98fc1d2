//! Segment count on SQLite over 100,000 contacts and 1,000,000 events (target: under a second).
//!
//! `cargo bench -p beacon --bench segment_count`. The data set is generated in SQL (recursive
//! CTEs) into a temp file through the real migrations, so the indexes are the shipped ones.
//! Set `BEACON_BENCH_DB=/path/file.db` to keep the file (and reuse it on the next run).

use std::time::Instant;

use beacon::segments::{self, Condition};
use beacon::store::{Db, now_ms};
use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::{Value, json};
use sqlx::AssertSqlSafe;

const CONTACTS: i64 = 100_000;
const EVENTS: i64 = 1_000_000;
const PROJECT: &str = "bench-project";
const DAY_MS: i64 = 86_400_000;

/// Roughly what the ingest writes on an email event: ids, subject, agent, IP.
const EVENT_DATA: &str = r#"{"emailId":"0190a0b1-0000-7000-8000-000000000000","subject":"Our weekly newsletter","sourceType":"CAMPAIGN","userAgent":"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36","ip":"203.0.113.0"}"#;

async fn build(db: &Db) -> anyhow::Result<()> {
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

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (path, keep) = match std::env::var("BEACON_BENCH_DB") {
        Ok(p) if !p.is_empty() => (std::path::PathBuf::from(p), true),
        _ => (
            std::env::temp_dir().join(format!("beacon_bench_{}.db", std::process::id())),
            false,
        ),
    };
    let reuse = keep && path.exists();
    let db = rt.block_on(async {
        let db = Db::connect(&format!("sqlite://{}", path.display()))
            .await
            .unwrap();
        if !reuse {
            let t = Instant::now();
            build(&db).await.unwrap();
            eprintln!(
                "built {CONTACTS} contacts, {EVENTS} events in {:.1?}",
                t.elapsed()
            );
        }
        db
    });

    let mut group = c.benchmark_group("segment_count");
    group.sample_size(10);
    for (name, raw) in cases() {
        let cond = Condition::parse(&raw).unwrap();
        let n = rt.block_on(segments::count(&db, PROJECT, &cond)).unwrap();
        eprintln!("{name}: {n} contacts");
        group.bench_function(name, |b| {
            b.iter(|| rt.block_on(segments::count(&db, PROJECT, &cond)).unwrap())
        });
    }
    let (_, spec) = &cases()[1];
    let cond = Condition::parse(spec).unwrap();
    group.bench_function("page_100_spec_example", |b| {
        b.iter(|| {
            rt.block_on(segments::contacts_page(&db, PROJECT, &cond, None, 100))
                .unwrap()
        })
    });
    group.finish();

    rt.block_on(db.close());
    if !keep {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
