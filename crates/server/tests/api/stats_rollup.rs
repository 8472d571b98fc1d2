//! The statistics rollup (`email_stats`, kept by triggers) equals the sums over the emails
//! themselves, for any range, after every kind of write, on both databases.

use beacon::store::stats::{self, Scope, Totals};
use beacon::store::{Db, projects};
use serde_json::json;

use crate::helpers::{Opts, fresh_database, sink, spawn_with};
use crate::tracking::{BROWSER, hit, tracking_urls};

const HOUR: i64 = 3_600_000;

/// A small deterministic generator, so a failure can be replayed.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: i64) -> i64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) % n as u64) as i64
    }
}

async fn insert_emails(db: &Db, project: &str, base: i64, n: i64, rng: &mut Lcg) {
    for i in 0..n {
        let created = base + rng.next(72 * HOUR);
        let campaign = ["", "camp-a", "camp-b"][rng.next(3) as usize];
        sqlx::query(
            "INSERT INTO emails (id, project_id, contact_id, source_type, campaign_id, subject, \
             from_email, to_email, status, tracked, next_attempt_at, created_at) \
             VALUES ($1, $2, $1, $3, NULLIF($4, ''), 's', 'f@example.com', 't@example.com', \
             'PENDING', $5, $6, $6)",
        )
        .bind(format!("{project}-e{i:04}"))
        .bind(project)
        .bind(if campaign.is_empty() {
            "TRANSACTIONAL"
        } else {
            "CAMPAIGN"
        })
        .bind(campaign)
        .bind(rng.next(4).min(1))
        .bind(created)
        .execute(&db.write)
        .await
        .unwrap();
    }
}

/// Every kind of change the code makes to an email, each to a random part of them.
async fn change_them(db: &Db, project: &str, rng: &mut Lcg) {
    let updates = [
        "UPDATE emails SET status = 'SENDING', attempts = attempts + 1 WHERE id = $1",
        "UPDATE emails SET status = 'SENT', sent_at = created_at + 1000 WHERE id = $1",
        "UPDATE emails SET status = 'FAILED', last_error = 'x' WHERE id = $1",
        "UPDATE emails SET delivered_at = created_at + 2000 WHERE id = $1 AND sent_at IS NOT NULL",
        "UPDATE emails SET opens = opens + 1, opened_at = COALESCE(opened_at, created_at + 3000) \
         WHERE id = $1",
        "UPDATE emails SET opens_machine = opens_machine + 2 WHERE id = $1",
        "UPDATE emails SET clicks = clicks + 1, clicked_at = COALESCE(clicked_at, created_at + 4000) \
         WHERE id = $1",
        // A burst found later: a human click becomes a machine one.
        "UPDATE emails SET clicks = clicks - 1, clicks_machine = clicks_machine + 1 \
         WHERE id = $1 AND clicks > 0",
    ];
    for _ in 0..600 {
        let id = format!("{project}-e{:04}", rng.next(200));
        let sql = updates[rng.next(updates.len() as i64) as usize];
        sqlx::query(sql).bind(id).execute(&db.write).await.unwrap();
    }
}

/// Rollup and scan agree on many ranges: whole hours, partial hours at either end, inside one
/// hour, every campaign filter.
async fn assert_agree(db: &Db, project: &str, base: i64, rng: &mut Lcg) {
    let mut ranges = vec![
        (base - HOUR, base + 80 * HOUR),
        (base, base + HOUR),
        (base + 10, base + 20),
    ];
    for _ in 0..60 {
        let from = base - HOUR + rng.next(75 * HOUR);
        let to = from + 1 + rng.next(75 * HOUR);
        ranges.push((from, to));
        ranges.push((
            from - from.rem_euclid(HOUR),
            to - to.rem_euclid(HOUR) + HOUR,
        ));
    }
    for (from, to) in ranges {
        for campaign in [None, Some("camp-a"), Some("nope")] {
            let scope = Scope {
                project_id: project,
                from,
                to,
                campaign_id: campaign,
                stream: None,
            };
            let rolled: Totals = stats::totals(db, &scope).await.unwrap();
            let scanned = stats::scan(db, &scope, from, to).await.unwrap();
            assert_eq!(rolled, scanned, "range {from}..{to}, campaign {campaign:?}");
        }
    }
}

#[tokio::test]
async fn the_rollup_equals_the_emails_for_any_range_after_any_change() {
    let url = fresh_database().await;
    let db = Db::connect(&url).await.unwrap();
    let project = projects::create(&db, "Stats").await.unwrap();
    let other = projects::create(&db, "Other").await.unwrap();
    let base = 1_790_000_000_000 - 1_790_000_000_000 % HOUR + 1234;
    let mut rng = Lcg(7);
    insert_emails(&db, &project.id, base, 200, &mut rng).await;
    insert_emails(&db, &other.id, base, 200, &mut rng).await;
    change_them(&db, &project.id, &mut rng).await;
    change_them(&db, &other.id, &mut rng).await;
    assert_agree(&db, &project.id, base, &mut rng).await;
    // The project's totals are its own, and go with it.
    let all = Scope {
        project_id: &project.id,
        from: 0,
        to: i64::MAX / 2,
        campaign_id: None,
        stream: None,
    };
    assert_eq!(stats::totals(&db, &all).await.unwrap().emails, 200);
    projects::delete(&db, &project.id).await.unwrap();
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM email_stats WHERE project_id = $1")
        .bind(&project.id)
        .fetch_one(&db.read)
        .await
        .unwrap();
    assert_eq!(left, 0);
    assert_agree(&db, &other.id, base, &mut rng).await;
    db.close().await;
}

#[tokio::test]
async fn a_database_from_before_the_rollup_is_summed_when_it_migrates() {
    let url = fresh_database().await;
    let old = Db::connect_migrated_to(&url, 8).await.unwrap();
    let project = projects::create(&old, "Old").await.unwrap();
    let base = 1_790_000_000_000;
    let mut rng = Lcg(11);
    insert_emails(&old, &project.id, base, 200, &mut rng).await;
    change_them(&old, &project.id, &mut rng).await;
    old.close().await;
    let db = Db::connect(&url).await.unwrap();
    assert_agree(&db, &project.id, base, &mut rng).await;
    db.close().await;
}

#[tokio::test]
async fn sends_deliveries_and_hits_keep_the_rollup_exact() {
    let relay = sink().await;
    let app = spawn_with(Opts {
        smtp: Some(relay.port()),
        ..Default::default()
    })
    .await;
    let body = r#"<html><body><a href="https://example.com/">Go</a></body></html>"#;
    let mut ids = Vec::new();
    for i in 0..6 {
        ids.extend(
            app.send(&json!({ "to": format!("r{i}@example.com"), "subject": "S", "body": body }))
                .await,
        );
    }
    let mut htmls = Vec::new();
    for id in &ids {
        htmls.push(
            app.wait_status(id, "SENT").await["html"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    hit(&app, &tracking_urls(&app, &htmls[0], "/o/")[0], BROWSER).await;
    hit(&app, &tracking_urls(&app, &htmls[0], "/c/")[0], BROWSER).await;
    hit(
        &app,
        &tracking_urls(&app, &htmls[1], "/o/")[0],
        "Mozilla/5.0",
    )
    .await;
    hit(
        &app,
        &tracking_urls(&app, &htmls[2], "/c/")[0],
        "Mozilla/5.0 (compatible; Mimecast)",
    )
    .await;
    let stats = app.get_json("/v1/stats").await["data"].clone();
    assert_eq!(
        (
            stats["sent"].clone(),
            stats["uniqueOpens"].clone(),
            stats["humanOpens"].clone(),
            stats["machineOpens"].clone(),
            stats["machineClicks"].clone()
        ),
        (json!(6), json!(1), json!(1), json!(1), json!(1))
    );
    let db = Db::connect(&app.db_url).await.unwrap();
    let project = projects::list(&db).await.unwrap().remove(0);
    let now = beacon::store::now_ms();
    let mut rng = Lcg(3);
    for _ in 0..20 {
        let from = now - 2 * HOUR + rng.next(2 * HOUR);
        let scope = Scope {
            project_id: &project.id,
            from,
            to: now + HOUR,
            campaign_id: None,
            stream: None,
        };
        assert_eq!(
            stats::totals(&db, &scope).await.unwrap(),
            stats::scan(&db, &scope, from, now + HOUR).await.unwrap()
        );
    }
    db.close().await;
    app.stop().await;
}

mod events {
    //! The events rollup (`event_stats`) equals counting the events, for any range, campaign and
    //! stream, after inserts, verdicts changed later (one row and many at once) and deletions.

    use beacon::store::event_stats::{self, Scope};
    use beacon::store::link_stats;
    use beacon::store::{Db, projects};

    use super::{HOUR, Lcg, insert_emails};
    use crate::helpers::fresh_database;

    const NAMES: [&str; 6] = [
        "email.open",
        "email.click",
        "email.bounced",
        "email.complained",
        "contact.unsubscribed",
        "signup",
    ];

    async fn insert_events(db: &Db, project: &str, rng: &mut Lcg) {
        for i in 0..400 {
            let email_id = format!("{project}-e{:04}", rng.next(200));
            let email = email_id.clone();
            let name = NAMES[rng.next(6) as usize];
            let machine = ["", "", "apple_mpp", "security_scanner"][rng.next(4) as usize];
            let campaign = ["", "camp-a", "camp-b"][rng.next(3) as usize];
            sqlx::query(
                "INSERT INTO events (id, project_id, contact_id, email_id, name, data, created_at, \
                 machine, campaign_id, link_url, link_index, link_tag) VALUES ($1, $2, $3, $4, $5, \
                 '{}', $6, NULLIF($7, ''), NULLIF($8, ''), $9, $10, $11)",
            )
            .bind(format!("{project}-ev{i:05}"))
            .bind(project)
            .bind(format!("{project}-c{}", rng.next(20)))
            .bind(email)
            .bind(name)
            // Events follow their email (statistics read clicks from the email's queueing on).
            .bind(queued(db, &email_id).await + rng.next(24 * HOUR))
            .bind(machine)
            .bind(campaign)
            .bind(
                [
                    "https://a.test/".to_string(),
                    "https://b.test/?x=1".to_string(),
                    String::new(),
                    // Past what a PostgreSQL index entry holds.
                    format!("https://long.test/{}", "x".repeat(3000)),
                ][rng.next(4) as usize]
                    .clone(),
            )
            .bind(rng.next(3))
            .bind([None, Some("cta")][rng.next(2) as usize])
            .execute(&db.write)
            .await
            .unwrap();
        }
    }

    async fn queued(db: &Db, email_id: &str) -> i64 {
        sqlx::query_scalar("SELECT created_at FROM emails WHERE id = $1")
            .bind(email_id)
            .fetch_one(&db.read)
            .await
            .unwrap()
    }

    async fn assert_agree(db: &Db, project: &str, base: i64, rng: &mut Lcg) {
        for _ in 0..40 {
            let from = base - HOUR + rng.next(75 * HOUR);
            let to = from + 1 + rng.next(75 * HOUR);
            for (campaign, stream) in [
                (None, None),
                (Some("camp-a"), None),
                (None, Some("CAMPAIGN")),
                (None, Some("TRANSACTIONAL")),
            ] {
                let s = Scope {
                    project_id: project,
                    from,
                    to,
                    campaign_id: campaign,
                    stream,
                };
                let rolled = event_stats::counts(db, &s).await.unwrap();
                let scanned = event_stats::scan(db, &s, from, to).await.unwrap();
                assert_eq!(rolled, scanned, "{from}..{to} {campaign:?} {stream:?}");
                // Clicks by link over the emails queued in the same range.
                let scope = beacon::store::stats::Scope {
                    project_id: project,
                    from,
                    to,
                    campaign_id: campaign,
                    stream,
                };
                let key = |l: &link_stats::LinkClicks| (l.url.clone(), l.index, l.tag.clone());
                let mut rolled = link_stats::links(db, &scope).await.unwrap();
                let mut scanned: Vec<_> = link_stats::scan(db, &scope, from, to)
                    .await
                    .unwrap()
                    .into_iter()
                    .filter(|l| l.human_clicks + l.machine_clicks > 0)
                    .collect();
                rolled.sort_by_key(key);
                scanned.sort_by_key(key);
                assert_eq!(
                    rolled, scanned,
                    "links {from}..{to} {campaign:?} {stream:?}"
                );
            }
        }
    }

    #[tokio::test]
    async fn the_events_rollup_equals_the_events_after_verdicts_change_and_deletions() {
        let url = fresh_database().await;
        let db = Db::connect(&url).await.unwrap();
        let project = projects::create(&db, "Events").await.unwrap();
        let base = 1_790_000_000_000 - 1_790_000_000_000 % HOUR + 777;
        let mut rng = Lcg(5);
        insert_emails(&db, &project.id, base, 200, &mut rng).await;
        insert_events(&db, &project.id, &mut rng).await;
        assert_agree(&db, &project.id, base, &mut rng).await;
        // Verdicts changed later: one event at a time, then many in one statement (a burst).
        for _ in 0..50 {
            let id = format!("{}-ev{:05}", project.id, rng.next(400));
            let reason = ["", "click_burst", "apple_mpp"][rng.next(3) as usize];
            sqlx::query("UPDATE events SET machine = NULLIF($1, '') WHERE id = $2")
                .bind(reason)
                .bind(id)
                .execute(&db.write)
                .await
                .unwrap();
        }
        sqlx::query("UPDATE events SET machine = 'click_burst' WHERE project_id = $1 AND name = 'email.click' AND created_at < $2")
            .bind(&project.id)
            .bind(base + 24 * HOUR)
            .execute(&db.write)
            .await
            .unwrap();
        // A contact deleted with its events.
        sqlx::query("DELETE FROM events WHERE contact_id = $1")
            .bind(format!("{}-c3", project.id))
            .execute(&db.write)
            .await
            .unwrap();
        assert_agree(&db, &project.id, base, &mut rng).await;
        db.close().await;
    }

    #[tokio::test]
    async fn events_from_before_the_rollup_are_counted_when_it_migrates() {
        let url = fresh_database().await;
        let old = Db::connect_migrated_to(&url, 11).await.unwrap();
        let project = projects::create(&old, "Old").await.unwrap();
        let base = 1_790_000_000_000;
        let mut rng = Lcg(9);
        insert_emails(&old, &project.id, base, 200, &mut rng).await;
        insert_events(&old, &project.id, &mut rng).await;
        old.close().await;
        let db = Db::connect(&url).await.unwrap();
        assert_agree(&db, &project.id, base, &mut rng).await;
        db.close().await;
    }
}
