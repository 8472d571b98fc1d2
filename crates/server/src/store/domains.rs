//! Custom tracking domains (`tracking_domains`, migration 0018). The rules are in
//! `crate::actions::domains`; this module only reads and writes rows.

use super::{Db, Tx, new_id, now_ms};

/// A project's tracking domain.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Domain {
    pub id: String,
    pub project_id: String,
    pub hostname: String,
    pub scheme: String,
    pub token: String,
    /// `PENDING`, `VERIFIED` or `FAILING`.
    pub status: String,
    pub created_at: i64,
    pub checked_at: Option<i64>,
    pub verified_at: Option<i64>,
    pub failing_since: Option<i64>,
    pub last_error: Option<String>,
    pub removed_at: Option<i64>,
}

const COLUMNS: &str = "id, project_id, hostname, scheme, token, status, created_at, checked_at, \
     verified_at, failing_since, last_error, removed_at";

/// The project's live (not removed) domains; there is at most one.
pub async fn live(db: &Db, project_id: &str) -> Result<Vec<Domain>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM tracking_domains WHERE project_id = $1 AND removed_at IS NULL \
         ORDER BY created_at, id"
    )))
    .bind(project_id)
    .fetch_all(&db.read)
    .await
}

/// One of the project's live domains by id.
pub async fn get(db: &Db, project_id: &str, id: &str) -> Result<Option<Domain>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM tracking_domains \
         WHERE id = $1 AND project_id = $2 AND removed_at IS NULL"
    )))
    .bind(id)
    .bind(project_id)
    .fetch_optional(&db.read)
    .await
}

/// The projects holding `hostname` live, each with whether its domain was ever verified.
pub async fn live_owners(db: &Db, hostname: &str) -> Result<Vec<(String, bool)>, sqlx::Error> {
    let rows: Vec<(String, Option<i64>)> = sqlx::query_as(
        "SELECT project_id, verified_at FROM tracking_domains \
         WHERE hostname = $1 AND removed_at IS NULL",
    )
    .bind(hostname)
    .fetch_all(&db.read)
    .await?;
    Ok(rows.into_iter().map(|(p, v)| (p, v.is_some())).collect())
}

/// The project whose links `hostname` serves: a domain verified at least once, live or removed
/// (emails already sent keep working), the live one first.
pub async fn serving(db: &Db, hostname: &str) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT project_id FROM tracking_domains WHERE hostname = $1 AND verified_at IS NOT NULL \
         ORDER BY CASE WHEN removed_at IS NULL THEN 0 ELSE 1 END, created_at DESC LIMIT 1",
    )
    .bind(hostname)
    .fetch_optional(&db.read)
    .await
}

/// Inserts a PENDING domain in `tx`.
pub async fn insert(
    tx: &mut Tx,
    project_id: &str,
    hostname: &str,
    scheme: &str,
    token: &str,
) -> Result<Domain, sqlx::Error> {
    let domain = Domain {
        id: new_id(),
        project_id: project_id.to_string(),
        hostname: hostname.to_string(),
        scheme: scheme.to_string(),
        token: token.to_string(),
        status: "PENDING".into(),
        created_at: now_ms(),
        checked_at: None,
        verified_at: None,
        failing_since: None,
        last_error: None,
        removed_at: None,
    };
    sqlx::query(
        "INSERT INTO tracking_domains (id, project_id, hostname, scheme, token, status, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&domain.id)
    .bind(&domain.project_id)
    .bind(&domain.hostname)
    .bind(&domain.scheme)
    .bind(&domain.token)
    .bind(&domain.status)
    .bind(domain.created_at)
    .execute(&mut **tx)
    .await?;
    Ok(domain)
}

/// Marks a live domain removed; false when there was none with that id in the project.
pub async fn remove(db: &Db, project_id: &str, id: &str) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE tracking_domains SET removed_at = $1 \
         WHERE id = $2 AND project_id = $3 AND removed_at IS NULL",
    )
    .bind(now_ms())
    .bind(id)
    .bind(project_id)
    .execute(&db.write)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Records a check's outcome: `Ok` verifies (and clears the failure), `Err` keeps a never
/// verified domain PENDING and turns a verified one FAILING since its first failed check.
pub async fn record_check(
    db: &Db,
    id: &str,
    outcome: Result<(), &str>,
) -> Result<Option<Domain>, sqlx::Error> {
    let now = now_ms();
    match outcome {
        Ok(()) => {
            // Verified: the hostname is this project's now, and other projects' removed rows
            // of it stop serving their old links. A unique violation here: another project's
            // domain of that name was verified first.
            let mut tx = db.begin().await?;
            sqlx::query(
                "DELETE FROM tracking_domains WHERE removed_at IS NOT NULL AND project_id <> \
                 (SELECT project_id FROM tracking_domains WHERE id = $1) \
                 AND hostname = (SELECT hostname FROM tracking_domains WHERE id = $1)",
            )
            .bind(id)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "UPDATE tracking_domains SET status = 'VERIFIED', checked_at = $1, \
                 verified_at = $1, failing_since = NULL, last_error = NULL WHERE id = $2",
            )
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
        }
        Err(why) => {
            sqlx::query(
                "UPDATE tracking_domains SET checked_at = $1, last_error = $2, \
                 status = CASE WHEN verified_at IS NULL THEN 'PENDING' ELSE 'FAILING' END, \
                 failing_since = CASE WHEN verified_at IS NULL THEN NULL \
                     ELSE COALESCE(failing_since, $1) END \
                 WHERE id = $3",
            )
            .bind(now)
            .bind(why)
            .bind(id)
            .execute(&db.write)
            .await?;
        }
    }
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM tracking_domains WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(&db.write)
    .await
}

/// Claims up to `limit` live domains not checked since `before` for a scheduled check, by
/// moving their `checked_at` (so another node skips them); returns the claimed ones.
pub async fn claim_due(db: &Db, before: i64, limit: i64) -> Result<Vec<Domain>, sqlx::Error> {
    let due: Vec<Domain> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM tracking_domains WHERE removed_at IS NULL \
         AND COALESCE(checked_at, 0) < $1 ORDER BY COALESCE(checked_at, 0), id LIMIT $2"
    )))
    .bind(before)
    .bind(limit)
    .fetch_all(&db.read)
    .await?;
    let mut claimed = Vec::with_capacity(due.len());
    let now = now_ms();
    for d in due {
        let taken = sqlx::query(
            "UPDATE tracking_domains SET checked_at = $1 \
             WHERE id = $2 AND COALESCE(checked_at, 0) = $3",
        )
        .bind(now)
        .bind(&d.id)
        .bind(d.checked_at.unwrap_or(0))
        .execute(&db.write)
        .await?;
        if taken.rows_affected() == 1 {
            claimed.push(d);
        }
    }
    Ok(claimed)
}

/// How many live domains are FAILING (`/metrics`).
pub async fn failing_count(db: &Db) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM tracking_domains WHERE status = 'FAILING' AND removed_at IS NULL",
    )
    .fetch_one(&db.read)
    .await
}

/// The project of an email, if it exists.
pub async fn project_of_email(db: &Db, email_id: &str) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT project_id FROM emails WHERE id = $1")
        .bind(email_id)
        .fetch_optional(&db.read)
        .await
}
