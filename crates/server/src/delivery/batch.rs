//! One claimed batch, start to finish: read the batch's bodies (one query; the claim returned
//! the small rows only), build every message off the async threads, hand them to
//! the relay side by side (as many at once as its connection pool takes; the claim was their
//! hand-off checkpoint), and record outcomes as they come back — those that come back together
//! in one transaction.

use tokio::task::JoinSet;

use super::message;
use super::outcome::{self, Outcome, Record};
use super::transport::{Refused, Relay, Transport};
use crate::startup::AppState;
use crate::store::emails::{self, Bodies, Email};

pub async fn deliver(state: &AppState, transport: &Transport, claimed: Vec<Email>) {
    let ids: Vec<&str> = claimed.iter().map(|e| e.id.as_str()).collect();
    let mut bodies = match emails::bodies(&state.db, &ids).await {
        Ok(bodies) => bodies,
        Err(e) => {
            // Nothing went to the relay yet: back to the queue, as for any transient trouble.
            let message = format!("reading the message bodies failed: {e}");
            let records = claimed
                .iter()
                .map(|email| Record {
                    email,
                    outcome: Outcome::refused(
                        &state.settings,
                        email,
                        Refused {
                            message: message.clone(),
                            permanent: false,
                        },
                    ),
                    outbox: None,
                })
                .collect();
            outcome::record(state, records).await;
            return;
        }
    };
    let claimed: Vec<(Email, Option<Bodies>)> = claimed
        .into_iter()
        .map(|email| {
            let found = bodies.remove(&email.id);
            (email, found)
        })
        .collect();
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

fn build_all(claimed: Vec<(Email, Option<Bodies>)>) -> Vec<(Email, anyhow::Result<Vec<u8>>)> {
    claimed
        .into_iter()
        .map(|(email, bodies)| {
            // Written with the row in one transaction, so missing bodies mean a damaged store:
            // retrying cannot bring them back.
            let raw = match bodies {
                Some(bodies) => message::build(&email, bodies),
                None => Err(anyhow::anyhow!("its bodies are missing from the store")),
            };
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
