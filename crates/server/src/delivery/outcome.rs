//! What became of each email of a batch, and recording it: the email's new state and its
//! `email.*` event, for many emails in one transaction.

use serde_json::json;

use super::transport::Refused;
use crate::config::Settings;
use crate::startup::AppState;
use crate::store::emails::{self, Email};
use crate::store::outbox::{self, Packed};
use crate::store::{bodies, events, now_ms};

pub enum Outcome {
    /// The transport has the message (for the outbox: once `outbox` is written with this).
    Sent {
        provider_id: String,
    },
    /// Back to the queue at `at` (epoch ms).
    Retry {
        error: String,
        at: i64,
    },
    Failed {
        reason: String,
    },
}

impl Outcome {
    /// A refusal becomes a retry with doubling backoff, or a failure when it is permanent or
    /// the attempts are used up.
    pub fn refused(settings: &Settings, email: &Email, refused: Refused) -> Outcome {
        let Refused { message, permanent } = refused;
        if permanent || email.attempts >= settings.max_attempts {
            tracing::warn!(email = %email.id, error = %message, "delivery failed for good");
            Outcome::Failed { reason: message }
        } else {
            let backoff = settings
                .retry_base_ms
                .saturating_mul(1 << (email.attempts - 1).clamp(0, 16));
            tracing::warn!(email = %email.id, attempt = email.attempts, error = %message, "delivery failed; will retry");
            Outcome::Retry {
                error: message,
                at: now_ms() + backoff,
            }
        }
    }
}

/// One email's outcome; `outbox` holds the message (compressed for storing) when the outbox
/// transport is its hand-off.
pub struct Record<'a> {
    pub email: &'a Email,
    pub outcome: Outcome,
    pub outbox: Option<&'a Packed>,
}

/// Records every outcome in one transaction (one commit for the batch). If that fails, each is
/// recorded on its own, so one email's trouble does not cost its neighbours their outcome; an
/// outbox message that cannot be written is then a transient refusal, as any transport's.
pub async fn record(state: &AppState, records: Vec<Record<'_>>) {
    if records.is_empty() {
        return;
    }
    let Err(e) = record_all(state, &records).await else {
        return;
    };
    if records.len() > 1 {
        tracing::warn!(
            error = format!("{e:#}"),
            count = records.len(),
            "recording a batch of delivery outcomes failed; recording them one by one"
        );
    }
    for r in records {
        let error = match record_all(state, std::slice::from_ref(&r)).await {
            Ok(()) => continue,
            Err(e) => e,
        };
        let retry = match r.outbox {
            Some(_) => Record {
                outcome: Outcome::refused(
                    &state.settings,
                    r.email,
                    Refused {
                        message: format!("outbox: {error}"),
                        permanent: false,
                    },
                ),
                outbox: None,
                ..r
            },
            None => {
                tracing::error!(email = %r.email.id, error = format!("{error:#}"), "recording a delivery outcome failed");
                continue;
            }
        };
        if let Err(e) = record_all(state, std::slice::from_ref(&retry)).await {
            tracing::error!(email = %r.email.id, error = format!("{e:#}"), "recording a delivery outcome failed");
        }
    }
}

async fn record_all(state: &AppState, records: &[Record<'_>]) -> Result<(), sqlx::Error> {
    let mut tx = state.db.begin().await?;
    // The outbox messages' dictionaries first (each once; a no-op when stored already).
    let mut dictionaries: Vec<_> = records
        .iter()
        .filter_map(|r| r.outbox.and_then(|m| m.dictionary.as_ref()))
        .collect();
    dictionaries.sort_by(|a, b| a.id.cmp(&b.id));
    dictionaries.dedup_by(|a, b| a.id == b.id);
    for d in dictionaries {
        bodies::insert_dictionary(&mut tx, state.db.backend, d).await?;
    }
    // The usual outcome, SENT, is two statements for the whole group.
    let mut sent = Vec::new();
    for r in records {
        let email = r.email;
        match &r.outcome {
            Outcome::Sent { provider_id } => {
                if let Some(message) = r.outbox {
                    outbox::insert(&mut tx, &email.project_id, &email.id, message).await?;
                }
                sent.push((email, provider_id.as_str()));
            }
            Outcome::Retry { error, at } => {
                emails::mark_retry(&mut tx, &email.id, error, *at).await?
            }
            Outcome::Failed { reason } => {
                emails::mark_failed(&mut tx, &email.id, reason).await?;
                events::record_for_email(
                    &mut tx,
                    email.into(),
                    "email.failed",
                    json!({ "reason": reason }),
                )
                .await?;
            }
        }
    }
    let ids: Vec<(&str, &str)> = sent.iter().map(|(e, p)| (e.id.as_str(), *p)).collect();
    emails::mark_sent(&mut tx, &ids).await?;
    let refs: Vec<events::EmailRef> = sent.iter().map(|(e, _)| (*e).into()).collect();
    events::record_for_emails(&mut tx, &refs, "email.sent").await?;
    tx.commit().await?;
    tracing::debug!(count = sent.len(), "sent");
    Ok(())
}
