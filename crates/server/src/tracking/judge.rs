//! The verdicts that need an email's other clicks (`classify::judge_clicks`: bursts and gateway
//! re-checks), decided where hits are applied, in the applying transaction.
//!
//! Each batch's clicks are judged together with the clicks already recorded on their emails in
//! the window around them (their `email.click` events). Clicks of the batch get their verdict
//! before they are applied; recorded clicks a later one reveals are corrected: their events
//! turn machine and their email's counters, first-click and inferred first-open times and status
//! are moved back, each exactly once (an event is corrected only while it is still human, and
//! the counters move by the events actually corrected, in the same transaction).
//!
//! Across nodes on PostgreSQL: the batch's emails are locked (`FOR UPDATE`, in id order) before
//! the recorded clicks are read, so of two folds touching one email the second waits for the
//! first to commit, then (READ COMMITTED: each statement sees what committed before it) reads
//! its clicks and judges them all. On SQLite one writer applies everything, in order.

use std::collections::HashMap;

use beacon_tracking::classify::{self, ClassifyConfig, Click, MachineReason};
use serde_json::json;
use sqlx::Row;

use super::apply::{Hit, Kind};
use crate::store::{Backend, Tx};

/// What judging a batch decided.
#[derive(Default)]
pub struct Judged {
    /// Per hit of the batch: the machine reason it now gets, when it was human.
    pub verdicts: Vec<Option<&'static str>>,
    /// Recorded clicks to correct: (event id, reason).
    corrections: Vec<(String, &'static str)>,
}

/// Judges the batch's clicks with the recorded ones around them. Batches without clicks cost
/// nothing; others one lock (PostgreSQL) and one indexed read.
pub async fn judge(tx: &mut Tx, backend: Backend, hits: &[&Hit]) -> Result<Judged, sqlx::Error> {
    let cfg = ClassifyConfig::default();
    let mut judged = Judged {
        verdicts: vec![None; hits.len()],
        corrections: Vec::new(),
    };
    // Per email: the batch's clicks (indexes into `hits`).
    let mut batch: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, h) in hits.iter().enumerate() {
        if h.kind == Kind::Click {
            batch.entry(h.email_id.as_str()).or_default().push(i);
        }
    }
    if batch.is_empty() {
        return Ok(judged);
    }
    let margin = ((cfg.recheck_secs * 1000.0) as i64).max(classify::BURST_WINDOW_MS);
    let burst = classify::BURST_WINDOW_MS;
    let mut ids: Vec<&str> = batch.keys().copied().collect();
    ids.sort_unstable();
    let windows: Vec<_> = ids
        .iter()
        .map(|id| {
            let times = batch[id].iter().map(|&i| hits[i].at);
            let (lo, hi) = (times.clone().min().unwrap_or(0), times.max().unwrap_or(0));
            json!([id, lo - margin, hi + margin, lo - burst, hi + burst])
        })
        .collect();
    let windows = serde_json::to_string(&windows).expect("strings and integers serialize");
    if backend == Backend::Postgres {
        sqlx::query(LOCK_POSTGRES)
            .bind(&windows)
            .execute(&mut **tx)
            .await?;
    }
    let sql = match backend {
        Backend::Sqlite => RECORDED_SQLITE,
        Backend::Postgres => RECORDED_POSTGRES,
    };
    // One row: the recorded clicks as a JSON array (on SQLite every row is a hand-off from its
    // database thread; an email clicked hundreds of times a minute would cost that many).
    let json: String = sqlx::query_scalar(sql)
        .bind(&windows)
        .fetch_one(&mut **tx)
        .await?;
    let rows: Vec<RecordedRow> =
        serde_json::from_str(&json).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
    let mut recorded: HashMap<String, Vec<Recorded>> = HashMap::new();
    for (id, email, at, machine, link, client) in rows {
        recorded.entry(email).or_default().push(Recorded {
            id,
            at,
            link: link.unwrap_or(0),
            client,
            machine: machine != 0,
        });
    }
    for (email, in_batch) in &batch {
        let old = recorded.remove(*email).unwrap_or_default();
        // Recorded clicks and the batch's, in time order; on a tie the recorded one first.
        let mut all: Vec<(Source, Click<'_>)> = old
            .iter()
            .enumerate()
            .map(|(n, r)| {
                let click = Click {
                    at_ms: r.at,
                    link: u32::try_from(r.link).unwrap_or(0),
                    client: r.client.as_deref(),
                    machine: r.machine,
                };
                (Source::Recorded(n), click)
            })
            .collect();
        for &i in in_batch {
            let h = hits[i];
            let click = Click {
                at_ms: h.at,
                link: h.link.as_ref().map_or(0, |l| l.index),
                client: h.client.as_deref(),
                machine: h.machine.is_some(),
            };
            all.push((Source::Batch(i), click));
        }
        all.sort_by_key(|(source, c)| (c.at_ms, matches!(source, Source::Batch(_))));
        let clicks: Vec<Click<'_>> = all.iter().map(|(_, c)| *c).collect();
        let verdicts = classify::judge_clicks(&clicks, &cfg);
        for ((source, _), verdict) in all.iter().zip(verdicts) {
            let Some(reason) = verdict.map(MachineReason::as_str) else {
                continue;
            };
            match *source {
                Source::Batch(i) => judged.verdicts[i] = Some(reason),
                Source::Recorded(n) => judged.corrections.push((old[n].id.clone(), reason)),
            }
        }
    }
    Ok(judged)
}

#[derive(Clone, Copy)]
enum Source {
    /// The n-th recorded click.
    Recorded(usize),
    /// The hit at this index of the batch.
    Batch(usize),
}

/// A recorded click as the read gives it: event id, email id, time, machine (0/1), link index,
/// client fingerprint.
type RecordedRow = (String, String, i64, i64, Option<i64>, Option<String>);

struct Recorded {
    id: String,
    at: i64,
    link: i64,
    client: Option<String>,
    machine: bool,
}

/// Each window is `[email id, from, to, burst from, burst to]` (milliseconds): clicks still human
/// are read over the re-check window (by the partial index `events_human_clicks`, migration
/// 0010), machine ones, which only count towards bursts, over the burst window (by the
/// contact's events index).
const LOCK_POSTGRES: &str = "SELECT id FROM emails WHERE id IN \
    (SELECT e->>0 FROM jsonb_array_elements($1::jsonb) AS j(e)) ORDER BY id FOR UPDATE";
const RECORDED_SQLITE: &str = "WITH w AS (SELECT value->>0 AS eid, value->>1 AS lo, \
    value->>2 AS hi, value->>3 AS blo, value->>4 AS bhi FROM json_each($1)), \
    r AS (SELECT ev.id, ev.email_id, ev.created_at, 0 AS machine, ev.link_index, ev.client \
    FROM w JOIN events ev ON ev.email_id = w.eid AND ev.name = 'email.click' \
    AND ev.machine IS NULL AND ev.created_at >= w.lo AND ev.created_at <= w.hi \
    UNION ALL \
    SELECT ev.id, ev.email_id, ev.created_at, 1, ev.link_index, ev.client \
    FROM w JOIN emails m ON m.id = w.eid JOIN events ev ON ev.contact_id = m.contact_id \
    AND ev.created_at >= w.blo AND ev.created_at <= w.bhi \
    WHERE ev.email_id = w.eid AND ev.name = 'email.click' AND ev.machine IS NOT NULL) \
    SELECT json_group_array(json_array(id, email_id, created_at, machine, link_index, client)) \
    FROM r";
const RECORDED_POSTGRES: &str = "WITH w AS (SELECT e->>0 AS eid, (e->>1)::BIGINT AS lo, \
    (e->>2)::BIGINT AS hi, (e->>3)::BIGINT AS blo, (e->>4)::BIGINT AS bhi \
    FROM jsonb_array_elements($1::jsonb) AS j(e)), \
    r AS (SELECT ev.id, ev.email_id, ev.created_at, 0 AS machine, ev.link_index, ev.client \
    FROM w JOIN events ev ON ev.email_id = w.eid AND ev.name = 'email.click' \
    AND ev.machine IS NULL AND ev.created_at >= w.lo AND ev.created_at <= w.hi \
    UNION ALL \
    SELECT ev.id, ev.email_id, ev.created_at, 1, ev.link_index, ev.client \
    FROM w JOIN emails m ON m.id = w.eid JOIN events ev ON ev.contact_id = m.contact_id \
    AND ev.created_at >= w.blo AND ev.created_at <= w.bhi \
    WHERE ev.email_id = w.eid AND ev.name = 'email.click' AND ev.machine IS NOT NULL) \
    SELECT COALESCE(json_agg(json_build_array(id, email_id, created_at, machine, link_index, \
    client)), '[]'::json)::text FROM r";

/// Carries out the corrections `judge` found, after the batch is applied (so the first-click
/// times it recomputes see the batch's own human clicks).
pub async fn correct(tx: &mut Tx, backend: Backend, judged: &Judged) -> Result<(), sqlx::Error> {
    if judged.corrections.is_empty() {
        return Ok(());
    }
    let json = serde_json::to_string(&judged.corrections).expect("strings serialize");
    let sql = match backend {
        Backend::Sqlite => CORRECT_EVENTS_SQLITE,
        Backend::Postgres => CORRECT_EVENTS_POSTGRES,
    };
    let changed: Vec<String> = sqlx::query_scalar(sql)
        .bind(json)
        .fetch_all(&mut **tx)
        .await?;
    let mut per_email: HashMap<String, i64> = HashMap::new();
    for email in changed {
        *per_email.entry(email).or_default() += 1;
    }
    for (email, k) in per_email {
        move_back(tx, &email, k).await?;
    }
    Ok(())
}

/// Only events still human are corrected; each returns its email, so the counters move by
/// exactly the events that changed.
const CORRECT_EVENTS_SQLITE: &str = "UPDATE events SET machine = j.value->>1, \
    data = json_set(data, '$.machine', j.value->>1, '$.isFirstClick', json('false')) \
    FROM json_each($1) AS j WHERE events.id = j.value->>0 AND events.machine IS NULL \
    RETURNING events.email_id";
const CORRECT_EVENTS_POSTGRES: &str = "UPDATE events SET machine = e->>1, \
    data = (data::jsonb || jsonb_build_object('machine', e->>1, 'isFirstClick', false))::text \
    FROM jsonb_array_elements($1::jsonb) AS j(e) WHERE events.id = e->>0 \
    AND events.machine IS NULL RETURNING events.email_id";

/// Moves `k` clicks of `email` from the human counter to the machine one, and recomputes what
/// human clicks had set: the first click, an open inferred from a click, and the status.
async fn move_back(tx: &mut Tx, email: &str, k: i64) -> Result<(), sqlx::Error> {
    let row = sqlx::query(
        "SELECT m.status, m.opened_at, m.open_inferred, m.delivered_at, \
         (SELECT MIN(ev.created_at) FROM events ev WHERE ev.contact_id = m.contact_id \
          AND ev.email_id = m.id AND ev.name = 'email.click' AND ev.machine IS NULL) AS first_click, \
         (SELECT MIN(ev.created_at) FROM events ev WHERE ev.contact_id = m.contact_id \
          AND ev.email_id = m.id AND ev.name = 'email.open' AND ev.machine IS NULL) AS first_open \
         FROM emails m WHERE m.id = $1",
    )
    .bind(email)
    .fetch_one(&mut **tx)
    .await?;
    let status: String = row.try_get("status")?;
    let mut opened_at: Option<i64> = row.try_get("opened_at")?;
    let mut inferred: i64 = row.try_get("open_inferred")?;
    let delivered: Option<i64> = row.try_get("delivered_at")?;
    let first_click: Option<i64> = row.try_get("first_click")?;
    let first_open: Option<i64> = row.try_get("first_open")?;
    if inferred == 1 {
        // The first open was a human click's: it is now the earliest human open or click left.
        opened_at = match (first_open, first_click) {
            (Some(o), Some(c)) => Some(o.min(c)),
            (o, c) => o.or(c),
        };
        inferred = i64::from(first_click.is_some() && opened_at == first_click);
    }
    let status = match (status.as_str(), first_click) {
        ("CLICKED", None) if opened_at.is_some() => "OPENED".to_string(),
        ("CLICKED", None) if delivered.is_some() => "DELIVERED".to_string(),
        ("CLICKED", None) => "SENT".to_string(),
        _ => status,
    };
    sqlx::query(
        "UPDATE emails SET clicks = clicks - $1, clicks_machine = clicks_machine + $1, \
         clicked_at = $2, opened_at = $3, open_inferred = $4, status = $5 WHERE id = $6",
    )
    .bind(k)
    .bind(first_click)
    .bind(opened_at)
    .bind(inferred)
    .bind(status)
    .bind(email)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
