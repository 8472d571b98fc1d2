//! Opens, clicks, bounces, complaints and unsubscribes counted by the hour they happened, people
//! and machines apart (by reason): whole hours from the rollup `event_stats` (kept by triggers,
//! migrations/0015; a project's rows under campaign `'*'`, a campaign's under its id), the
//! partial hours at a range's ends from the events themselves.

use super::Db;

use super::stats::HOUR_MS;

/// The events counted (opens and clicks carry a verdict; the others never do).
pub const NAMES: &str =
    "('email.open', 'email.click', 'email.bounced', 'email.complained', 'contact.unsubscribed')";

/// Which events: a project's, that happened in `[from, to)` (epoch ms), optionally of one
/// campaign or one stream (the email's source: `TRANSACTIONAL`, `CAMPAIGN`, `WORKFLOW`).
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    pub project_id: &'a str,
    pub from: i64,
    pub to: i64,
    pub campaign_id: Option<&'a str>,
    pub stream: Option<&'a str>,
}

/// How many events of one name and verdict (`reason` is `""` for a person's) in one hour
/// (`hour` = epoch ms / 3,600,000).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, sqlx::FromRow)]
pub struct Count {
    pub hour: i64,
    pub name: String,
    pub reason: String,
    pub n: i64,
}

/// The rollup's rows of one campaign, or the project's (`'*'`, every campaign and none).
const ROLLUP: &str = "SELECT hour, name, reason, CAST(SUM(n) AS BIGINT) AS n FROM event_stats \
    WHERE project_id = $1 AND campaign_id = $4 AND hour >= $2 AND hour < $3 \
    AND ($5 = '' OR stream = $5) \
    GROUP BY hour, name, reason HAVING SUM(n) <> 0";

/// The same counts from the events, for a range inside one or two hours.
fn scan_sql() -> String {
    format!(
        "SELECT CAST(ev.created_at / 3600000 AS BIGINT) AS hour, ev.name, \
         COALESCE(ev.machine, '') AS reason, COUNT(*) AS n \
         FROM events ev LEFT JOIN emails e ON e.id = ev.email_id \
         WHERE ev.project_id = $1 AND ev.created_at >= $2 AND ev.created_at < $3 \
         AND ev.name IN {NAMES} AND ($4 = '' OR ev.campaign_id = $4) \
         AND ($5 = '' OR e.source_type = $5) \
         GROUP BY CAST(ev.created_at / 3600000 AS BIGINT), ev.name, COALESCE(ev.machine, '')"
    )
}

/// The events of `s` by hour, name and verdict, sorted.
pub async fn counts(db: &Db, s: &Scope<'_>) -> Result<Vec<Count>, sqlx::Error> {
    let (first, last) = super::stats::whole_hours(s.from, s.to);
    if first >= last {
        return scan(db, s, s.from, s.to).await;
    }
    let mut out: Vec<Count> = sqlx::query_as(ROLLUP)
        .bind(s.project_id)
        .bind(first)
        .bind(last)
        .bind(s.campaign_id.unwrap_or("*"))
        .bind(s.stream.unwrap_or(""))
        .fetch_all(&db.read)
        .await?;
    if s.from < first * HOUR_MS {
        out.extend(scan(db, s, s.from, first * HOUR_MS).await?);
    }
    if last * HOUR_MS < s.to {
        out.extend(scan(db, s, last * HOUR_MS, s.to).await?);
    }
    out.sort();
    Ok(out)
}

/// The counts read from the events themselves over `[from, to)`: the partial hours of
/// [`counts`], and the reference its tests compare with.
pub async fn scan(db: &Db, s: &Scope<'_>, from: i64, to: i64) -> Result<Vec<Count>, sqlx::Error> {
    let mut out: Vec<Count> = sqlx::query_as(sqlx::AssertSqlSafe(scan_sql()))
        .bind(s.project_id)
        .bind(from)
        .bind(to)
        .bind(s.campaign_id.unwrap_or(""))
        .bind(s.stream.unwrap_or(""))
        .fetch_all(&db.read)
        .await?;
    out.sort();
    Ok(out)
}

/// The counts summed over hours: (name, reason) → n, sorted.
pub fn by_verdict(counts: &[Count]) -> Vec<(String, String, i64)> {
    let mut map = std::collections::BTreeMap::<(String, String), i64>::new();
    for c in counts {
        *map.entry((c.name.clone(), c.reason.clone())).or_default() += c.n;
    }
    map.into_iter()
        .filter(|(_, n)| *n != 0)
        .map(|((name, reason), n)| (name, reason, n))
        .collect()
}

/// Total of one event name, people only (`Some(true)`), machines only (`Some(false)`) or both.
pub fn total(counts: &[Count], name: &str, people: Option<bool>) -> i64 {
    counts
        .iter()
        .filter(|c| c.name == name)
        .filter(|c| people.is_none_or(|p| p == c.reason.is_empty()))
        .map(|c| c.n)
        .sum()
}
