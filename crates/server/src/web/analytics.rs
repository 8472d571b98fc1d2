//! Analytics: the project over a period (a preset or a custom range of days, UTC), beside the
//! period of the same length before it, people first with every hit beside; one stream or all;
//! opens and clicks by day, the most-clicked links, a weekday × hour map of people's opens, and
//! how much of the raw counts machines made, by reason. Email figures are those of the emails
//! queued in the period (as `GET /v1/stats?from=&to=&stream=` reports them); opens by day, the
//! map, the machine share and bounces, complaints and unsubscribes count what happened in it.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use serde::Deserialize;

use super::campaign_results::ChartView;
use super::chart::{Chart, Series};
use super::page::{Nav, PageError, PageResult, with_status};
use super::session::Member;
use super::view::pct;
use crate::startup::AppState;
use crate::store::event_stats::{self, Count};
use crate::store::{now_ms, stats};

const DAY_MS: i64 = 86_400_000;

#[derive(Deserialize, Default, Clone)]
pub struct AnalyticsQuery {
    #[serde(default)]
    period: String,
    /// Custom range: first and last day, `YYYY-MM-DD` (UTC).
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    stream: String,
}

/// One figure: this period, the one before, and every hit beside the people's figure.
pub struct Figure {
    pub label: &'static str,
    pub now: String,
    pub before: String,
    pub all_hits: String,
}

pub struct LinkRow {
    pub url: String,
    pub clicks: i64,
    pub people: i64,
    pub machine: i64,
}

pub struct ReasonRow {
    pub reason: String,
    pub opens: i64,
    pub clicks: i64,
    pub share: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "analytics.html")]
struct AnalyticsPage {
    nav: Nav,
    period: String,
    from: String,
    to: String,
    stream: String,
    range: String,
    /// Why the days asked for could not be shown (the last 30 days are, instead).
    range_error: String,
    figures: Vec<Figure>,
    chart: ChartView,
    links: Vec<LinkRow>,
    /// Seven rows (Monday first) of 24 (count, heat class 0–5).
    heat: Vec<(&'static str, Vec<(i64, u8)>)>,
    reasons: Vec<ReasonRow>,
}

impl AnalyticsPage {
    fn is_period(&self, p: &str) -> bool {
        self.period == p
    }

    fn is_stream(&self, s: &str) -> bool {
        self.stream == s
    }
}

fn day_start(raw: &str, field: &str) -> Result<i64, PageError> {
    chrono::NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc().timestamp_millis())
        .ok_or_else(|| {
            PageError::BadRequest(format!(
                "{field} must be a day like 2026-11-01, not {raw:?}"
            ))
        })
}

/// The period as `[from, to)` in ms, aligned to whole days (UTC), today included.
fn range(q: &AnalyticsQuery) -> Result<(i64, i64, String), PageError> {
    let tomorrow = (now_ms().div_euclid(DAY_MS) + 1) * DAY_MS;
    let days = match q.period.as_str() {
        "" | "30d" => 30,
        "7d" => 7,
        "90d" => 90,
        "custom" => {
            let from = day_start(&q.from, "from")?;
            let to = day_start(&q.to, "to")? + DAY_MS;
            if from >= to || to - from > 366 * DAY_MS {
                return Err(PageError::BadRequest(
                    "the range must run forward and span at most 366 days".into(),
                ));
            }
            return Ok((from, to, "custom".into()));
        }
        other => {
            return Err(PageError::BadRequest(format!(
                "no period called {other:?}: use 7d, 30d, 90d or custom"
            )));
        }
    };
    Ok((
        tomorrow - days * DAY_MS,
        tomorrow,
        if q.period.is_empty() {
            "30d".into()
        } else {
            q.period.clone()
        },
    ))
}

fn heat_map(counts: &[Count]) -> Vec<(&'static str, Vec<(i64, u8)>)> {
    let mut grid = [[0i64; 24]; 7];
    for c in counts
        .iter()
        .filter(|c| c.name == "email.open" && c.reason.is_empty())
    {
        let days = c.hour.div_euclid(24);
        // 1970-01-01 was a Thursday: Monday is day 0 of the week here.
        let weekday = (days + 3).rem_euclid(7) as usize;
        grid[weekday][c.hour.rem_euclid(24) as usize] += c.n;
    }
    let max = grid.iter().flatten().copied().max().unwrap_or(0).max(1);
    let names = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    names
        .iter()
        .zip(grid)
        .map(|(name, row)| {
            let cells = row
                .iter()
                .map(|&n| {
                    (
                        n,
                        if n == 0 {
                            0
                        } else {
                            (1 + n * 4 / max).min(5) as u8
                        },
                    )
                })
                .collect();
            (*name, cells)
        })
        .collect()
}

fn daily_chart(counts: &[Count], from: i64, days: usize) -> Chart {
    let mut v: [Vec<i64>; 4] = std::array::from_fn(|_| vec![0; days]);
    let first = from / 3_600_000;
    for c in counts {
        let i = ((c.hour - first) / 24) as usize;
        let slot = match (c.name.as_str(), c.reason.is_empty()) {
            ("email.open", true) => 0,
            ("email.open", false) => 1,
            ("email.click", true) => 2,
            ("email.click", false) => 3,
            _ => continue,
        };
        if i < days {
            v[slot][i] += c.n;
        }
    }
    let [po, mo, pc, mc] = v;
    Chart {
        title: "Opens and clicks by day".into(),
        labels: (0..days)
            .map(|d| super::view::when(from + d as i64 * DAY_MS)[5..10].to_string())
            .collect(),
        series: Series::opens_and_clicks([po, mo, pc, mc]),
    }
}

pub async fn page(
    State(state): State<AppState>,
    m: Member,
    Query(q): Query<AnalyticsQuery>,
) -> PageResult {
    // A bad choice of days is said next to the date fields, over the default period.
    let (from, to, period, range_error) = match range(&q) {
        Ok((from, to, period)) => (from, to, period, String::new()),
        Err(PageError::BadRequest(why)) => {
            let default = AnalyticsQuery {
                period: String::new(),
                ..q.clone()
            };
            let (from, to, period) = range(&default)?;
            (from, to, period, why)
        }
        Err(e) => return Err(e),
    };
    let stream = match q.stream.as_str() {
        "" => None,
        s => Some(stats::parse_stream(s)?),
    };
    let len = to - from;
    let scope = |from, to| stats::Scope {
        project_id: &m.project.id,
        from,
        to,
        campaign_id: None,
        stream,
    };
    let (now, before) = (scope(from, to), scope(from - len, from));
    let (t, p) = (
        stats::totals(&state.db, &now).await?,
        stats::totals(&state.db, &before).await?,
    );
    let events = |from, to| event_stats::Scope {
        project_id: &m.project.id,
        from,
        to,
        campaign_id: None,
        stream,
    };
    let counts = event_stats::counts(&state.db, &events(from, to)).await?;
    let earlier = event_stats::counts(&state.db, &events(from - len, from)).await?;
    let (l, pl) = (stats::losses_in(&counts), stats::losses_in(&earlier));
    let figures = vec![
        Figure {
            label: "Sent",
            now: t.sent.to_string(),
            before: p.sent.to_string(),
            all_hits: String::new(),
        },
        Figure {
            label: "Delivered",
            now: pct(t.delivered, t.sent),
            before: pct(p.delivered, p.sent),
            all_hits: String::new(),
        },
        Figure {
            label: "Open rate",
            now: pct(t.unique_opens, t.tracked),
            before: pct(p.unique_opens, p.tracked),
            all_hits: format!(
                "{} opens, {} by machines",
                t.human_opens + t.machine_opens,
                t.machine_opens
            ),
        },
        Figure {
            label: "Click rate",
            now: pct(t.unique_clicks, t.tracked),
            before: pct(p.unique_clicks, p.tracked),
            all_hits: format!(
                "{} clicks, {} by machines",
                t.human_clicks + t.machine_clicks,
                t.machine_clicks
            ),
        },
        Figure {
            label: "Click-to-open",
            now: pct(t.unique_clicks, t.unique_opens),
            before: pct(p.unique_clicks, p.unique_opens),
            all_hits: String::new(),
        },
        Figure {
            label: "Bounce rate",
            now: pct(l.bounced, t.sent),
            before: pct(pl.bounced, p.sent),
            all_hits: format!("{} bounces", l.bounced),
        },
        Figure {
            label: "Complaint rate",
            now: pct(l.complained, t.sent),
            before: pct(pl.complained, p.sent),
            all_hits: format!("{} complaints", l.complained),
        },
        Figure {
            label: "Unsubscribes",
            now: l.unsubscribed.to_string(),
            before: pl.unsubscribed.to_string(),
            all_hits: String::new(),
        },
    ];
    let mut links: Vec<LinkRow> = crate::store::link_stats::links(&state.db, &now)
        .await?
        .into_iter()
        .map(|l| LinkRow {
            url: l.url,
            clicks: l.human_clicks,
            people: l.unique_human_clicks,
            machine: l.machine_clicks,
        })
        .collect();
    links.truncate(20);
    let totals: std::collections::HashMap<&str, i64> = ["email.open", "email.click"]
        .into_iter()
        .map(|n| (n, event_stats::total(&counts, n, None)))
        .collect();
    let mut reasons: Vec<ReasonRow> = Vec::new();
    for (name, reason, n) in event_stats::by_verdict(&counts) {
        if reason.is_empty() || !(name == "email.open" || name == "email.click") {
            continue;
        }
        let words = beacon_tracking::classify::describe(&reason, None);
        let row = match reasons.iter_mut().find(|r| r.reason == words) {
            Some(r) => r,
            None => {
                reasons.push(ReasonRow {
                    reason: words,
                    opens: 0,
                    clicks: 0,
                    share: String::new(),
                });
                reasons.last_mut().expect("just pushed")
            }
        };
        if name == "email.open" {
            row.opens += n
        } else {
            row.clicks += n
        }
    }
    let all = totals.values().sum::<i64>();
    for r in &mut reasons {
        r.share = pct(r.opens + r.clicks, all);
    }
    reasons.sort_by_key(|r| std::cmp::Reverse(r.opens + r.clicks));
    let page = AnalyticsPage {
        nav: Nav::new(&m, "analytics"),
        range: format!(
            "{} to {} (UTC)",
            &super::view::when(from)[..10],
            &super::view::when(to - 1)[..10]
        ),
        period,
        range_error,
        from: q.from,
        to: q.to,
        stream: q.stream,
        figures,
        chart: daily_chart(&counts, from, (len / DAY_MS) as usize).into(),
        links,
        heat: heat_map(&counts),
        reasons,
    };
    let status = if page.range_error.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok(with_status(status, page))
}

#[cfg(test)]
mod tests {
    use super::heat_map;
    use crate::store::event_stats::Count;

    #[test]
    fn opens_land_on_their_weekday_and_hour() {
        // 2026-11-30 is a Monday; 14:00 UTC.
        let hour = 1_796_047_200_000 / 3_600_000;
        let c = |reason: &str, n| Count {
            hour,
            name: "email.open".into(),
            reason: reason.into(),
            n,
        };
        let map = heat_map(&[c("", 3), c("apple_mpp", 50)]);
        assert_eq!(map[0].0, "Mon");
        assert_eq!(
            map[0].1[14],
            (3, 5),
            "people only; the busiest cell is the darkest"
        );
        assert_eq!(map[1].1[14], (0, 0));
    }
}
