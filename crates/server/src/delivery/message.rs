//! An email row and its bodies as the RFC 5322 message that is handed to the transport.

use base64::Engine;
use serde_json::Value;

use crate::store::emails::{Bodies, Email};

/// Our Message-ID: the email id at the sender's domain, so replies and bounces lead back to it.
pub fn message_id(email: &Email) -> String {
    let domain = email
        .from_email
        .rsplit_once('@')
        .map_or("beacon.localhost", |(_, d)| d);
    format!("{}@{domain}", email.id)
}

/// The MIME message. CPU work (a newsletter's ~130 KB of HTML and text are encoded), so callers
/// run it off the async threads. The bodies are moved in: only the message needs them.
pub fn build(email: &Email, bodies: Bodies) -> anyhow::Result<Vec<u8>> {
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
        html: bodies.html,
        text: bodies.text,
        headers: headers.into_iter().collect(),
        attachments,
        date: email.created_at / 1000,
    };
    Ok(beacon_mail::build(&msg)?)
}
