//! Who engaged with a campaign: the people who opened it or clicked its links (people only:
//! machine hits never put anyone on these lists), and its bounces, complaints and unsubscribes.

use super::Db;

/// A contact on a list of who opened or clicked, with when they first did.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Engaged {
    pub contact_id: String,
    pub email: String,
    pub at: i64,
}

/// Which list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who {
    /// Opened (a person's open, or a click that implies one).
    Opened,
    /// Clicked any link.
    Clicked,
    /// Clicked the link of this index (as the links table numbers them).
    ClickedLink(i64),
}

/// Up to `limit` contacts of the campaign on the `who` list, in contact order after `cursor`.
/// Walks the campaign's emails through their `(campaign_id, contact_id)` index; for one link,
/// checks each clicker's events through `events_contact`.
pub async fn people(
    db: &Db,
    project_id: &str,
    campaign_id: &str,
    who: Who,
    cursor: &str,
    limit: i64,
) -> Result<Vec<Engaged>, sqlx::Error> {
    let (at, link) = match who {
        Who::Opened => ("e.opened_at", -1),
        Who::Clicked => ("e.clicked_at", -1),
        Who::ClickedLink(i) => ("e.clicked_at", i),
    };
    let sql = format!(
        "SELECT c.id AS contact_id, c.email, {at} AS at FROM emails e \
         JOIN contacts c ON c.id = e.contact_id \
         WHERE e.campaign_id = $1 AND e.project_id = $2 AND {at} IS NOT NULL \
         AND e.contact_id > $3 \
         AND ($4 < 0 OR EXISTS (SELECT 1 FROM events ev WHERE ev.contact_id = e.contact_id \
              AND ev.email_id = e.id AND ev.name = 'email.click' AND ev.link_index = $4 \
              AND ev.machine IS NULL)) \
         ORDER BY e.contact_id LIMIT $5"
    );
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(campaign_id)
        .bind(project_id)
        .bind(cursor)
        .bind(link)
        .bind(limit)
        .fetch_all(&db.read)
        .await
}

/// Bounces, complaints and unsubscribes (`stats::losses` counts them).
#[derive(Debug, Clone, Copy, Default, sqlx::FromRow, serde::Serialize, utoipa::ToSchema)]
pub struct Losses {
    pub bounced: i64,
    pub complained: i64,
    pub unsubscribed: i64,
}
