//! Replays the labelled corpus of hits (`beacon_tracking::corpus`) through a running Beacon's
//! real endpoints and scores the verdicts it records: for the integration test that holds the
//! verdicts to their accuracy, and for `beacon-bench verdicts` (bench/run.sh). Not used by the
//! server itself.
//!
//! Each scenario gets an email of its own (sent through `POST /v1/send`, with four links). Its
//! delivery time is then set in the store (`delivered_at`, as a transport's delivery report
//! would; `sent_at` two minutes earlier), so the first hit lands the scenario's number of
//! seconds after delivery; its hits are made in order, each as long after the previous as the
//! corpus says, with the agent, address (`X-Forwarded-For`: the server must trust it) and
//! `Sec-Purpose` given. Scenarios run side by side. Once the backlog is folded, each email's
//! `email.open` / `email.click` events are read back in order and compared with the labels.

use std::time::Duration;

use anyhow::{Context, bail};
use beacon_tracking::classify::current_majors;
use beacon_tracking::corpus::{self, CorpusHit, Score};
use serde_json::{Value, json};
use tokio::task::JoinSet;

use crate::store::{self, Db};

/// What a replay needs: the server's public base URL (its tracked links start with it), its
/// store, and a secret API key of one of its projects.
#[derive(Clone)]
pub struct Target {
    pub base: String,
    pub db: Db,
    pub secret_key: String,
}

const BODY: &str = "<html><body><p>Corpus</p><a href=\"https://example.com/0\">0</a> \
    <a href=\"https://example.com/1\">1</a> <a href=\"https://example.com/2\">2</a> \
    <a href=\"https://example.com/3\">3</a></body></html>";
/// The hand-off comes this long before the delivery, so only a delivery-based clock judges the
/// corpus's timing right.
const HANDOFF_BEFORE_DELIVERY_MS: i64 = 120_000;

/// Replays the shipped corpus against `target` and scores it.
pub async fn replay(target: &Target) -> anyhow::Result<Score> {
    let scenarios = corpus::parse(corpus::CORPUS).map_err(anyhow::Error::msg)?;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let mut runs = JoinSet::new();
    for (n, scenario) in scenarios.into_iter().enumerate() {
        let (t, http) = (target.clone(), http.clone());
        runs.spawn(async move {
            let email = send(&t, &http, n).await?;
            let urls = tracked_urls(&t, &http, &email).await?;
            play(&t, &http, &email, &urls, &scenario.hits).await?;
            anyhow::Ok((scenario, email))
        });
    }
    let mut played = Vec::new();
    while let Some(run) = runs.join_next().await {
        played.push(run??);
    }
    settle(target, &http).await?;
    played.sort_by(|a, b| a.0.name.cmp(&b.0.name));
    let mut score = Score::default();
    for (scenario, email) in played {
        let got = verdicts(&target.db, &email).await?;
        if got.len() != scenario.hits.len() {
            bail!(
                "{}: {} hits made, {} recorded",
                scenario.name,
                scenario.hits.len(),
                got.len()
            );
        }
        for (hit, verdict) in scenario.hits.iter().zip(got) {
            score.add(&scenario.name, hit, verdict.as_deref());
        }
    }
    Ok(score)
}

/// Sends the scenario's email and waits until it is SENT; returns its id.
async fn send(t: &Target, http: &reqwest::Client, n: usize) -> anyhow::Result<String> {
    let body =
        json!({ "to": format!("corpus-{n}@example.com"), "subject": "Corpus", "body": BODY });
    let answer: Value = http
        .post(format!("{}/v1/send", t.base))
        .bearer_auth(&t.secret_key)
        .json(&body)
        .send()
        .await?
        .json()
        .await?;
    let id = answer["data"]["emails"][0]["email"]
        .as_str()
        .with_context(|| format!("send refused: {answer}"))?
        .to_string();
    for _ in 0..400 {
        let status: Option<String> = sqlx::query_scalar("SELECT status FROM emails WHERE id = $1")
            .bind(&id)
            .fetch_optional(&t.db.read)
            .await?;
        if status.as_deref() == Some("SENT") {
            return Ok(id);
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    bail!("email {id} was not sent within 10 s")
}

/// The email's pixel URL, then its four click URLs in link order.
async fn tracked_urls(
    t: &Target,
    http: &reqwest::Client,
    email: &str,
) -> anyhow::Result<Vec<String>> {
    let e: Value = http
        .get(format!("{}/v1/emails/{email}", t.base))
        .bearer_auth(&t.secret_key)
        .send()
        .await?
        .json()
        .await?;
    let html = e["data"]["html"].as_str().context("email has no html")?;
    let find = |path: &str| -> Vec<String> {
        let prefix = format!("{}{path}", t.base);
        html.match_indices(&prefix)
            .filter_map(|(at, _)| html[at..].split('"').next())
            .map(|u| u.replace("&amp;", "&"))
            .collect()
    };
    let mut urls = find("/o/");
    urls.truncate(1);
    urls.extend(find("/c/"));
    if urls.len() != 5 {
        bail!(
            "expected a pixel and 4 links in {email}, found {}",
            urls.len()
        );
    }
    Ok(urls)
}

/// Dates the email's delivery for the first hit, then makes the hits in order.
async fn play(
    t: &Target,
    http: &reqwest::Client,
    email: &str,
    urls: &[String],
    hits: &[CorpusHit],
) -> anyhow::Result<()> {
    let Some(first) = hits.first() else {
        return Ok(());
    };
    let delivered = store::now_ms() - (first.at_secs * 1000.0) as i64;
    sqlx::query("UPDATE emails SET sent_at = $1, delivered_at = $2 WHERE id = $3")
        .bind(delivered - HANDOFF_BEFORE_DELIVERY_MS)
        .bind(delivered)
        .bind(email)
        .execute(&t.db.write)
        .await?;
    let mut previous = first.at_secs;
    for hit in hits {
        let wait = (hit.at_secs - previous).max(0.0);
        previous = hit.at_secs;
        tokio::time::sleep(Duration::from_secs_f64(wait)).await;
        let url = if hit.click {
            urls.get(1 + hit.link as usize)
                .context("link index above 3")?
        } else {
            &urls[0]
        };
        let method = reqwest::Method::from_bytes(hit.method.as_bytes())?;
        let mut request = http.request(method, url);
        if let Some(ua) = &hit.user_agent {
            let (chrome, firefox) = current_majors(store::now_ms());
            let ua = ua
                .replace("{chrome}", &chrome.to_string())
                .replace("{firefox}", &firefox.to_string());
            request = request.header("user-agent", ua);
        }
        if let Some(ip) = &hit.ip {
            request = request.header("x-forwarded-for", ip);
        }
        if let Some(p) = &hit.purpose {
            request = request.header("sec-purpose", p);
        }
        let status = request.send().await?.status();
        if !(status.is_success() || status.is_redirection()) {
            bail!("{url}: {status}");
        }
    }
    Ok(())
}

/// Waits until the tracking backlog is folded (`/metrics`), up to 30 s.
async fn settle(t: &Target, http: &reqwest::Client) -> anyhow::Result<()> {
    for _ in 0..3000 {
        let text = http
            .get(format!("{}/metrics", t.base))
            .send()
            .await?
            .text()
            .await?;
        let pending = text
            .lines()
            .find_map(|l| l.strip_prefix("beacon_tracking_hits_pending "))
            .and_then(|v| v.trim().parse::<i64>().ok());
        if pending == Some(0) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    bail!("the tracking backlog did not empty")
}

/// The machine reason of each open and click recorded on the email, in the order they came.
async fn verdicts(db: &Db, email: &str) -> anyhow::Result<Vec<Option<String>>> {
    Ok(sqlx::query_scalar(
        "SELECT machine FROM events WHERE email_id = $1 \
         AND name IN ('email.open', 'email.click') ORDER BY created_at, id",
    )
    .bind(email)
    .fetch_all(&db.read)
    .await?)
}
