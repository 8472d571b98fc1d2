//! Which email an SES event is about.

use crate::store::Db;

/// What the email row tells an event.
#[derive(sqlx::FromRow)]
pub(super) struct Email {
    pub(super) id: String,
    pub(super) project_id: String,
    pub(super) contact_id: String,
    pub(super) subject: String,
    pub(super) template_id: Option<String>,
    pub(super) campaign_id: Option<String>,
    pub(super) source_type: String,
    pub(super) sent_at: Option<i64>,
    pub(super) delivered_at: Option<i64>,
}

/// The `ses` transport stores SES's bare message id, the `smtp` transport (pointed at SES) its
/// whole `250 Ok <id>` reply: either finds the email (both through one index). A relay in
/// front of SES answers with its own id, so then the email id tag finds it.
pub(super) async fn find_email(
    db: &Db,
    ses_id: &str,
    tagged: Option<&str>,
) -> Result<Option<Email>, sqlx::Error> {
    const COLUMNS: &str = "id, project_id, contact_id, subject, template_id, campaign_id, source_type, sent_at, \
         delivered_at";
    let found = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM emails WHERE provider_message_id IN ($1, $2) \
         ORDER BY created_at LIMIT 1"
    )))
    .bind(ses_id)
    .bind(super::smtp_reply_for(ses_id))
    .fetch_optional(&db.read)
    .await?;
    match (found, tagged) {
        (None, Some(id)) => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {COLUMNS} FROM emails WHERE id = $1 AND sent_at IS NOT NULL"
            )))
            .bind(id)
            .fetch_optional(&db.read)
            .await
        }
        (found, _) => Ok(found),
    }
}
