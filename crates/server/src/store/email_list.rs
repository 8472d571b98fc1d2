//! The project's emails as the dashboard lists them: newest first, in pages, by recipient,
//! status or stream. Only the columns a list shows are read (never the bodies).

use crate::store::Db;

/// One email as a list shows it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Listed {
    pub id: String,
    pub contact_id: String,
    pub to_email: String,
    pub subject: String,
    /// PENDING, SENDING, SENT, DELIVERED, OPENED, CLICKED or FAILED.
    pub status: String,
    /// TRANSACTIONAL, CAMPAIGN or WORKFLOW.
    pub source_type: String,
    pub tracked: i64,
    pub created_at: i64,
    /// First open / click by a person, ms.
    pub opened_at: Option<i64>,
    pub clicked_at: Option<i64>,
}

/// What to list; an empty string is "any".
#[derive(Debug, Default)]
pub struct Filter<'a> {
    /// A recipient's address, exactly (lower case, as contacts keep it).
    pub to: &'a str,
    pub status: &'a str,
    pub source_type: &'a str,
}

/// Up to `limit` emails older than `before` (`created_at`, `id` of the previous page's last),
/// newest first. The recipient is found through its contact (`emails_contact`), everything
/// else walks `emails_project (project_id, created_at)` backwards.
pub async fn page(
    db: &Db,
    project_id: &str,
    f: &Filter<'_>,
    before: Option<(i64, &str)>,
    limit: i64,
) -> Result<Vec<Listed>, sqlx::Error> {
    let (at, id) = before.unwrap_or((i64::MAX, ""));
    let scope = if f.to.is_empty() {
        "project_id = $1 AND $2 = ''"
    } else {
        "contact_id = (SELECT id FROM contacts WHERE project_id = $1 AND email = $2) \
         AND project_id = $1"
    };
    let sql = format!(
        "SELECT id, contact_id, to_email, subject, status, source_type, tracked, created_at, \
         opened_at, clicked_at FROM emails WHERE {scope} \
         AND ($3 = '' OR status = $3) AND ($4 = '' OR source_type = $4) \
         AND (created_at < $5 OR (created_at = $5 AND id < $6)) \
         ORDER BY created_at DESC, id DESC LIMIT $7"
    );
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(project_id)
        .bind(f.to)
        .bind(f.status)
        .bind(f.source_type)
        .bind(at)
        .bind(id)
        .bind(limit)
        .fetch_all(&db.read)
        .await
}
