//! Events recorded on contacts: custom ones from `/v1/track` and Beacon's own `email.*`.

use serde_json::Value;

use super::{Db, Tx, new_id, now_ms};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Event {
    pub id: String,
    pub project_id: String,
    pub contact_id: String,
    pub email_id: Option<String>,
    pub name: String,
    pub data: String,
    pub created_at: i64,
}

pub struct NewEvent<'a> {
    pub project_id: &'a str,
    pub contact_id: &'a str,
    pub email_id: Option<&'a str>,
    pub name: &'a str,
    pub data: Value,
    pub meta: Meta<'a>,
}

/// The parts of an `email.*` event that statistics and segments filter on.
#[derive(Debug, Default, Clone, Copy)]
pub struct Meta<'a> {
    /// The machine verdict's reason; `None` for a human hit (and for non-hit events).
    pub machine: Option<&'a str>,
    pub campaign_id: Option<&'a str>,
    pub template_id: Option<&'a str>,
    pub link_url: Option<&'a str>,
    pub link_index: Option<i64>,
    pub link_tag: Option<&'a str>,
}

pub async fn insert(tx: &mut Tx, event: NewEvent<'_>) -> Result<Event, sqlx::Error> {
    let row = Event {
        id: new_id(),
        project_id: event.project_id.to_string(),
        contact_id: event.contact_id.to_string(),
        email_id: event.email_id.map(str::to_string),
        name: event.name.to_string(),
        data: event.data.to_string(),
        created_at: now_ms(),
    };
    sqlx::query(
        // A contact deleted since the email was sent gets no new events (its old ones are
        // gone too): the email row's counters still move.
        "INSERT INTO events (id, project_id, contact_id, email_id, name, data, created_at, \
         machine, campaign_id, template_id, link_url, link_index, link_tag) \
         SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13 \
         WHERE EXISTS (SELECT 1 FROM contacts WHERE id = $3)",
    )
    .bind(&row.id)
    .bind(&row.project_id)
    .bind(&row.contact_id)
    .bind(&row.email_id)
    .bind(&row.name)
    .bind(&row.data)
    .bind(row.created_at)
    .bind(event.meta.machine)
    .bind(event.meta.campaign_id)
    .bind(event.meta.template_id)
    .bind(event.meta.link_url)
    .bind(event.meta.link_index)
    .bind(event.meta.link_tag)
    .execute(&mut **tx)
    .await?;
    Ok(row)
}

/// The same `email.*` event (no extra fields) for each of `emails`, in one statement: what
/// [`record_for_email`] writes for one, for a batch of deliveries.
pub async fn record_for_emails(
    tx: &mut Tx,
    emails: &[EmailRef<'_>],
    name: &str,
) -> Result<(), sqlx::Error> {
    const PER_ROW: usize = 7;
    if emails.is_empty() {
        return Ok(());
    }
    let rows = (0..emails.len())
        .map(|i| {
            let params: Vec<String> = (0..PER_ROW)
                .map(|c| format!("${}", 3 + i * PER_ROW + c))
                .collect();
            format!("({})", params.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ");
    // VALUES columns are column1… on both databases. As in `insert`: a contact deleted since
    // the email was queued gets no event.
    let sql = format!(
        "INSERT INTO events (id, project_id, contact_id, email_id, name, data, created_at, \
         campaign_id, template_id) \
         SELECT v.column1, v.column2, v.column3, v.column4, $1, v.column5, $2, v.column6, \
         v.column7 FROM (VALUES {rows}) AS v \
         WHERE EXISTS (SELECT 1 FROM contacts WHERE id = v.column3)"
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(name)
        .bind(now_ms());
    for email in emails {
        let data = serde_json::json!({
            "emailId": email.id,
            "subject": email.subject,
            "templateId": email.template_id,
            "campaignId": email.campaign_id,
            "sourceType": email.source_type,
        });
        query = query
            .bind(new_id())
            .bind(email.project_id)
            .bind(email.contact_id)
            .bind(email.id)
            .bind(data.to_string())
            .bind(email.campaign_id)
            .bind(email.template_id);
    }
    query.execute(&mut **tx).await?;
    Ok(())
}

/// A contact's events, newest first, before the `cursor` id (ids are time-ordered).
pub async fn for_contact(
    db: &Db,
    project_id: &str,
    contact_id: &str,
    cursor: Option<&str>,
    limit: i64,
) -> Result<Vec<Event>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, project_id, contact_id, email_id, name, data, created_at FROM events \
         WHERE project_id = $1 AND contact_id = $2 AND ($3 = '' OR id < $3) \
         ORDER BY created_at DESC, id DESC LIMIT $4",
    )
    .bind(project_id)
    .bind(contact_id)
    .bind(cursor.unwrap_or(""))
    .bind(limit)
    .fetch_all(&db.read)
    .await
}

/// What an `email.*` event says about its email.
pub struct EmailRef<'a> {
    pub id: &'a str,
    pub project_id: &'a str,
    pub contact_id: &'a str,
    pub subject: &'a str,
    pub template_id: Option<&'a str>,
    pub campaign_id: Option<&'a str>,
    pub source_type: &'a str,
}

impl<'a> From<&'a super::emails::Email> for EmailRef<'a> {
    fn from(e: &'a super::emails::Email) -> Self {
        EmailRef {
            id: &e.id,
            project_id: &e.project_id,
            contact_id: &e.contact_id,
            subject: &e.subject,
            template_id: e.template_id.as_deref(),
            campaign_id: e.campaign_id.as_deref(),
            source_type: &e.source_type,
        }
    }
}

/// An `email.*` event on an email's contact, with the fields every such event carries
/// (`emailId`, `subject`, `templateId`, `campaignId`, `sourceType`) plus `extra`'s.
pub async fn record_for_email(
    tx: &mut Tx,
    email: EmailRef<'_>,
    name: &str,
    extra: Value,
) -> Result<(), sqlx::Error> {
    let mut data = serde_json::json!({
        "emailId": email.id,
        "subject": email.subject,
        "templateId": email.template_id,
        "campaignId": email.campaign_id,
        "sourceType": email.source_type,
    });
    if let (Value::Object(d), Value::Object(x)) = (&mut data, extra) {
        d.extend(x);
    }
    insert(
        tx,
        NewEvent {
            project_id: email.project_id,
            contact_id: email.contact_id,
            email_id: Some(email.id),
            name,
            data,
            meta: Meta {
                campaign_id: email.campaign_id,
                template_id: email.template_id,
                ..Meta::default()
            },
        },
    )
    .await?;
    Ok(())
}

/// Which events the activity feed shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    All,
    /// One of Beacon's own events, by name (`email.open`, …).
    Named(&'static str),
    /// Events sent through `/v1/track` (neither `email.*` nor `contact.*`).
    Custom,
}

/// An event of the feed, with its contact's address (`None` once the contact is deleted).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FeedEvent {
    #[sqlx(flatten)]
    pub event: Event,
    pub contact_email: Option<String>,
}

/// The project's events since `since` (epoch ms), newest first, `limit` at a time after `cursor`
/// (the `(created_at, id)` of the last event shown). Each kind walks an index backwards, so a
/// page costs its rows: all events and custom ones the `(project_id, created_at)` index (custom
/// ones skip the others' rows on the way), one name the `(project_id, name, created_at)` one.
pub async fn feed(
    db: &Db,
    project_id: &str,
    kind: Kind,
    since: i64,
    cursor: Option<(i64, &str)>,
    limit: i64,
) -> Result<Vec<FeedEvent>, sqlx::Error> {
    let which = match kind {
        Kind::All => "",
        Kind::Named(_) => "AND ev.name = $6",
        Kind::Custom => "AND ev.name NOT LIKE 'email.%' AND ev.name NOT LIKE 'contact.%'",
    };
    let (before_at, before_id) = cursor.unwrap_or((i64::MAX, ""));
    let sql = format!(
        "SELECT ev.id, ev.project_id, ev.contact_id, ev.email_id, ev.name, ev.data, ev.created_at, \
         c.email AS contact_email FROM events ev LEFT JOIN contacts c ON c.id = ev.contact_id \
         WHERE ev.project_id = $1 AND ev.created_at >= $2 \
         AND (ev.created_at, ev.id) < ($3, $4) {which} \
         ORDER BY ev.created_at DESC, ev.id DESC LIMIT $5"
    );
    let query = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(project_id)
        .bind(since)
        .bind(before_at)
        .bind(before_id)
        .bind(limit);
    let query = match kind {
        Kind::Named(name) => query.bind(name),
        _ => query,
    };
    query.fetch_all(&db.read).await
}

/// Every event of one email, oldest first (found through its contact's index).
pub async fn for_email(
    db: &Db,
    project_id: &str,
    contact_id: &str,
    email_id: &str,
) -> Result<Vec<Event>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, project_id, contact_id, email_id, name, data, created_at FROM events \
         WHERE project_id = $1 AND contact_id = $2 AND email_id = $3 \
         ORDER BY created_at, id LIMIT 1000",
    )
    .bind(project_id)
    .bind(contact_id)
    .bind(email_id)
    .fetch_all(&db.read)
    .await
}
