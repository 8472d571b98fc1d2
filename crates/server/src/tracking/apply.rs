//! What one open or click does to the store: the email row's counters, first times and status,
//! and an `email.open` / `email.click` event on the contact. The fold applies the hits the ingest
//! writer appended (`hits.rs`); SES's notifications apply theirs directly.
//!
//! Counters and first times are updated with atomic `UPDATE … FROM (rows) RETURNING`
//! statements (increments, never read-modify-write), so several nodes can fold hits of the same
//! email side by side on PostgreSQL.

use std::collections::HashMap;

use serde_json::{Value, json};
use sqlx::AssertSqlSafe;

use super::judge;
use crate::store::{self, Backend, Tx};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Open,
    Click,
}

#[derive(Debug, Clone)]
pub struct Link {
    pub url: String,
    pub index: u32,
    pub tag: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Hit {
    pub kind: Kind,
    pub email_id: String,
    pub link: Option<Link>,
    /// `None` for a human hit, else the machine verdict's reason (`apple_mpp`, …).
    pub machine: Option<String>,
    /// For `security_scanner`, which product.
    pub scanner: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// The client fingerprint (`classify::fingerprint`): network and kind of client, hashed, for
    /// telling a person's click from a gateway's re-check of it.
    pub client: Option<String>,
    pub at: i64,
}

/// Applies every hit inside the caller's transaction, in the order given, with a few set-based
/// statements per batch rather than two per hit: one `UPDATE … FROM (rows) RETURNING` per kind of
/// hit (open / click × human / machine) over the batch's distinct emails, then one `INSERT … SELECT`
/// of the events, each with its rows in one JSON parameter. On SQLite every statement is a round
/// trip to sqlx's database thread, so per-hit statements cost ~50 µs a hit in thread hand-offs
/// alone; per batch, a few.
///
/// Clicks are first judged with the email's recorded clicks (`judge.rs`: bursts and gateway
/// re-checks), and recorded clicks found to be a machine's are corrected after the batch.
pub async fn apply_batch(tx: &mut Tx, backend: Backend, hits: &[&Hit]) -> Result<(), sqlx::Error> {
    let judged = judge::judge(tx, backend, hits).await?;
    let machine: Vec<Option<&str>> = hits
        .iter()
        .zip(&judged.verdicts)
        .map(|(h, judged)| h.machine.as_deref().or(*judged))
        .collect();
    let mut events: Vec<(usize, EventRow)> = Vec::with_capacity(hits.len());
    for (kind, human) in [
        (Kind::Open, true),
        (Kind::Open, false),
        (Kind::Click, true),
        (Kind::Click, false),
    ] {
        let group: Vec<(usize, &Hit)> = hits
            .iter()
            .enumerate()
            .filter(|(i, h)| h.kind == kind && machine[*i].is_none() == human)
            .map(|(i, h)| (i, *h))
            .collect();
        if group.is_empty() {
            continue;
        }
        // Per distinct email: how many hits, and the first one's time (the "first open" time).
        let mut per: Vec<(&str, i64, i64)> = Vec::new();
        let mut slot: HashMap<&str, usize> = HashMap::new();
        for (_, h) in &group {
            match slot.get(h.email_id.as_str()) {
                Some(&i) => per[i].1 += 1,
                None => {
                    slot.insert(&h.email_id, per.len());
                    per.push((&h.email_id, 1, h.at));
                }
            }
        }
        let mut after: HashMap<String, After> = HashMap::with_capacity(per.len());
        for chunk in per.chunks(UPDATE_CHUNK) {
            for row in update(tx, backend, kind, human, chunk).await? {
                after.insert(row.id.clone(), row);
            }
        }
        // The counters each hit saw: the n-th of k hits on an email in this batch saw
        // `after - k + n`, exactly as if the k had been applied one by one.
        let mut seen: HashMap<&str, i64> = HashMap::new();
        for (i, hit) in group {
            // A validly signed link whose email was deleted still redirects; it records nothing.
            let Some(a) = after.get(&hit.email_id) else {
                continue;
            };
            let k = per[slot[hit.email_id.as_str()]].1;
            let n = seen.entry(&hit.email_id).or_insert(0);
            *n += 1;
            let later = k - *n; // hits of this batch on this email that come after this one
            events.push((i, event_row(hit, machine[i], a, later)));
        }
    }
    // Events in the order the hits arrived.
    events.sort_by_key(|(i, _)| *i);
    let rows: Vec<EventRow> = events.into_iter().map(|(_, r)| r).collect();
    for chunk in rows.chunks(INSERT_CHUNK) {
        insert_events(tx, backend, chunk).await?;
    }
    judge::correct(tx, backend, &judged).await
}

/// Distinct emails per `UPDATE` and events per `INSERT`: each statement carries its rows as one
/// JSON parameter, so its text (and prepared plan) is the same for every batch; the chunks only
/// bound the parameter's size.
const UPDATE_CHUNK: usize = 1_000;
const INSERT_CHUNK: usize = 500;

#[derive(sqlx::FromRow)]
struct After {
    id: String,
    project_id: String,
    contact_id: String,
    subject: String,
    template_id: Option<String>,
    campaign_id: Option<String>,
    source_type: String,
    opens: i64,
    opens_machine: i64,
    clicks: i64,
    clicks_machine: i64,
    opened_at: Option<i64>,
    clicked_at: Option<i64>,
}

const RETURNING: &str = "RETURNING id, project_id, contact_id, subject, template_id, campaign_id, \
    source_type, opens, opens_machine, clicks, clicks_machine, opened_at, clicked_at";

/// Status only moves forward: SENT < DELIVERED < OPENED < CLICKED. Emails not yet sent keep
/// their queue status (a hit cannot come before delivery, except from a forwarded test copy).
const OPENED: &str = "CASE WHEN status IN ('SENT', 'DELIVERED') THEN 'OPENED' ELSE status END";
const CLICKED: &str =
    "CASE WHEN status IN ('SENT', 'DELIVERED', 'OPENED') THEN 'CLICKED' ELSE status END";

async fn update(
    tx: &mut Tx,
    backend: Backend,
    kind: Kind,
    human: bool,
    emails: &[(&str, i64, i64)],
) -> Result<Vec<After>, sqlx::Error> {
    // `v` = (email id, hits in this batch, first hit's time), one JSON array per email.
    let set = match (kind, human) {
        (Kind::Open, true) => format!(
            "opens = opens + v.n, opened_at = COALESCE(opened_at, v.first_at), status = {OPENED}"
        ),
        (Kind::Open, false) => "opens_machine = opens_machine + v.n".to_string(),
        // A human click implies an open: set the first open too (marked inferred) if missing.
        (Kind::Click, true) => format!(
            "clicks = clicks + v.n, clicked_at = COALESCE(clicked_at, v.first_at), \
             open_inferred = CASE WHEN opened_at IS NULL THEN 1 ELSE open_inferred END, \
             opened_at = COALESCE(opened_at, v.first_at), status = {CLICKED}"
        ),
        (Kind::Click, false) => "clicks_machine = clicks_machine + v.n".to_string(),
    };
    let rows = match backend {
        Backend::Sqlite => {
            "SELECT value->>0 AS eid, value->>1 AS n, value->>2 AS first_at \
                            FROM json_each($1)"
        }
        Backend::Postgres => {
            "SELECT e->>0 AS eid, (e->>1)::BIGINT AS n, \
                              (e->>2)::BIGINT AS first_at \
                              FROM jsonb_array_elements($1::jsonb) AS b(e)"
        }
    };
    let sql =
        format!("UPDATE emails SET {set} FROM ({rows}) AS v WHERE emails.id = v.eid {RETURNING}");
    let json = serde_json::to_string(emails).expect("strings and integers serialize");
    sqlx::query_as::<_, After>(AssertSqlSafe(sql))
        .bind(json)
        .fetch_all(&mut **tx)
        .await
}

struct EventRow {
    project_id: String,
    contact_id: String,
    email_id: String,
    name: &'static str,
    data: String,
    at: i64,
    machine: Option<String>,
    campaign_id: Option<String>,
    template_id: Option<String>,
    link_url: Option<String>,
    link_index: Option<i64>,
    link_tag: Option<String>,
    client: Option<String>,
}

/// The event one hit records; `later` is how many hits of the same batch on the same email, of the
/// same kind, come after it (their increments are already in `after`'s counters).
fn event_row(hit: &Hit, machine: Option<&str>, after: &After, later: i64) -> EventRow {
    let human = machine.is_none();
    let machine_json = machine.map_or(Value::Null, |m| Value::String(m.to_string()));
    let mut data = json!({
        "emailId": hit.email_id,
        "subject": after.subject,
        "templateId": after.template_id,
        "campaignId": after.campaign_id,
        "sourceType": after.source_type,
        "machine": machine_json,
    });
    let d = data.as_object_mut().expect("object");
    let name = match hit.kind {
        Kind::Open => {
            let (opens, machine_opens) = if human {
                (after.opens - later, after.opens_machine)
            } else {
                (after.opens, after.opens_machine - later)
            };
            d.insert(
                "isFirstOpen".into(),
                json!(human && after.opened_at == Some(hit.at) && opens == 1),
            );
            // Counters after this hit: `opens` counts people, `machineOpens` the rest.
            d.insert("opens".into(), json!(opens));
            d.insert("machineOpens".into(), json!(machine_opens));
            "email.open"
        }
        Kind::Click => {
            let (clicks, machine_clicks) = if human {
                (after.clicks - later, after.clicks_machine)
            } else {
                (after.clicks, after.clicks_machine - later)
            };
            let link = hit.link.clone().unwrap_or(Link {
                url: String::new(),
                index: 0,
                tag: None,
            });
            d.insert("link".into(), json!(link.url));
            d.insert("linkIndex".into(), json!(link.index));
            d.insert("linkTag".into(), json!(link.tag));
            d.insert(
                "isFirstClick".into(),
                json!(human && after.clicked_at == Some(hit.at) && clicks == 1),
            );
            d.insert("clicks".into(), json!(clicks));
            d.insert("machineClicks".into(), json!(machine_clicks));
            "email.click"
        }
    };
    if let Some(scanner) = &hit.scanner {
        d.insert("scanner".into(), json!(scanner));
    }
    if let Some(ip) = &hit.ip {
        d.insert("ip".into(), json!(ip));
    }
    if let Some(ua) = &hit.user_agent {
        d.insert("userAgent".into(), json!(ua));
    }
    EventRow {
        project_id: after.project_id.clone(),
        contact_id: after.contact_id.clone(),
        email_id: hit.email_id.clone(),
        name,
        data: data.to_string(),
        at: hit.at,
        machine: machine.map(str::to_string),
        campaign_id: after.campaign_id.clone(),
        template_id: after.template_id.clone(),
        link_url: hit.link.as_ref().map(|l| l.url.clone()),
        link_index: hit.link.as_ref().map(|l| i64::from(l.index)),
        link_tag: hit.link.as_ref().and_then(|l| l.tag.clone()),
        client: hit.client.clone(),
    }
}

/// One insert for the whole batch, as `store::events::insert` does for one: a contact deleted since
/// the email was sent gets no new events (the email row's counters still move). An event starts
/// as already seen by the workflow engine when its project has no workflow at all, which is
/// decided here, under the same transaction: the intake (`workflows/intake.rs`) would otherwise
/// read and rewrite every open and click of a campaign only to find nothing to do.
async fn insert_events(
    tx: &mut Tx,
    backend: Backend,
    rows: &[EventRow],
) -> Result<(), sqlx::Error> {
    let sql = match backend {
        Backend::Sqlite => INSERT_EVENTS_SQLITE,
        Backend::Postgres => INSERT_EVENTS_POSTGRES,
    };
    let values: Vec<_> = rows
        .iter()
        .map(|r| {
            (
                store::new_id(),
                &r.project_id,
                &r.contact_id,
                &r.email_id,
                r.name,
                &r.data,
                // The hit's time, not the fold's: a backlog folded later keeps when things
                // happened.
                r.at,
                &r.machine,
                &r.campaign_id,
                &r.template_id,
                &r.link_url,
                r.link_index,
                &r.link_tag,
                &r.client,
            )
        })
        .collect();
    let json = serde_json::to_string(&values).expect("strings and integers serialize");
    sqlx::query(sql).bind(json).execute(&mut **tx).await?;
    Ok(())
}

/// Each event is a JSON array in column order, unpacked by the database (a JSON null is SQL NULL).
const INSERT_EVENTS_SQLITE: &str = "\
    WITH b(n, e) AS MATERIALIZED (SELECT key, jsonb(value) FROM json_each($1)) \
    INSERT INTO events (id, project_id, contact_id, email_id, name, data, created_at, machine, \
    campaign_id, template_id, link_url, link_index, link_tag, client, workflow_state) \
    SELECT e->>0, e->>1, e->>2, e->>3, e->>4, e->>5, e->>6, e->>7, e->>8, e->>9, e->>10, \
    e->>11, e->>12, e->>13, \
    CASE WHEN EXISTS (SELECT 1 FROM workflows WHERE workflows.project_id = e->>1) THEN 0 ELSE 1 END \
    FROM b WHERE EXISTS (SELECT 1 FROM contacts WHERE contacts.id = e->>2) ORDER BY n";
const INSERT_EVENTS_POSTGRES: &str = "\
    INSERT INTO events (id, project_id, contact_id, email_id, name, data, created_at, machine, \
    campaign_id, template_id, link_url, link_index, link_tag, client, workflow_state) \
    SELECT e->>0, e->>1, e->>2, e->>3, e->>4, e->>5, (e->>6)::BIGINT, e->>7, e->>8, e->>9, \
    e->>10, (e->>11)::BIGINT, e->>12, e->>13, \
    CASE WHEN EXISTS (SELECT 1 FROM workflows WHERE workflows.project_id = e->>1) THEN 0 ELSE 1 END \
    FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS b(e, n) \
    WHERE EXISTS (SELECT 1 FROM contacts WHERE contacts.id = e->>2) ORDER BY n";
