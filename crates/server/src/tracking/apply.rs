//! What one open or click does to the store: the email row's counters, first times and status,
//! and an `email.open` / `email.click` event on the contact.
//!
//! Counters and first times are updated with single atomic `UPDATE … RETURNING` statements, so
//! several nodes' writers can ingest hits of the same email side by side on PostgreSQL.

use serde_json::{Value, json};
use sqlx::AssertSqlSafe;

use crate::store::{Db, Tx, events};

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
    pub machine: Option<&'static str>,
    /// For `security_scanner`, which product.
    pub scanner: Option<&'static str>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub at: i64,
}

/// Applies every hit in one transaction.
pub async fn apply_batch(db: &Db, hits: &[&Hit]) -> Result<(), sqlx::Error> {
    let mut tx = db.begin().await?;
    for hit in hits {
        apply(&mut tx, hit).await?;
    }
    tx.commit().await
}

#[derive(sqlx::FromRow)]
struct After {
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

const RETURNING: &str = "RETURNING project_id, contact_id, subject, template_id, campaign_id, \
    source_type, opens, opens_machine, clicks, clicks_machine, opened_at, clicked_at";

/// Status only moves forward: SENT < DELIVERED < OPENED < CLICKED. Emails not yet sent keep
/// their queue status (a hit cannot come before delivery, except from a forwarded test copy).
const OPENED: &str = "CASE WHEN status IN ('SENT', 'DELIVERED') THEN 'OPENED' ELSE status END";
const CLICKED: &str =
    "CASE WHEN status IN ('SENT', 'DELIVERED', 'OPENED') THEN 'CLICKED' ELSE status END";

async fn apply(tx: &mut Tx, hit: &Hit) -> Result<(), sqlx::Error> {
    let human = hit.machine.is_none();
    let sql = match (hit.kind, human) {
        (Kind::Open, true) => format!(
            "UPDATE emails SET opens = opens + 1, opened_at = COALESCE(opened_at, $2), \
             status = {OPENED} WHERE id = $1 {RETURNING}"
        ),
        (Kind::Open, false) => {
            format!("UPDATE emails SET opens_machine = opens_machine + 1 WHERE id = $1 {RETURNING}")
        }
        // A human click implies an open: set the first open too (marked inferred) if missing.
        (Kind::Click, true) => format!(
            "UPDATE emails SET clicks = clicks + 1, clicked_at = COALESCE(clicked_at, $2), \
             open_inferred = CASE WHEN opened_at IS NULL THEN 1 ELSE open_inferred END, \
             opened_at = COALESCE(opened_at, $2), status = {CLICKED} WHERE id = $1 {RETURNING}"
        ),
        (Kind::Click, false) => format!(
            "UPDATE emails SET clicks_machine = clicks_machine + 1 WHERE id = $1 {RETURNING}"
        ),
    };
    // A validly signed link whose email was deleted still redirects; it records nothing.
    let mut query = sqlx::query_as::<_, After>(AssertSqlSafe(sql)).bind(&hit.email_id);
    if human {
        query = query.bind(hit.at);
    }
    let Some(after) = query.fetch_optional(&mut **tx).await? else {
        return Ok(());
    };
    let machine = hit
        .machine
        .map_or(Value::Null, |m| Value::String(m.to_string()));
    let mut data = json!({
        "emailId": hit.email_id,
        "subject": after.subject,
        "templateId": after.template_id,
        "campaignId": after.campaign_id,
        "sourceType": after.source_type,
        "machine": machine,
    });
    let d = data.as_object_mut().expect("object");
    let name = match hit.kind {
        Kind::Open => {
            d.insert(
                "isFirstOpen".into(),
                json!(human && after.opened_at == Some(hit.at) && after.opens == 1),
            );
            // Counters after this hit: `opens` counts people, `machineOpens` the rest.
            d.insert("opens".into(), json!(after.opens));
            d.insert("machineOpens".into(), json!(after.opens_machine));
            "email.open"
        }
        Kind::Click => {
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
                json!(human && after.clicked_at == Some(hit.at) && after.clicks == 1),
            );
            d.insert("clicks".into(), json!(after.clicks));
            d.insert("machineClicks".into(), json!(after.clicks_machine));
            "email.click"
        }
    };
    if let Some(scanner) = hit.scanner {
        d.insert("scanner".into(), json!(scanner));
    }
    if let Some(ip) = &hit.ip {
        d.insert("ip".into(), json!(ip));
    }
    if let Some(ua) = &hit.user_agent {
        d.insert("userAgent".into(), json!(ua));
    }
    events::insert(
        tx,
        events::NewEvent {
            project_id: &after.project_id,
            contact_id: &after.contact_id,
            email_id: Some(&hit.email_id),
            name,
            data,
            meta: events::Meta {
                machine: hit.machine,
                campaign_id: after.campaign_id.as_deref(),
                template_id: after.template_id.as_deref(),
                link_url: hit.link.as_ref().map(|l| l.url.as_str()),
                link_index: hit.link.as_ref().map(|l| i64::from(l.index)),
                link_tag: hit.link.as_ref().and_then(|l| l.tag.as_deref()),
            },
        },
    )
    .await?;
    Ok(())
}
