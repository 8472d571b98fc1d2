//! One claimed batch, start to finish: read the batch's bodies and attachments (one query
//! each; the claim returned the small rows only), decompress them and build every message off
//! the async threads (for the outbox, compress each message again), hand them to
//! the relay side by side (as many at once as its connection pool takes; the claim was their
//! hand-off checkpoint), and record outcomes as they come back — those that come back together
//! in one transaction.

use std::collections::HashMap;

use tokio::task::JoinSet;

use super::message::{self, Built, OutboxPackers};
use super::outcome::{self, Outcome, Record};
use super::transport::{Refused, Relay, Transport};
use crate::startup::AppState;
use crate::store::bodies::{self, Dictionaries, Stored};
use crate::store::emails::Email;
use crate::store::{Db, attachments};

/// What a batch needs besides its rows: bodies as stored, their dictionaries, attachment sets.
struct Inputs {
    bodies: HashMap<String, Stored>,
    dictionaries: Dictionaries,
    attachments: HashMap<String, String>,
}

async fn read_inputs(db: &Db, claimed: &[Email]) -> anyhow::Result<Inputs> {
    let ids: Vec<&str> = claimed.iter().map(|e| e.id.as_str()).collect();
    let (bodies, dictionaries) = bodies::stored(db, &ids).await?;
    let mut sets: Vec<&str> = claimed
        .iter()
        .filter_map(|e| e.attachment_set_id.as_deref())
        .collect();
    sets.sort_unstable();
    sets.dedup();
    let attachments = attachments::read(db, &sets).await?;
    Ok(Inputs {
        bodies,
        dictionaries,
        attachments,
    })
}

/// `packers`: the worker's outbox compressors (`message::OutboxPackers`), kept across batches.
pub async fn deliver(
    state: &AppState,
    transport: &Transport,
    claimed: Vec<Email>,
    packers: &mut OutboxPackers,
) {
    let inputs = match read_inputs(&state.db, &claimed).await {
        Ok(inputs) => inputs,
        Err(e) => {
            // Nothing went to the relay yet: back to the queue, as for any transient trouble.
            let message = format!("reading the message bodies failed: {e:#}");
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
    // The worker's outbox compressors go along with the build, and come back.
    let outbox = matches!(transport, Transport::Outbox).then(|| std::mem::take(packers));
    let built = match tokio::task::spawn_blocking(move || build_all(claimed, inputs, outbox)).await
    {
        Ok((built, outbox)) => {
            if let Some(outbox) = outbox {
                *packers = outbox;
            }
            built
        }
        Err(e) => {
            // Only a panic in the MIME builder: the batch stays SENDING until its lease ends.
            tracing::error!(error = %e, "building a batch of messages failed");
            return;
        }
    };
    let mut ready = Vec::with_capacity(built.len());
    let mut unbuildable = Vec::new();
    for (email, built) in built {
        match built {
            Ok(built) => ready.push((email, built)),
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
                .map(|(email, built)| Record {
                    email,
                    outcome: Outcome::Sent {
                        provider_id: message::message_id(email),
                    },
                    outbox: built.outbox.as_ref(),
                })
                .collect();
            outcome::record(state, records).await;
        }
        Transport::Relay(relay) => hand_over(state, relay, ready).await,
    }
}

type BuiltBatch = (Vec<(Email, anyhow::Result<Built>)>, Option<OutboxPackers>);

fn build_all(
    claimed: Vec<Email>,
    mut inputs: Inputs,
    mut outbox: Option<OutboxPackers>,
) -> BuiltBatch {
    // One decompression context per body dictionary for the whole batch.
    let mut unpackers = crate::bodies::codec::Unpackers::default();
    let built = claimed
        .into_iter()
        .map(|email| {
            // Written with the row in one transaction, so missing bodies mean a damaged store:
            // retrying cannot bring them back.
            let built = match inputs.bodies.remove(&email.id) {
                Some(stored) => message::build(
                    &email,
                    stored,
                    (&inputs.dictionaries, &mut unpackers),
                    &inputs.attachments,
                    outbox.as_mut(),
                ),
                None => Err(anyhow::anyhow!("its bodies are missing from the store")),
            };
            (email, built)
        })
        .collect();
    (built, outbox)
}

async fn hand_over(state: &AppState, relay: &Relay, ready: Vec<(Email, Built)>) {
    let mut sending = JoinSet::new();
    let mut emails = Vec::with_capacity(ready.len());
    for (i, (email, Built { raw, .. })) in ready.into_iter().enumerate() {
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
