//! An email row and its bodies as the RFC 5322 message that is handed to the transport (and,
//! for the outbox, that message compressed as it is stored).

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::Context;
use base64::Engine;
use serde_json::Value;

use crate::bodies::codec;
use crate::bodies::dictionary::BodyPacker;
use crate::store::bodies::{self, Dictionaries, Stored};
use crate::store::emails::{Bodies, Email};
use crate::store::outbox::Packed;

/// A message ready for its transport.
pub struct Built {
    pub raw: Vec<u8>,
    /// For the outbox: the message compressed as it is stored.
    pub outbox: Option<Packed>,
}

/// A worker's compressors for outbox messages, one per body dictionary (so one per campaign).
/// A message is compressed against a sibling's message: the first message a worker builds for
/// a body dictionary, rebuilt from that dictionary's content (the prepared content rendered for
/// no one), becomes a dictionary of its own. Against the body dictionary itself a message saves
/// little (quoted-printable escapes and line breaks split every repeat); against a sibling's
/// message the line breaks fall alike. Kept across batches (a few dictionaries at a time).
#[derive(Default)]
pub struct OutboxPackers(HashMap<Option<String>, Arc<BodyPacker>>);

/// Body dictionaries a worker keeps an outbox compressor for.
const OUTBOX_PACKERS: usize = 8;

impl OutboxPackers {
    fn pack(
        &mut self,
        email: &Email,
        raw: &[u8],
        dictionary_id: Option<&str>,
        dictionaries: &Dictionaries,
    ) -> anyhow::Result<Packed> {
        let key = dictionary_id.map(str::to_string);
        let packer = match self.0.get(&key) {
            Some(packer) => packer.clone(),
            None => {
                let sample = bodies::needed(dictionaries, dictionary_id)?;
                let packer = match sample {
                    Some(sample) => {
                        let sample = mime(email, codec::from_payload(sample.to_vec())?, "[]")?;
                        BodyPacker::shared(&email.project_id, &sample)?
                    }
                    None => BodyPacker::alone()?,
                };
                if self.0.len() >= OUTBOX_PACKERS {
                    self.0.clear();
                }
                let packer = Arc::new(packer);
                self.0.insert(key, packer.clone());
                packer
            }
        };
        let (_, frame) = packer.pack_bytes(raw)?;
        Ok(Packed {
            dictionary: packer.dictionary().cloned(),
            frame,
        })
    }
}

/// Our Message-ID: the email id at the sender's domain, so replies and bounces lead back to it.
pub fn message_id(email: &Email) -> String {
    let domain = email
        .from_email
        .rsplit_once('@')
        .map_or("beacon.localhost", |(_, d)| d);
    format!("{}@{domain}", email.id)
}

/// The MIME message from the stored bodies and the batch's attachment sets; with `outbox`, also
/// compressed. CPU work (a newsletter's ~130 KB of HTML and text are decompressed and encoded),
/// so callers run it off the async threads.
pub fn build(
    email: &Email,
    stored: Stored,
    (dictionaries, unpackers): (&Dictionaries, &mut codec::Unpackers),
    sets: &HashMap<String, String>,
    outbox: Option<&mut OutboxPackers>,
) -> anyhow::Result<Built> {
    if stored.purged_at.is_some() {
        anyhow::bail!("its bodies were removed by retention");
    }
    let dictionary_id = stored.dictionary_id.clone();
    let bodies = stored.decode(dictionaries, unpackers)?;
    let attachments = match &email.attachment_set_id {
        Some(id) => sets
            .get(id)
            .with_context(|| format!("its attachments (set {id}) are missing from the store"))?,
        None => &email.attachments,
    };
    let raw = mime(email, bodies, attachments)?;
    let outbox = match outbox {
        Some(packers) => Some(packers.pack(email, &raw, dictionary_id.as_deref(), dictionaries)?),
        None => None,
    };
    Ok(Built { raw, outbox })
}

/// The bodies are moved in: only the message needs them.
fn mime(email: &Email, bodies: Bodies, attachments: &str) -> anyhow::Result<Vec<u8>> {
    use beacon_mail::{Attachment, Mailbox, OutgoingMessage};
    let headers: std::collections::BTreeMap<String, String> = serde_json::from_str(&email.headers)?;
    let attachments: Vec<Value> = serde_json::from_str(attachments)?;
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
        html: bodies.html,
        text: bodies.text,
        headers: headers.into_iter().collect(),
        attachments,
        date: email.created_at / 1000,
    };
    Ok(beacon_mail::build(&msg)?)
}
