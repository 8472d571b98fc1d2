//! One claimed batch, start to finish: build every message off the async threads, hand them to
//! the relay side by side (as many at once as its connection pool takes; the claim was their
//! hand-off checkpoint), and record outcomes as they come back — those that come back together
//! in one transaction.

use tokio::task::JoinSet;

use super::message;
use super::outcome::{self, Outcome, Record};
use super::transport::{Relay, Transport};
use crate::startup::AppState;
use crate::store::emails::Email;

pub async fn deliver(state: &AppState, transport: &Transport, claimed: Vec<Email>) {
    let built = match tokio::task::spawn_blocking(move || build_all(claimed)).await {
        Ok(built) => built,
        Err(e) => {
            // Only a panic in the MIME builder: the batch stays SENDING until its lease ends.
            tracing::error!(error = %e, "building a batch of messages failed");
            return;
        }
    };
    let mut ready = Vec::with_capacity(built.len());
    let mut unbuildable = Vec::new();
    for (email, raw) in built {
        match raw {
            Ok(raw) => ready.push((email, raw)),
            Err(e) => unbuildable.push((email, format!("message could not be built: {e:#}"))),
        }
    }
    let failed = unbuildable
        .iter()
        .map(|(email, reason)| {
            tracing::warn!(email = %email.id, error = %reason, "delivery failed for good");
            Record {
                email,
                outcome: Outcome::Failed {
                    reason: reason.clone(),
                },
                outbox: None,
            }
        })
        .collect();
    outcome::record(state, failed).await;

    match transport {
        Transport::Outbox => {
            let records = ready
                .iter()
                .map(|(email, raw)| Record {
                    email,
                    outcome: Outcome::Sent {
                        provider_id: message::message_id(email),
                    },
                    outbox: Some(raw),
                })
                .collect();
            outcome::record(state, records).await;
        }
        Transport::Relay(relay) => hand_over(state, relay, ready).await,
    }
}

fn build_all(claimed: Vec<Email>) -> Vec<(Email, anyhow::Result<Vec<u8>>)> {
    claimed
        .into_iter()
        .map(|mut email| {
            let raw = message::build(&mut email);
            (email, raw)
        })
        .collect()
}

async fn hand_over(state: &AppState, relay: &Relay, ready: Vec<(Email, Vec<u8>)>) {
    let mut sending = JoinSet::new();
    let mut emails = Vec::with_capacity(ready.len());
    for (i, (email, raw)) in ready.into_iter().enumerate() {
        let relay = relay.clone();
        let (id, from, to) = (
            email.id.clone(),
            email.from_email.clone(),
            email.to_email.clone(),
        );
        sending.spawn(async move { (i, relay.send(&id, &from, &to, &raw).await) });
        emails.push(email);
    }
    while let Some(first) = sending.join_next().await {
        // Whatever else has finished meanwhile is recorded in the same transaction.
        let mut done = vec![first];
        while let Some(more) = sending.try_join_next() {
            done.push(more);
        }
        let records = done
            .into_iter()
            .filter_map(|joined| match joined {
                Ok(sent) => Some(sent),
                // A panic while sending: its email stays SENDING, hand-off recorded, until
                // recovery returns it to the queue.
                Err(e) => {
                    tracing::error!(error = %e, "a send task failed");
                    None
                }
            })
            .map(|(i, result)| {
                let email = &emails[i];
                let outcome = match result {
                    Ok(provider_id) => Outcome::Sent { provider_id },
                    Err(refused) => Outcome::refused(&state.settings, email, refused),
                };
                Record {
                    email,
                    outcome,
                    outbox: None,
                }
            })
            .collect();
        outcome::record(state, records).await;
    }
}
