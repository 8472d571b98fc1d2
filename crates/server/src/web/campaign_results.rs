//! A campaign after it left the draft: its progress while it goes out, and its results — the
//! funnel, opens and clicks over time (people and machines as separate lines), the links, and
//! who opened or clicked (paged, as CSV, or as a new segment). The numbers are the ones
//! `GET /v1/campaigns/{id}/stats` reports: the same store functions.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::json;

use super::campaigns::CampaignPath;
use super::chart::{Chart, Series};
use super::page::{Nav, PageError, PageResult};
use super::session::{Form, Member};
use super::view::{pct, when, when_opt};
use crate::actions::campaigns as actions;
use crate::startup::AppState;
use crate::store::campaigns::Campaign;
use crate::store::engagement::{self, Who};
use crate::store::{now_ms, stats};

/// One step of the funnel: a count, its rate, and (opens, clicks) the count of every hit.
pub struct Step {
    pub label: &'static str,
    pub count: i64,
    pub rate: String,
    pub of: &'static str,
    pub all_hits: Option<i64>,
}

pub struct LinkRow {
    pub index: i64,
    pub url: String,
    pub tag: String,
    pub human_clicks: i64,
    pub unique: i64,
    pub click_rate: String,
    pub ctor: String,
    pub machine_clicks: i64,
}

/// A chart as the page shows it: the SVG, its legend, and its numbers as a table.
pub struct ChartView {
    pub title: String,
    pub svg: String,
    pub names: Vec<&'static str>,
    pub rows: Vec<(String, Vec<i64>)>,
}

impl From<Chart> for ChartView {
    fn from(ch: Chart) -> ChartView {
        ChartView {
            svg: ch.svg(),
            names: ch.series.iter().map(|s| s.name).collect(),
            rows: ch.rows(),
            title: ch.title,
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "campaign.html")]
struct ResultsPage {
    nav: Nav,
    notice: &'static str,
    c: Campaign,
    audience: i64,
    going_out: bool,
    scheduled: String,
    started: String,
    finished: String,
    sent: i64,
    funnel: Vec<Step>,
    ctor: String,
    charts: Vec<ChartView>,
    links: Vec<LinkRow>,
}

/// Hourly buckets for the first 48 hours, daily ones for the whole campaign once it is older.
fn charts(hours: &[stats::Hour], started: i64) -> Vec<Chart> {
    let age_hours = ((now_ms() - started) / 3_600_000 + 1).clamp(1, 100_000) as usize;
    let series = Series::opens_and_clicks;
    let bucketed = |n: usize, width: i64| {
        let mut v: [Vec<i64>; 4] = std::array::from_fn(|_| vec![0; n]);
        for h in hours {
            let i = (h.hour / width) as usize;
            if i < n {
                v[0][i] += h.opens;
                v[1][i] += h.machine_opens;
                v[2][i] += h.clicks;
                v[3][i] += h.machine_clicks;
            }
        }
        v
    };
    let first = age_hours.min(48);
    let mut out = vec![Chart {
        title: "Opens and clicks by hour since sending".into(),
        labels: (0..first).map(|h| format!("{h}h")).collect(),
        series: series(bucketed(first, 1)),
    }];
    if age_hours > 48 {
        let days = age_hours.div_ceil(24);
        out.push(Chart {
            title: "Opens and clicks by day since sending".into(),
            labels: (0..days).map(|d| format!("day {}", d + 1)).collect(),
            series: series(bucketed(days, 24)),
        });
    }
    out
}

pub async fn page(state: &AppState, m: &Member, c: Campaign, notice: &'static str) -> PageResult {
    let scope = stats::Scope::campaign(&m.project.id, &c);
    let t = stats::totals(&state.db, &scope).await?;
    let links = crate::store::link_stats::links(&state.db, &scope).await?;
    let started = c.started_at.unwrap_or(c.created_at);
    let hours = match c.started_at {
        Some(s) => stats::hourly(&state.db, &m.project.id, &c.id, s).await?,
        None => Vec::new(),
    };
    let losses = stats::losses(&state.db, &scope).await?;
    let going_out = matches!(c.status.as_str(), "SCHEDULED" | "SENDING");
    let audience = if going_out {
        actions::audience_size(&state.db, &c)
            .await
            .unwrap_or(c.recipients)
    } else {
        c.recipients
    };
    let funnel = vec![
        Step {
            label: "Sent",
            count: t.sent,
            rate: pct(t.sent, t.emails),
            of: "of queued",
            all_hits: None,
        },
        Step {
            label: "Delivered",
            count: t.delivered,
            rate: pct(t.delivered, t.sent),
            of: super::view::not_delivered(&state.settings.transport).unwrap_or("of sent"),
            all_hits: None,
        },
        Step {
            label: "Opened",
            count: t.unique_opens,
            rate: pct(t.unique_opens, t.tracked),
            of: "of tracked",
            all_hits: Some(t.human_opens + t.machine_opens),
        },
        Step {
            label: "Clicked",
            count: t.unique_clicks,
            rate: pct(t.unique_clicks, t.tracked),
            of: "of tracked",
            all_hits: Some(t.human_clicks + t.machine_clicks),
        },
        Step {
            label: "Bounced",
            count: losses.bounced,
            rate: pct(losses.bounced, t.sent),
            of: "of sent",
            all_hits: None,
        },
        Step {
            label: "Complained",
            count: losses.complained,
            rate: pct(losses.complained, t.sent),
            of: "of sent",
            all_hits: None,
        },
        Step {
            label: "Unsubscribed",
            count: losses.unsubscribed,
            rate: pct(losses.unsubscribed, t.sent),
            of: "of sent",
            all_hits: None,
        },
    ];
    let links = links
        .into_iter()
        .map(|l| LinkRow {
            index: l.index,
            click_rate: pct(l.unique_human_clicks, t.tracked),
            ctor: pct(l.unique_human_clicks, t.unique_opens),
            url: l.url,
            tag: l.tag.unwrap_or_default(),
            human_clicks: l.human_clicks,
            unique: l.unique_human_clicks,
            machine_clicks: l.machine_clicks,
        })
        .collect();
    let charts = if c.started_at.is_some() {
        charts(&hours, started)
            .into_iter()
            .map(ChartView::from)
            .collect()
    } else {
        Vec::new()
    };
    let page = ResultsPage {
        nav: Nav::new(m, "campaigns"),
        notice,
        audience,
        going_out,
        scheduled: when_opt(c.scheduled_at),
        started: when_opt(c.started_at),
        finished: when_opt(c.finished_at),
        sent: t.sent,
        ctor: pct(t.unique_clicks, t.unique_opens),
        funnel,
        charts,
        links,
        c,
    };
    Ok(page.into_response())
}

#[derive(Deserialize)]
pub struct PeopleQuery {
    /// `opened`, `clicked`, or `link` with `link` = its index.
    #[serde(default)]
    who: String,
    link: Option<i64>,
    cursor: Option<String>,
}

fn who(q: &PeopleQuery) -> Result<Who, PageError> {
    match (q.who.as_str(), q.link) {
        ("opened", _) => Ok(Who::Opened),
        ("clicked", None) => Ok(Who::Clicked),
        ("clicked", Some(i)) => Ok(Who::ClickedLink(i)),
        _ => Err(PageError::BadRequest(
            "who must be opened or clicked (with an optional link)".into(),
        )),
    }
}

fn describe(w: Who) -> String {
    match w {
        Who::Opened => "opened it".into(),
        Who::Clicked => "clicked a link".into(),
        Who::ClickedLink(i) => format!("clicked link #{}", i + 1),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "campaign_people.html")]
struct PeoplePage {
    nav: Nav,
    c: Campaign,
    what: String,
    query: String,
    rows: Vec<(String, String, String)>,
    next: Option<String>,
}

pub async fn people(
    State(state): State<AppState>,
    m: Member,
    Path(p): Path<CampaignPath>,
    Query(q): Query<PeopleQuery>,
) -> PageResult {
    let c = actions::fetch(&state.db, &m.project.id, &p.cid).await?;
    let w = who(&q)?;
    let cursor = q.cursor.clone().unwrap_or_default();
    let rows = engagement::people(&state.db, &m.project.id, &c.id, w, &cursor, 50).await?;
    let next = (rows.len() == 50)
        .then(|| rows.last().map(|r| r.contact_id.clone()))
        .flatten();
    let query = match w {
        Who::ClickedLink(i) => format!("who=clicked&link={i}"),
        _ => format!("who={}", q.who),
    };
    let page = PeoplePage {
        nav: Nav::new(&m, "campaigns"),
        what: describe(w),
        query,
        rows: rows
            .into_iter()
            .map(|r| (r.contact_id, r.email, when(r.at)))
            .collect(),
        next,
        c,
    };
    Ok(page.into_response())
}

/// A field of a CSV row: quoted when it holds a comma, a quote or a line break (RFC 4180), and
/// with a leading `'` when a spreadsheet would take it for a formula (OWASP's CSV injection).
fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// The whole list as CSV (`email,contact_id,first_at`).
pub async fn people_csv(
    State(state): State<AppState>,
    m: Member,
    Path(p): Path<CampaignPath>,
    Query(q): Query<PeopleQuery>,
) -> PageResult<Response> {
    let c = actions::fetch(&state.db, &m.project.id, &p.cid).await?;
    let w = who(&q)?;
    let mut out = String::from("email,contact_id,first_at\r\n");
    let mut cursor = String::new();
    loop {
        let rows = engagement::people(&state.db, &m.project.id, &c.id, w, &cursor, 1000).await?;
        for r in &rows {
            out.push_str(&format!(
                "{},{},{}\r\n",
                csv_field(&r.email),
                csv_field(&r.contact_id),
                crate::time::iso(r.at)
            ));
        }
        match rows.last() {
            Some(last) if rows.len() == 1000 => cursor = last.contact_id.clone(),
            _ => break,
        }
    }
    let mut res = out.into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    let name = format!("attachment; filename=\"campaign-{}-{}.csv\"", c.id, q.who);
    if let Ok(v) = HeaderValue::from_str(&name) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(res)
}

/// Makes a segment of the list: a condition on the campaign's activity, people only, so it
/// keeps matching as the same definition (and grows if more people open or click).
pub async fn people_segment(
    State(state): State<AppState>,
    m: Member,
    Path(p): Path<CampaignPath>,
    Query(q): Query<PeopleQuery>,
    Form(_): Form<super::session::Empty>,
) -> PageResult {
    let c = actions::fetch(&state.db, &m.project.id, &p.cid).await?;
    let w = who(&q)?;
    let (activity, link) = match w {
        Who::Opened => ("email.opened", None),
        Who::Clicked => ("email.clicked", None),
        Who::ClickedLink(i) => {
            let scope = stats::Scope::campaign(&m.project.id, &c);
            let url = crate::store::link_stats::links(&state.db, &scope)
                .await?
                .into_iter()
                .find(|l| l.index == i)
                .map(|l| l.url)
                .ok_or(PageError::NotFound)?;
            ("email.clicked", Some(url))
        }
    };
    let mut rule =
        json!({ "activity": activity, "op": "triggered", "campaignId": c.id, "humanOnly": true });
    if let Some(url) = link {
        rule["link"] = json!(url);
    }
    let name = format!("{}: {}", c.name, describe(w));
    let segment = crate::actions::segments::create(&state.db, &m.project.id, &name, &rule).await?;
    Ok(Redirect::to(&m.url(&format!("/segments/{}?notice=segment", segment.id))).into_response())
}

#[cfg(test)]
mod tests {
    use super::csv_field;

    #[test]
    fn csv_fields_are_quoted_and_never_formulas() {
        assert_eq!(csv_field("ada@example.com"), "ada@example.com");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_field("+1"), "'+1");
    }
}
