//! Clicks by link: the clicks of people and of machines on each link, and how many people
//! clicked it, over the emails of a scope (`stats::Scope`: a project's emails queued in a range,
//! of a campaign or a stream). Whole hours of queueing come from the rollup `link_stats` (kept
//! by triggers, migrations/0016, with `link_clickers` counting the people), the partial hours at
//! a range's ends from the events. A link is its destination, its index and its tag.

use std::collections::HashMap;

use serde::Serialize;

use super::Db;
use super::stats::Scope;

use super::stats::HOUR_MS;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LinkClicks {
    pub url: String,
    #[sqlx(rename = "link_index")]
    pub index: i64,
    pub tag: Option<String>,
    pub human_clicks: i64,
    pub unique_human_clicks: i64,
    pub machine_clicks: i64,
}

/// The scan: the clicks of the scope's emails queued in `[$2, $3)`, from the events.
const SCAN: &str = "SELECT COALESCE(ev.link_url, '') AS url, \
    COALESCE(ev.link_index, 0) AS link_index, NULLIF(COALESCE(ev.link_tag, ''), '') AS tag, \
    CAST(COALESCE(SUM(CASE WHEN ev.machine IS NULL THEN 1 ELSE 0 END), 0) AS BIGINT) AS human_clicks, \
    COUNT(DISTINCT CASE WHEN ev.machine IS NULL THEN ev.email_id END) AS unique_human_clicks, \
    CAST(COALESCE(SUM(CASE WHEN ev.machine IS NULL THEN 0 ELSE 1 END), 0) AS BIGINT) AS machine_clicks \
    FROM events ev JOIN emails e ON e.id = ev.email_id \
    WHERE e.project_id = $1 AND e.created_at >= $2 AND e.created_at < $3 \
    AND ($4 = '' OR e.campaign_id = $4) AND ($5 = '' OR e.source_type = $5) \
    AND ev.name = 'email.click' AND ev.project_id = $1 AND ev.created_at >= $2 \
    GROUP BY COALESCE(ev.link_url, ''), COALESCE(ev.link_index, 0), \
    COALESCE(ev.link_tag, '')";

/// The rollup over whole hours `[$2, $3)`, with a query text for a campaign's rows and one for
/// a project's, so each reads through its own index.
fn rollup_sql(campaign: bool) -> String {
    let filter = match campaign {
        true => "AND campaign_id = $4",
        false => "AND $4 = ''",
    };
    format!(
        "SELECT url, link_index, NULLIF(tag, '') AS tag, \
         CAST(SUM(human_clicks) AS BIGINT) AS human_clicks, \
         CAST(SUM(unique_humans) AS BIGINT) AS unique_human_clicks, \
         CAST(SUM(machine_clicks) AS BIGINT) AS machine_clicks FROM link_stats \
         WHERE project_id = $1 AND hour >= $2 AND hour < $3 {filter} AND ($5 = '' OR stream = $5) \
         GROUP BY url, link_index, tag"
    )
}

/// The scope's links, most clicked by people first (then by index), at most 200.
pub async fn links(db: &Db, s: &Scope<'_>) -> Result<Vec<LinkClicks>, sqlx::Error> {
    let (first, last) = super::stats::whole_hours(s.from, s.to);
    let mut parts = Vec::new();
    if first < last {
        let sql = rollup_sql(s.campaign_id.is_some());
        parts.extend(
            sqlx::query_as::<_, LinkClicks>(sqlx::AssertSqlSafe(sql))
                .bind(s.project_id)
                .bind(first)
                .bind(last)
                .bind(s.campaign_id.unwrap_or(""))
                .bind(s.stream.unwrap_or(""))
                .fetch_all(&db.read)
                .await?,
        );
        if s.from < first * HOUR_MS {
            parts.extend(scan(db, s, s.from, first * HOUR_MS).await?);
        }
        if last * HOUR_MS < s.to {
            parts.extend(scan(db, s, last * HOUR_MS, s.to).await?);
        }
    } else {
        parts = scan(db, s, s.from, s.to).await?;
    }
    // The parts count disjoint emails: their sums are the scope's.
    let mut merged: HashMap<(String, i64, Option<String>), LinkClicks> = HashMap::new();
    for p in parts {
        let key = (p.url.clone(), p.index, p.tag.clone());
        match merged.get_mut(&key) {
            Some(m) => {
                m.human_clicks += p.human_clicks;
                m.unique_human_clicks += p.unique_human_clicks;
                m.machine_clicks += p.machine_clicks;
            }
            None => {
                merged.insert(key, p);
            }
        }
    }
    let mut out: Vec<LinkClicks> = merged
        .into_values()
        .filter(|l| l.human_clicks != 0 || l.machine_clicks != 0 || l.unique_human_clicks != 0)
        .collect();
    out.sort_by(|a, b| {
        b.human_clicks
            .cmp(&a.human_clicks)
            .then(a.index.cmp(&b.index))
            .then(a.url.cmp(&b.url))
    });
    out.truncate(200);
    Ok(out)
}

/// The clicks of the scope's emails queued in `[from, to)`, counted from the events: the partial
/// hours of [`links`], and the reference its tests compare with.
pub async fn scan(
    db: &Db,
    s: &Scope<'_>,
    from: i64,
    to: i64,
) -> Result<Vec<LinkClicks>, sqlx::Error> {
    sqlx::query_as(SCAN)
        .bind(s.project_id)
        .bind(from)
        .bind(to)
        .bind(s.campaign_id.unwrap_or(""))
        .bind(s.stream.unwrap_or(""))
        .fetch_all(&db.read)
        .await
}
