//! The delivery loop. Each worker claims a few due emails under a lease, builds each message,
//! checkpoints the hand-off, calls the transport, and records the outcome with its event in one
//! transaction. A separate task returns emails whose lease ran out (a crashed worker or node)
//! to the queue.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use serde_json::{Value, json};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::transport::{Refused, Transport};
use crate::startup::AppState;
use crate::store::{self, emails, events};

/// How long a claimed email stays a worker's before recovery may take it back.
const LEASE_MS: i64 = 120_000;
const BATCH: i64 = 16;
/// The longest a worker sleeps without looking at the queue (other nodes may queue work).
const IDLE_POLL: Duration = Duration::from_millis(500);

pub async fn spawn_workers(
    state: &AppState,
    stop: watch::Receiver<bool>,
) -> anyhow::Result<Vec<JoinHandle<()>>> {
    let transport = Arc::new(Transport::from_settings(&state.settings.transport)?);
    let mut handles = Vec::new();
    for n in 0..state.settings.workers {
        let (state, transport, stop) = (state.clone(), transport.clone(), stop.clone());
        handles.push(tokio::spawn(
            async move { run(n, state, transport, stop).await },
        ));
    }
    let (state, mut stop) = (state.clone(), stop);
    handles.push(tokio::spawn(async move {
        for round in 0u64.. {
            // Housekeeping, hourly: idempotency answers older than a day.
            if round % 720 == 0 {
                let day_ago = store::now_ms() - 86_400_000;
                if let Err(e) = store::idempotency::purge(&state.db, day_ago).await {
                    tracing::error!(error = %e, "purging old idempotency keys failed");
                }
            }
            match emails::recover_expired(&state.db).await {
                Ok(0) => {}
                Ok(n) => {
                    tracing::warn!(
                        count = n,
                        "returned emails with an expired lease to the queue"
                    );
                    state.queue_wake.notify_waiters();
                }
                Err(e) => tracing::error!(error = %e, "lease recovery failed"),
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(5)) => {}
                _ = stop.changed() => return,
            }
        }
    }));
    Ok(handles)
}

#[tracing::instrument(skip_all, fields(worker = n))]
async fn run(
    n: usize,
    state: AppState,
    transport: Arc<Transport>,
    mut stop: watch::Receiver<bool>,
) {
    while !*stop.borrow() {
        // Register interest before looking, so a send queued meanwhile still wakes us.
        let wake = state.queue_wake.notified();
        let claimed = match emails::claim(&state.db, BATCH, LEASE_MS).await {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "claiming queued emails failed");
                Vec::new()
            }
        };
        if claimed.is_empty() {
            let nap = match emails::next_due(&state.db).await {
                Ok(Some(due)) => {
                    Duration::from_millis((due - store::now_ms()).clamp(1, 500) as u64)
                }
                _ => IDLE_POLL,
            };
            tokio::select! {
                _ = wake => {}
                _ = tokio::time::sleep(nap) => {}
                _ = stop.changed() => {}
            }
            continue;
        }
        // A claimed batch is finished even when shutdown is asked: leaving it would hold the
        // rows until their lease runs out.
        for email in claimed {
            if let Err(e) = deliver(&state, &transport, email).await {
                tracing::error!(
                    error = format!("{e:#}"),
                    "recording a delivery outcome failed"
                );
            }
        }
    }
}

async fn deliver(
    state: &AppState,
    transport: &Transport,
    email: emails::Email,
) -> anyhow::Result<()> {
    let raw = match build(&email) {
        Ok(raw) => raw,
        Err(e) => return fail(state, &email, &format!("message could not be built: {e}")).await,
    };
    if transport.is_external() {
        emails::mark_handoff(&state.db, &email.id).await?;
    }
    let mut tx = state.db.begin().await?;
    match transport
        .send(
            &mut tx,
            &email.project_id,
            &email.id,
            &email.from_email,
            &email.to_email,
            &raw,
        )
        .await
    {
        Ok(provider_id) => {
            let provider_id = provider_id.unwrap_or_else(|| message_id(&email));
            emails::mark_sent(&mut tx, &email.id, &provider_id).await?;
            events::record_for_email(&mut tx, (&email).into(), "email.sent", json!({})).await?;
            tx.commit().await?;
            tracing::debug!(email = %email.id, "sent");
            Ok(())
        }
        Err(Refused { message, permanent }) => {
            drop(tx);
            let settings = &state.settings;
            if permanent || email.attempts >= settings.max_attempts {
                fail(state, &email, &message).await
            } else {
                let backoff = settings
                    .retry_base_ms
                    .saturating_mul(1 << (email.attempts - 1).clamp(0, 16));
                tracing::warn!(email = %email.id, attempt = email.attempts, error = %message, "delivery failed; will retry");
                emails::mark_retry(&state.db, &email.id, &message, store::now_ms() + backoff)
                    .await?;
                Ok(())
            }
        }
    }
}

async fn fail(state: &AppState, email: &emails::Email, reason: &str) -> anyhow::Result<()> {
    tracing::warn!(email = %email.id, error = %reason, "delivery failed for good");
    let mut tx = state.db.begin().await?;
    emails::mark_failed(&mut tx, &email.id, reason).await?;
    events::record_for_email(
        &mut tx,
        email.into(),
        "email.failed",
        json!({ "reason": reason }),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Our Message-ID: the email id at the sender's domain, so replies and bounces lead back to it.
fn message_id(email: &emails::Email) -> String {
    let domain = email
        .from_email
        .rsplit_once('@')
        .map_or("beacon.localhost", |(_, d)| d);
    format!("{}@{domain}", email.id)
}

fn build(email: &emails::Email) -> anyhow::Result<Vec<u8>> {
    use beacon_mail::{Attachment, Mailbox, OutgoingMessage};
    let headers: std::collections::BTreeMap<String, String> = serde_json::from_str(&email.headers)?;
    let attachments: Vec<Value> = serde_json::from_str(&email.attachments)?;
    let attachments = attachments
        .iter()
        .map(|a| {
            Ok(Attachment {
                filename: a["filename"].as_str().unwrap_or("attachment").to_string(),
                content_type: a["contentType"]
                    .as_str()
                    .unwrap_or("application/octet-stream")
                    .to_string(),
                content: base64::engine::general_purpose::STANDARD
                    .decode(a["content"].as_str().unwrap_or(""))?,
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let msg = OutgoingMessage {
        message_id: message_id(email),
        from: Mailbox {
            name: email.from_name.clone(),
            email: email.from_email.clone(),
        },
        to: vec![Mailbox {
            name: email.to_name.clone(),
            email: email.to_email.clone(),
        }],
        reply_to: email.reply_to.clone().map(|r| Mailbox {
            name: None,
            email: r,
        }),
        subject: email.subject.clone(),
        html: email.html.clone(),
        text: email.text.clone(),
        headers: headers.into_iter().collect(),
        attachments,
        date: email.created_at / 1000,
    };
    Ok(beacon_mail::build(&msg)?)
}
