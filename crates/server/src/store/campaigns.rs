//! Campaigns and the state of their fan-out.

use sqlx::AssertSqlSafe;

use super::{Backend, Db, Tx, now_ms};

#[derive(Debug, Clone, Default, sqlx::FromRow)]
pub struct Campaign {
    pub id: String,
    pub project_id: String,
    pub name: String,
    pub subject: String,
    pub body: String,
    pub from_email: String,
    pub from_name: Option<String>,
    pub reply_to: Option<String>,
    #[sqlx(rename = "type")]
    pub kind: String,
    pub audience: String,
    pub status: String,
    pub scheduled_at: Option<i64>,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    pub cursor: String,
    pub recipients: i64,
    pub lease_until: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    /// Changes to the project's campaign parameters: a JSON object, or `None` (`crate::links`).
    pub utm: Option<String>,
}

const COLUMNS: &str = "id, project_id, name, subject, body, from_email, from_name, reply_to, type, \
    audience, status, scheduled_at, started_at, finished_at, cursor, recipients, lease_until, \
    created_at, updated_at, utm";

pub async fn insert(db: &Db, c: &Campaign) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO campaigns (id, project_id, name, subject, body, from_email, from_name, \
         reply_to, type, audience, status, created_at, updated_at, utm) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'DRAFT', $11, $11, $12)",
    )
    .bind(&c.id)
    .bind(&c.project_id)
    .bind(&c.name)
    .bind(&c.subject)
    .bind(&c.body)
    .bind(&c.from_email)
    .bind(&c.from_name)
    .bind(&c.reply_to)
    .bind(&c.kind)
    .bind(&c.audience)
    .bind(c.created_at)
    .bind(&c.utm)
    .execute(&db.write)
    .await?;
    Ok(())
}

pub async fn get(db: &Db, project_id: &str, id: &str) -> Result<Option<Campaign>, sqlx::Error> {
    sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM campaigns WHERE project_id = $1 AND id = $2"
    )))
    .bind(project_id)
    .bind(id)
    .fetch_optional(&db.read)
    .await
}

pub async fn list(
    db: &Db,
    project_id: &str,
    cursor: Option<&str>,
    limit: i64,
) -> Result<Vec<Campaign>, sqlx::Error> {
    sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM campaigns WHERE project_id = $1 AND id > $2 ORDER BY id LIMIT $3"
    )))
    .bind(project_id)
    .bind(cursor.unwrap_or(""))
    .bind(limit)
    .fetch_all(&db.read)
    .await
}

/// The project's newest `limit` campaigns, newest first.
pub async fn newest(db: &Db, project_id: &str, limit: i64) -> Result<Vec<Campaign>, sqlx::Error> {
    sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM campaigns WHERE project_id = $1 ORDER BY id DESC LIMIT $2"
    )))
    .bind(project_id)
    .bind(limit)
    .fetch_all(&db.read)
    .await
}

/// Rewrites the content of a DRAFT campaign; false when it is no longer a draft.
pub async fn update_draft(db: &Db, c: &Campaign) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query(
        "UPDATE campaigns SET name = $1, subject = $2, body = $3, from_email = $4, \
         from_name = $5, reply_to = $6, type = $7, audience = $8, updated_at = $9, utm = $12 \
         WHERE project_id = $10 AND id = $11 AND status = 'DRAFT'",
    )
    .bind(&c.name)
    .bind(&c.subject)
    .bind(&c.body)
    .bind(&c.from_email)
    .bind(&c.from_name)
    .bind(&c.reply_to)
    .bind(&c.kind)
    .bind(&c.audience)
    .bind(now_ms())
    .bind(&c.project_id)
    .bind(&c.id)
    .bind(&c.utm)
    .execute(&db.write)
    .await?
    .rows_affected()
        == 1)
}

/// Moves a campaign from one of `from` to `to`; false when it was in none of them.
pub async fn transition(
    db: &Db,
    project_id: &str,
    id: &str,
    from: &[&str],
    to: &str,
    scheduled_at: Option<i64>,
) -> Result<bool, sqlx::Error> {
    let allowed = from
        .iter()
        .map(|s| format!("'{s}'"))
        .collect::<Vec<_>>()
        .join(", ");
    Ok(sqlx::query(AssertSqlSafe(format!(
        "UPDATE campaigns SET status = $1, scheduled_at = COALESCE($2, scheduled_at), \
         updated_at = $3 WHERE project_id = $4 AND id = $5 AND status IN ({allowed})"
    )))
    .bind(to)
    .bind(scheduled_at)
    .bind(now_ms())
    .bind(project_id)
    .bind(id)
    .execute(&db.write)
    .await?
    .rows_affected()
        == 1)
}

pub async fn delete(db: &Db, project_id: &str, id: &str) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query(
        "DELETE FROM campaigns WHERE project_id = $1 AND id = $2 AND status <> 'SENDING'",
    )
    .bind(project_id)
    .bind(id)
    .execute(&db.write)
    .await?
    .rows_affected()
        == 1)
}

/// Claims one campaign whose fan-out is due: a SCHEDULED one whose time has come, or a
/// SENDING one whose runner vanished (its lease ran out).
///
/// `id = (SELECT … LIMIT 1)`, not `id IN (…)`: PostgreSQL may run an `IN` subquery once per
/// outer row, and with `SKIP LOCKED` each run skips the row the last one locked, so one claim
/// took several due campaigns while returning (and running) only the first; the others waited
/// out a whole lease. A scalar subquery runs once.
pub async fn claim_due(db: &Db, lease_ms: i64) -> Result<Option<Campaign>, sqlx::Error> {
    let now = now_ms();
    let lock = match db.backend {
        Backend::Postgres => "FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    sqlx::query_as(AssertSqlSafe(format!(
        "UPDATE campaigns SET status = 'SENDING', lease_until = $1, \
         started_at = COALESCE(started_at, $2), updated_at = $2 \
         WHERE id = (SELECT id FROM campaigns WHERE \
           (status = 'SCHEDULED' AND scheduled_at <= $2) OR (status = 'SENDING' AND lease_until < $2) \
           ORDER BY scheduled_at, id LIMIT 1 {lock}) \
         AND (status = 'SCHEDULED' OR (status = 'SENDING' AND lease_until < $2)) \
         RETURNING {COLUMNS}"
    )))
    .bind(now + lease_ms)
    .bind(now)
    .fetch_optional(&db.write)
    .await
}

/// Inside a fan-out page's transaction: the campaign's status (`None` once deleted).
pub async fn status_tx(tx: &mut Tx, id: &str) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT status FROM campaigns WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut **tx)
        .await
}

/// Records a committed page: the new cursor, the recipients added, a renewed lease.
pub async fn advance(
    tx: &mut Tx,
    id: &str,
    cursor: &str,
    added: i64,
    lease_ms: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE campaigns SET cursor = $1, recipients = recipients + $2, lease_until = $3 \
         WHERE id = $4",
    )
    .bind(cursor)
    .bind(added)
    .bind(now_ms() + lease_ms)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The fan-out reached the end of the audience.
pub async fn finish(db: &Db, id: &str) -> Result<(), sqlx::Error> {
    let now = now_ms();
    sqlx::query(
        "UPDATE campaigns SET status = 'SENT', finished_at = $1, lease_until = NULL, \
         updated_at = $1 WHERE id = $2 AND status = 'SENDING'",
    )
    .bind(now)
    .bind(id)
    .execute(&db.write)
    .await?;
    Ok(())
}

/// A runner stopping gracefully hands its campaign back at once (the lease ends now).
pub async fn release(db: &Db, id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE campaigns SET lease_until = 0 WHERE id = $1 AND status = 'SENDING'")
        .bind(id)
        .execute(&db.write)
        .await?;
    Ok(())
}

/// A DRAFT, SCHEDULED or SENDING campaign whose audience is this segment, if any.
pub async fn pending_for_segment(
    db: &Db,
    project_id: &str,
    segment_id: &str,
) -> Result<Option<Campaign>, sqlx::Error> {
    // Audiences are stored as the compact JSON they were given, and the only form that names a
    // segment is `{"segmentId": …}`, so equality on that text finds them.
    let audience = serde_json::json!({ "segmentId": segment_id }).to_string();
    sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM campaigns WHERE project_id = $1 AND audience = $2 \
         AND status IN ('DRAFT', 'SCHEDULED', 'SENDING') LIMIT 1"
    )))
    .bind(project_id)
    .bind(audience)
    .fetch_optional(&db.read)
    .await
}
