//! Engagement statistics over a project's emails, humans and machines kept apart.

use serde::Serialize;

use super::Db;

/// Counts over the emails queued in a time range. Rates are over *tracked* emails: an untracked
/// email can never show an open.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Totals {
    pub emails: i64,
    pub sent: i64,
    pub delivered: i64,
    pub failed: i64,
    pub tracked: i64,
    pub unique_opens: i64,
    pub unique_clicks: i64,
    pub human_opens: i64,
    pub human_clicks: i64,
    pub machine_opens: i64,
    pub machine_clicks: i64,
}

/// Which emails: a project's, queued in `[from, to)` (epoch ms), optionally of one campaign.
pub struct Scope<'a> {
    pub project_id: &'a str,
    pub from: i64,
    pub to: i64,
    pub campaign_id: Option<&'a str>,
    /// Only emails of this source: `TRANSACTIONAL`, `CAMPAIGN` or `WORKFLOW`.
    pub stream: Option<&'a str>,
}

// SUM over BIGINT is NUMERIC on PostgreSQL, which the Any driver cannot carry: cast back.
/// The totals read from the emails themselves: for the partial hours at a range's ends, and as
/// the reference the rollup is tested against.
const SCAN: &str = "SELECT COUNT(*) AS emails, \
    CAST(COALESCE(SUM(CASE WHEN sent_at IS NOT NULL THEN 1 ELSE 0 END), 0) AS BIGINT) AS sent, \
    CAST(COALESCE(SUM(CASE WHEN delivered_at IS NOT NULL THEN 1 ELSE 0 END), 0) AS BIGINT) AS delivered, \
    CAST(COALESCE(SUM(CASE WHEN status = 'FAILED' THEN 1 ELSE 0 END), 0) AS BIGINT) AS failed, \
    CAST(COALESCE(SUM(CASE WHEN sent_at IS NOT NULL AND tracked = 1 THEN 1 ELSE 0 END), 0) AS BIGINT) AS tracked, \
    CAST(COALESCE(SUM(CASE WHEN sent_at IS NOT NULL AND tracked = 1 AND opened_at IS NOT NULL THEN 1 ELSE 0 END), 0) AS BIGINT) AS unique_opens, \
    CAST(COALESCE(SUM(CASE WHEN sent_at IS NOT NULL AND tracked = 1 AND clicked_at IS NOT NULL THEN 1 ELSE 0 END), 0) AS BIGINT) AS unique_clicks, \
    CAST(COALESCE(SUM(opens), 0) AS BIGINT) AS human_opens, \
    CAST(COALESCE(SUM(clicks), 0) AS BIGINT) AS human_clicks, \
    CAST(COALESCE(SUM(opens_machine), 0) AS BIGINT) AS machine_opens, \
    CAST(COALESCE(SUM(clicks_machine), 0) AS BIGINT) AS machine_clicks \
    FROM emails WHERE project_id = $1 AND created_at >= $2 AND created_at < $3 \
    AND ($4 = '' OR campaign_id = $4) AND ($5 = '' OR source_type = $5)";

/// The sums of the rollup (`email_stats`, migrations/0011).
const ROLLUP_SUMS: &str = "CAST(COALESCE(SUM(emails), 0) AS BIGINT) AS emails, \
    CAST(COALESCE(SUM(sent), 0) AS BIGINT) AS sent, \
    CAST(COALESCE(SUM(delivered), 0) AS BIGINT) AS delivered, \
    CAST(COALESCE(SUM(failed), 0) AS BIGINT) AS failed, \
    CAST(COALESCE(SUM(tracked), 0) AS BIGINT) AS tracked, \
    CAST(COALESCE(SUM(unique_opens), 0) AS BIGINT) AS unique_opens, \
    CAST(COALESCE(SUM(unique_clicks), 0) AS BIGINT) AS unique_clicks, \
    CAST(COALESCE(SUM(human_opens), 0) AS BIGINT) AS human_opens, \
    CAST(COALESCE(SUM(human_clicks), 0) AS BIGINT) AS human_clicks, \
    CAST(COALESCE(SUM(machine_opens), 0) AS BIGINT) AS machine_opens, \
    CAST(COALESCE(SUM(machine_clicks), 0) AS BIGINT) AS machine_clicks";

/// The rollup over whole hours `[$2, $3)`, all of a project's emails or one campaign's (a query
/// text each, so the campaign's index serves the second).
fn rollup_sql(campaign: bool) -> String {
    let filter = match campaign {
        true => "AND campaign_id = $4",
        false => "AND $4 = ''",
    };
    format!(
        "SELECT {ROLLUP_SUMS} FROM email_stats WHERE project_id = $1 AND hour >= $2 AND hour < $3 \
         {filter} AND ($5 = '' OR source_type = $5)"
    )
}

pub const HOUR_MS: i64 = 3_600_000;

/// The whole hours inside `[from, to)` (epoch ms), as hour numbers `[first, last)`; when
/// `first >= last` the range lies within at most two partial hours. The rollups serve the whole
/// hours, the rows themselves the partial ones at the ends.
pub fn whole_hours(from: i64, to: i64) -> (i64, i64) {
    let first = from.div_euclid(HOUR_MS) + i64::from(from.rem_euclid(HOUR_MS) != 0);
    (first, to.div_euclid(HOUR_MS))
}

impl<'a> Scope<'a> {
    /// A campaign's emails: all of them are queued after the campaign was made, so the range
    /// starts at the hour it was made (a whole hour: the rollups serve all of it).
    pub fn campaign(project_id: &'a str, c: &'a super::campaigns::Campaign) -> Scope<'a> {
        Scope {
            project_id,
            from: c.created_at - c.created_at.rem_euclid(HOUR_MS),
            to: i64::MAX,
            campaign_id: Some(&c.id),
            stream: None,
        }
    }
}

/// Each campaign's all-time totals from the rollup, by campaign id (campaigns with no email
/// yet are absent).
pub async fn totals_by_campaign(
    db: &Db,
    project_id: &str,
) -> Result<std::collections::HashMap<String, Totals>, sqlx::Error> {
    #[derive(sqlx::FromRow)]
    struct Row {
        campaign_id: String,
        #[sqlx(flatten)]
        totals: Totals,
    }
    let sql = format!(
        "SELECT campaign_id, {ROLLUP_SUMS} FROM email_stats \
         WHERE project_id = $1 AND campaign_id <> '' GROUP BY campaign_id"
    );
    let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(project_id)
        .fetch_all(&db.read)
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.campaign_id, r.totals))
        .collect())
}

/// The totals of the emails queued in the scope's range: the whole hours inside it from the
/// rollup, the partial hours at its ends from the emails (at most two hours' worth).
pub async fn totals(db: &Db, s: &Scope<'_>) -> Result<Totals, sqlx::Error> {
    let (first, last) = whole_hours(s.from, s.to);
    if first >= last {
        return scan(db, s, s.from, s.to).await;
    }
    let sql = rollup_sql(s.campaign_id.is_some());
    let query = sqlx::query_as::<_, Totals>(sqlx::AssertSqlSafe(sql))
        .bind(s.project_id)
        .bind(first)
        .bind(last);
    let mut t = query
        .bind(s.campaign_id.unwrap_or(""))
        .bind(s.stream.unwrap_or(""))
        .fetch_one(&db.read)
        .await?;
    if s.from < first * HOUR_MS {
        t.add(&scan(db, s, s.from, first * HOUR_MS).await?);
    }
    if last * HOUR_MS < s.to {
        t.add(&scan(db, s, last * HOUR_MS, s.to).await?);
    }
    Ok(t)
}

/// The totals of the scope's emails queued in `[from, to)`, read from the emails themselves.
pub async fn scan(db: &Db, s: &Scope<'_>, from: i64, to: i64) -> Result<Totals, sqlx::Error> {
    sqlx::query_as(SCAN)
        .bind(s.project_id)
        .bind(from)
        .bind(to)
        .bind(s.campaign_id.unwrap_or(""))
        .bind(s.stream.unwrap_or(""))
        .fetch_one(&db.read)
        .await
}

impl Totals {
    fn add(&mut self, o: &Totals) {
        self.emails += o.emails;
        self.sent += o.sent;
        self.delivered += o.delivered;
        self.failed += o.failed;
        self.tracked += o.tracked;
        self.unique_opens += o.unique_opens;
        self.unique_clicks += o.unique_clicks;
        self.human_opens += o.human_opens;
        self.human_clicks += o.human_clicks;
        self.machine_opens += o.machine_opens;
        self.machine_clicks += o.machine_clicks;
    }
}

/// Opens and clicks in one hour after a start time.
#[derive(Debug, Serialize, sqlx::FromRow, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Hour {
    /// Hours since the start (0 = the first hour).
    pub hour: i64,
    pub opens: i64,
    pub clicks: i64,
    pub machine_opens: i64,
    pub machine_clicks: i64,
}

/// A campaign's opens and clicks per clock hour from the one `since` (epoch ms) falls in (hour 0),
/// people and machines apart, from the events rollup (`event_stats`). Hours without any are
/// left out.
pub async fn hourly(
    db: &Db,
    project_id: &str,
    campaign_id: &str,
    since: i64,
) -> Result<Vec<Hour>, sqlx::Error> {
    // Whole hours: the campaign has no event before it starts, so the rollup serves them all.
    let scope = super::event_stats::Scope {
        project_id,
        from: since - since.rem_euclid(HOUR_MS),
        to: i64::MAX / 2,
        campaign_id: Some(campaign_id),
        stream: None,
    };
    let start = since.div_euclid(HOUR_MS);
    let mut hours = std::collections::BTreeMap::<i64, Hour>::new();
    for c in super::event_stats::counts(db, &scope).await? {
        let h = hours.entry(c.hour - start).or_insert(Hour {
            hour: c.hour - start,
            opens: 0,
            clicks: 0,
            machine_opens: 0,
            machine_clicks: 0,
        });
        let slot = match (c.name.as_str(), c.reason.is_empty()) {
            ("email.open", true) => &mut h.opens,
            ("email.open", false) => &mut h.machine_opens,
            ("email.click", true) => &mut h.clicks,
            ("email.click", false) => &mut h.machine_clicks,
            _ => continue,
        };
        *slot += c.n;
    }
    Ok(hours.into_values().collect())
}

/// A stream's name as the API and the dashboard take it.
pub fn parse_stream(raw: &str) -> Result<&'static str, crate::error::ApiError> {
    ["TRANSACTIONAL", "CAMPAIGN", "WORKFLOW"]
        .into_iter()
        .find(|s| *s == raw)
        .ok_or_else(|| {
            crate::error::ApiError::bad_request(
                "stream",
                format!("stream must be TRANSACTIONAL, CAMPAIGN or WORKFLOW, not {raw:?}"),
            )
        })
}

/// Bounces, complaints and unsubscribes that happened in the scope's range (by when they
/// happened, not when their email was queued), from the events rollup.
pub async fn losses(db: &Db, s: &Scope<'_>) -> Result<super::engagement::Losses, sqlx::Error> {
    let counts = super::event_stats::counts(
        db,
        &super::event_stats::Scope {
            project_id: s.project_id,
            from: s.from,
            to: s.to,
            campaign_id: s.campaign_id,
            stream: s.stream,
        },
    )
    .await?;
    Ok(losses_in(&counts))
}

/// Bounces, complaints and unsubscribes among counts already read.
pub fn losses_in(counts: &[super::event_stats::Count]) -> super::engagement::Losses {
    let total = |name| super::event_stats::total(counts, name, None);
    super::engagement::Losses {
        bounced: total("email.bounced"),
        complained: total("email.complained"),
        unsubscribed: total("contact.unsubscribed"),
    }
}
