//! Emails: one row per recipient and send, which is also the delivery queue. The bodies live
//! beside it (`bodies.rs`: written once with the row, read only to build the message or show
//! the email; every later change touches the small row alone, migrations/0007).
//!
//! Life of a row: PENDING (queued, `next_attempt_at` says when) → SENDING (claimed by a worker
//! under a lease; for a relay the claim also sets `handoff_at`, as the batch goes to the relay
//! once built) → SENT, or back to PENDING for a retry, or FAILED. Tracking later moves SENT forward to DELIVERED, OPENED,
//! CLICKED, never back.

pub use super::bodies::Bodies;
use super::{Backend, Db, Tx, now_ms, placeholders};
use sqlx::AssertSqlSafe;

#[derive(Debug, Clone, Default, sqlx::FromRow)]
pub struct Email {
    pub id: String,
    pub project_id: String,
    pub contact_id: String,
    pub source_type: String,
    pub template_id: Option<String>,
    pub campaign_id: Option<String>,
    pub subject: String,
    pub from_email: String,
    pub from_name: Option<String>,
    pub reply_to: Option<String>,
    pub to_email: String,
    pub to_name: Option<String>,
    pub headers: String,
    /// Attachments as an older Beacon stored them, in the row (JSON array); new emails keep
    /// `[]` here and name their send's set in `attachment_set_id` (`attachments.rs`).
    pub attachments: String,
    pub attachment_set_id: Option<String>,
    pub tracked: i64,
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub lease_until: Option<i64>,
    pub handoff_at: Option<i64>,
    pub last_error: Option<String>,
    pub provider_message_id: Option<String>,
    pub created_at: i64,
    pub sent_at: Option<i64>,
    pub delivered_at: Option<i64>,
    pub opened_at: Option<i64>,
    pub open_inferred: i64,
    pub clicked_at: Option<i64>,
    pub opens: i64,
    pub opens_machine: i64,
    pub clicks: i64,
    pub clicks_machine: i64,
}

/// An email with its bodies, as `GET /v1/emails/{id}` shows it.
#[derive(Debug)]
pub struct EmailWithBodies {
    pub email: Email,
    pub bodies: Bodies,
}

/// The row's columns (no bodies: see [`bodies`]).
pub const COLUMNS: &str = "id, project_id, contact_id, source_type, template_id, campaign_id, \
    subject, from_email, from_name, reply_to, to_email, to_name, headers, attachments, attachment_set_id, \
    tracked, status, attempts, next_attempt_at, lease_until, handoff_at, last_error, \
    provider_message_id, created_at, sent_at, delivered_at, opened_at, open_inferred, clicked_at, \
    opens, opens_machine, clicks, clicks_machine";

/// Inserts a new PENDING email (all counters zero); its bodies go in with `bodies::insert`.
pub async fn insert(tx: &mut Tx, e: &Email) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO emails (id, project_id, contact_id, source_type, template_id, campaign_id, \
         subject, from_email, from_name, reply_to, to_email, to_name, headers, attachments, \
         tracked, status, attempts, next_attempt_at, created_at, attachment_set_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, \
         'PENDING', 0, $16, $17, $18)",
    )
    .bind(&e.id)
    .bind(&e.project_id)
    .bind(&e.contact_id)
    .bind(&e.source_type)
    .bind(&e.template_id)
    .bind(&e.campaign_id)
    .bind(&e.subject)
    .bind(&e.from_email)
    .bind(&e.from_name)
    .bind(&e.reply_to)
    .bind(&e.to_email)
    .bind(&e.to_name)
    .bind(&e.headers)
    .bind(&e.attachments)
    .bind(e.tracked)
    .bind(e.next_attempt_at)
    .bind(e.created_at)
    .bind(&e.attachment_set_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// An email of the project with its exact bodies (errors when they cannot be read back).
pub async fn get(db: &Db, project_id: &str, id: &str) -> anyhow::Result<Option<EmailWithBodies>> {
    let email: Option<Email> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM emails WHERE project_id = $1 AND id = $2"
    )))
    .bind(project_id)
    .bind(id)
    .fetch_optional(&db.read)
    .await?;
    let Some(email) = email else {
        return Ok(None);
    };
    let bodies = super::bodies::read(db, &[id])
        .await?
        .remove(id)
        .unwrap_or_default();
    Ok(Some(EmailWithBodies { email, bodies }))
}

/// Claims up to `limit` due emails for this worker: they become SENDING with a lease and one
/// more attempt. On PostgreSQL `SKIP LOCKED` lets several nodes claim side by side; on SQLite
/// the single writer connection makes the statement atomic by itself.
///
/// With `handoff` the same statement is the hand-off checkpoint (`handoff_at`): the claimed
/// batch goes to the relay as soon as its messages are built, so from here recovery must assume
/// any of them may have been accepted. One statement rather than two matters on SQLite, where
/// every change to a row rewrites all of it. The claim returns the small rows only: the batch's
/// bodies are read afterwards in one query (`bodies::stored`).
pub async fn claim(
    db: &Db,
    limit: i64,
    lease_ms: i64,
    handoff: bool,
) -> Result<Vec<Email>, sqlx::Error> {
    let now = now_ms();
    let lock = match db.backend {
        Backend::Postgres => "FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    sqlx::query_as(AssertSqlSafe(format!(
        "UPDATE emails SET status = 'SENDING', attempts = attempts + 1, lease_until = $1, \
         handoff_at = $4 WHERE status = 'PENDING' AND id IN (SELECT id FROM emails \
           WHERE status = 'PENDING' AND next_attempt_at <= $2 \
           ORDER BY next_attempt_at, id LIMIT $3 {lock}) \
         RETURNING {COLUMNS}"
    )))
    .bind(now + lease_ms)
    .bind(now)
    .bind(limit)
    .bind(handoff.then_some(now))
    .fetch_all(&db.write)
    .await
}

/// The transport accepted these messages: `(email id, provider message id)` pairs, one statement.
pub async fn mark_sent(tx: &mut Tx, sent: &[(&str, &str)]) -> Result<(), sqlx::Error> {
    if sent.is_empty() {
        return Ok(());
    }
    let cases: String = (0..sent.len())
        .map(|i| format!(" WHEN ${} THEN ${}", 2 * i + 2, 2 * i + 3))
        .collect();
    let ids = placeholders((0..sent.len()).map(|i| 2 * i + 2));
    let sql = format!(
        "UPDATE emails SET status = 'SENT', sent_at = $1, provider_message_id = CASE id{cases} END, \
         lease_until = NULL, last_error = NULL WHERE id IN ({ids})"
    );
    let mut query = sqlx::query(AssertSqlSafe(sql)).bind(now_ms());
    for (id, provider_message_id) in sent {
        query = query.bind(*id).bind(*provider_message_id);
    }
    query.execute(&mut **tx).await?;
    Ok(())
}

/// A transient failure: try again at `retry_at`.
pub async fn mark_retry(
    tx: &mut Tx,
    id: &str,
    error: &str,
    retry_at: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE emails SET status = 'PENDING', next_attempt_at = $1, last_error = $2, \
         lease_until = NULL, handoff_at = NULL WHERE id = $3",
    )
    .bind(retry_at)
    .bind(error)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A final failure.
pub async fn mark_failed(tx: &mut Tx, id: &str, error: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE emails SET status = 'FAILED', last_error = $1, lease_until = NULL WHERE id = $2",
    )
    .bind(error)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Emails whose worker vanished (crash, `kill -9`, a node lost) go back to the queue once
/// their lease runs out. One that had reached the hand-off may already be with the transport:
/// it is retried once, which can deliver it twice (documented in docs/ARCHITECTURE.md); one
/// that had not is simply retried.
pub async fn recover_expired(db: &Db) -> Result<u64, sqlx::Error> {
    let now = now_ms();
    let result = sqlx::query(
        "UPDATE emails SET status = 'PENDING', next_attempt_at = $1, lease_until = NULL, \
         handoff_at = NULL, \
         last_error = CASE WHEN handoff_at IS NULL THEN last_error \
           ELSE 'interrupted during hand-off to the transport; retried once' END \
         WHERE status = 'SENDING' AND lease_until < $1",
    )
    .bind(now)
    .execute(&db.write)
    .await?;
    Ok(result.rows_affected())
}

/// The earliest time a PENDING email becomes due, for the worker's sleep.
pub async fn next_due(db: &Db) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar("SELECT MIN(next_attempt_at) FROM emails WHERE status = 'PENDING'")
        .fetch_one(&db.read)
        .await
}

/// When the email was handed to the transport and, if the transport reported it, delivered
/// (milliseconds; for the verdicts that look at time since delivery).
pub async fn sent_and_delivered(
    db: &Db,
    id: &str,
) -> Result<(Option<i64>, Option<i64>), sqlx::Error> {
    let row: Option<(Option<i64>, Option<i64>)> =
        sqlx::query_as("SELECT sent_at, delivered_at FROM emails WHERE id = $1")
            .bind(id)
            .fetch_optional(&db.read)
            .await?;
    Ok(row.unwrap_or_default())
}

/// An email by id alone (for the public unsubscribe page, which has no API key).
pub async fn by_id(db: &Db, id: &str) -> Result<Option<Email>, sqlx::Error> {
    sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM emails WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(&db.read)
    .await
}
