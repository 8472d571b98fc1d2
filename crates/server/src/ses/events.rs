//! SES event notifications (the `Message` of a verified SNS notification) turned into Beacon's
//! effects. The email is found by SES's message id (`mail.messageId`), or else by the email id
//! Beacon tags each provider-engine send with (`mail.tags`, for mail relayed to SES):
//!
//! - `Open` / `Click` → the same hit Beacon's own pixel and redirect record (`tracking::ingest`'s
//!   `apply_batch`), with the machine verdict of SES's `userAgent` and `ipAddress`;
//! - `Delivery` → `deliveredAt`, status SENT → DELIVERED (forward only), `email.delivered`;
//! - permanent `Bounce` / `Complaint` → `email.bounced` / `email.complained`, contact unsubscribed;
//! - anything else (Send, Reject, transient bounces, …) is acknowledged and changes nothing.

use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};

use beacon_tracking::classify::{self, HitKind, Verdict};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::lookup::{Email, find_email};
use super::sns;
use crate::startup::AppState;
use crate::store::{self, Tx, events, sns_messages};
use crate::tracking::ingest::{Hit, Kind, Link, apply_batch};

#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The effect was committed; the Beacon event's name.
    Applied(&'static str),
    /// An SES event type Beacon does not act on.
    Ignored,
    /// This SNS message was processed before.
    Duplicate,
}

#[derive(Debug, thiserror::Error)]
pub enum EventError {
    #[error("malformed SES event: {0}")]
    Malformed(String),
    /// A race with the send: SNS retries, and by then the email is stored.
    #[error("no email has the SES message id {0:?} (yet)")]
    NotYetStored(String),
    #[error(transparent)]
    Store(#[from] sqlx::Error),
}

/// The parts of SES's event JSON Beacon reads; the rest is ignored. SES event publishing says
/// `eventType`; the older identity notifications say `notificationType`: both are understood.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SesEvent {
    event_type: Option<String>,
    notification_type: Option<String>,
    mail: Option<Mail>,
    open: Option<Activity>,
    click: Option<Activity>,
    delivery: Option<Map<String, Value>>,
    bounce: Option<Map<String, Value>>,
    complaint: Option<Map<String, Value>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Mail {
    message_id: Option<String>,
    tags: Option<Value>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Activity {
    ip_address: Option<String>,
    user_agent: Option<String>,
    timestamp: Option<String>,
    link: Option<String>,
    link_tags: Option<Map<String, Value>>,
}

/// Prune remembered SNS ids once every this many notifications per node.
const PRUNE_EVERY: u64 = 1_000;
static HANDLED: AtomicU64 = AtomicU64::new(0);

/// Applies one verified SNS notification carrying an SES event.
pub async fn handle(state: &AppState, msg: &sns::Message) -> Result<Outcome, EventError> {
    let now = store::now_ms();
    // Ids are remembered for a week; an older notification could be a replay of a forgotten one.
    if now - msg.timestamp_ms > sns_messages::REMEMBER_MS {
        return Err(EventError::Malformed(
            "Timestamp is more than 7 days old".into(),
        ));
    }
    let event: SesEvent = serde_json::from_str(&msg.message)
        .map_err(|e| EventError::Malformed(format!("Message is not an SES event: {e}")))?;
    let kind = event
        .event_type
        .as_deref()
        .or(event.notification_type.as_deref())
        .ok_or_else(|| EventError::Malformed("no eventType".into()))?;
    let permanent = |b: &Option<Map<String, Value>>| {
        b.as_ref()
            .and_then(|b| b.get("bounceType"))
            .and_then(Value::as_str)
            == Some("Permanent")
    };
    match kind {
        "Open" | "Click" | "Delivery" | "Complaint" => {}
        "Bounce" if permanent(&event.bounce) => {}
        _ => return Ok(Outcome::Ignored),
    }
    let ses_id = event
        .mail
        .as_ref()
        .and_then(|m| m.message_id.as_deref())
        .filter(|id| !id.is_empty() && id.len() <= 256 && !id.contains(char::is_control))
        .ok_or_else(|| EventError::Malformed("mail.messageId is missing or malformed".into()))?;
    if sns_messages::seen(&state.db, &msg.message_id).await? {
        return Ok(Outcome::Duplicate);
    }
    let tagged = event.mail.as_ref().and_then(|m| {
        m.tags
            .as_ref()?
            .get(crate::engine::EMAIL_TAG)?
            .get(0)?
            .as_str()
    });
    let email = find_email(&state.db, ses_id, tagged)
        .await?
        .ok_or_else(|| EventError::NotYetStored(ses_id.to_string()))?;
    if HANDLED
        .fetch_add(1, Ordering::Relaxed)
        .is_multiple_of(PRUNE_EVERY)
        && let Err(e) = sns_messages::prune(&state.db, now - sns_messages::REMEMBER_MS).await
    {
        tracing::warn!(error = %e, "pruning remembered SNS message ids failed");
    }
    match kind {
        "Open" => {
            hit(
                state,
                msg,
                &email,
                Kind::Open,
                event.open.unwrap_or_default(),
            )
            .await
        }
        "Click" => {
            hit(
                state,
                msg,
                &email,
                Kind::Click,
                event.click.unwrap_or_default(),
            )
            .await
        }
        _ => {
            let mut tx = state.db.begin().await?;
            if !sns_messages::remember(&mut tx, &msg.message_id, &msg.topic_arn, now).await? {
                return Ok(Outcome::Duplicate);
            }
            let name = match kind {
                "Delivery" => delivered(&mut tx, &email, event.delivery.as_ref(), now).await?,
                _ => complained(&mut tx, &email, kind, &event, now).await?,
            };
            tx.commit().await?;
            Ok(Outcome::Applied(name))
        }
    }
}

/// An open or click, applied through the same `apply_batch` as Beacon's own hits, in the
/// transaction that remembers the SNS id: both commit or neither does, so SNS's retry after a
/// failure or a crash counts the hit exactly once. (SNS is itself the queue in front of this
/// path, retrying with back-off, so it applies directly rather than through the `hits` backlog.)
async fn hit(
    state: &AppState,
    msg: &sns::Message,
    email: &Email,
    kind: Kind,
    a: Activity,
) -> Result<Outcome, EventError> {
    let now = store::now_ms();
    let at = a
        .timestamp
        .as_deref()
        .and_then(parse_ms)
        .map_or(now, |t| t.min(now));
    let ip: Option<IpAddr> = a.ip_address.as_deref().and_then(|s| s.trim().parse().ok());
    let user_agent: Option<String> = a.user_agent.map(|u| u.chars().take(1024).collect());
    let link = match kind {
        Kind::Open => None,
        Kind::Click => {
            let url = a
                .link
                .filter(|l| !l.is_empty() && l.len() <= 8192)
                .ok_or_else(|| EventError::Malformed("click.link is missing".into()))?;
            // SES says neither which of the email's links it was nor in which order: index 0.
            Some(Link {
                url,
                index: 0,
                tag: first_tag(a.link_tags.as_ref()),
            })
        }
    };
    let verdict = classify::classify(
        &classify::Hit {
            kind: match kind {
                Kind::Open => HitKind::Open,
                Kind::Click => HitKind::Click,
            },
            method: "GET",
            user_agent: user_agent.as_deref(),
            ip,
            purpose: None,
            // Since delivery when SES reported it, else since the hand-off. SES's clock against
            // ours: a little skew must not make a hit precede its send.
            secs_since_delivery: email
                .delivered_at
                .or(email.sent_at)
                .map(|s| ((at - s) as f64 / 1000.0).max(0.0)),
            at_ms: Some(at),
        },
        &state.tracking.classify,
    );
    let hit = Hit {
        kind,
        email_id: email.id.clone(),
        link,
        machine: match verdict {
            Verdict::Human => None,
            Verdict::Machine(reason) => Some(reason.as_str().to_string()),
        },
        scanner: match verdict {
            Verdict::Machine(reason) => reason.product().map(str::to_string),
            Verdict::Human => None,
        },
        ip: ip.and_then(|ip| state.settings.hit_ip.apply(ip)),
        // Bursts and re-checks are judged over the email's clicks when applied, as for `/c`.
        client: match (kind, ip) {
            (Kind::Click, Some(ip)) => Some(classify::fingerprint(
                &state.tracking.client_key,
                &email.id,
                ip,
                user_agent.as_deref(),
            )),
            _ => None,
        },
        user_agent: user_agent.filter(|_| state.settings.hit_user_agent),
        at,
    };
    let mut tx = state.db.begin().await?;
    if !sns_messages::remember(&mut tx, &msg.message_id, &msg.topic_arn, now).await? {
        return Ok(Outcome::Duplicate);
    }
    apply_batch(&mut tx, state.db.backend, &[&hit]).await?;
    tx.commit().await?;
    Ok(Outcome::Applied(match kind {
        Kind::Open => "email.open",
        Kind::Click => "email.click",
    }))
}

/// SES's `linkTags` is `{"name": ["value", …]}` from the link's `ses:tags` attribute. Beacon's
/// click carries one tag: the first value of the alphabetically first name.
fn first_tag(tags: Option<&Map<String, Value>>) -> Option<String> {
    let (_, values) = tags?.iter().min_by(|a, b| a.0.cmp(b.0))?;
    let value = match values {
        Value::Array(v) => v.first()?.as_str()?,
        Value::String(s) => s.as_str(),
        _ => return None,
    };
    Some(value.chars().take(256).collect())
}

/// Forward only: SENT becomes DELIVERED; OPENED and CLICKED stay. A second delivery report for
/// the same email changes nothing.
async fn delivered(
    tx: &mut Tx,
    email: &Email,
    delivery: Option<&Map<String, Value>>,
    now: i64,
) -> Result<&'static str, sqlx::Error> {
    let at = delivery
        .and_then(|d| d.get("timestamp"))
        .and_then(Value::as_str)
        .and_then(parse_ms)
        .map_or(now, |t| t.min(now));
    let done = sqlx::query(
        "UPDATE emails SET delivered_at = $1, \
         status = CASE WHEN status = 'SENT' THEN 'DELIVERED' ELSE status END \
         WHERE id = $2 AND delivered_at IS NULL",
    )
    .bind(at)
    .bind(&email.id)
    .execute(&mut **tx)
    .await?;
    if done.rows_affected() == 1 {
        let at = chrono::DateTime::from_timestamp_millis(at).map(|t| t.to_rfc3339());
        record_ses(tx, email, "email.delivered", json!({ "deliveredAt": at })).await?;
    }
    Ok("email.delivered")
}

/// A permanent bounce or a complaint: the event, and the contact unsubscribed (with a
/// `contact.unsubscribed` event when it was subscribed), so no campaign mails them again.
async fn complained(
    tx: &mut Tx,
    email: &Email,
    kind: &str,
    event: &SesEvent,
    now: i64,
) -> Result<&'static str, sqlx::Error> {
    let text = |m: Option<&Map<String, Value>>, key: &str| -> Value {
        m.and_then(|m| m.get(key))
            .and_then(Value::as_str)
            .map_or(Value::Null, |s| {
                json!(s.chars().take(128).collect::<String>())
            })
    };
    let (name, reason, data) = if kind == "Bounce" {
        let b = event.bounce.as_ref();
        let data = json!({ "bounceType": text(b, "bounceType"), "bounceSubType": text(b, "bounceSubType") });
        ("email.bounced", "bounce", data)
    } else {
        let c = event.complaint.as_ref();
        let data = json!({
            "complaintFeedbackType": text(c, "complaintFeedbackType"),
            "complaintSubType": text(c, "complaintSubType"),
        });
        ("email.complained", "complaint", data)
    };
    record_ses(tx, email, name, data).await?;
    let done = sqlx::query(
        "UPDATE contacts SET subscribed = 0, updated_at = $1 WHERE id = $2 AND subscribed = 1",
    )
    .bind(now)
    .bind(&email.contact_id)
    .execute(&mut **tx)
    .await?;
    if done.rows_affected() == 1 {
        record_ses(
            tx,
            email,
            "contact.unsubscribed",
            json!({ "reason": reason }),
        )
        .await?;
    }
    Ok(name)
}

fn parse_ms(t: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(t)
        .ok()
        .map(|t| t.timestamp_millis())
}

/// An `email.*` event from SES, marked with its provider.
async fn record_ses(
    tx: &mut Tx,
    email: &Email,
    name: &str,
    mut extra: Value,
) -> Result<(), sqlx::Error> {
    if let Value::Object(x) = &mut extra {
        x.insert("provider".into(), Value::String("ses".into()));
    }
    let email = events::EmailRef {
        id: &email.id,
        project_id: &email.project_id,
        contact_id: &email.contact_id,
        subject: &email.subject,
        template_id: email.template_id.as_deref(),
        campaign_id: email.campaign_id.as_deref(),
        source_type: &email.source_type,
    };
    events::record_for_email(tx, email, name, extra).await
}
