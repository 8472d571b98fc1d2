//! Amazon SNS message verification for `POST /webhooks/sns`.
//!
//! Every field of a posted message is hostile until its signature checks out. In order, cheapest
//! refusal first: the body must parse into a [`Message`] of a known type; its topic must be one of
//! `BEACON_SNS_TOPIC_ARNS`; its `SigningCertURL` must be https on the allowed host pattern (so the
//! only certificates ever fetched are Amazon's own, over TLS checked against the web PKI: that
//! fetch is the trust anchor, as in AWS's own SDK validators); and the signature over the
//! canonical string AWS documents must verify with the certificate's RSA key (PKCS#1 v1.5, SHA-1
//! for `SignatureVersion` 1, SHA-256 for 2).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use ring::signature::{self, UnparsedPublicKey, VerificationAlgorithm};
use serde::Deserialize;
use x509_cert::Certificate;
use x509_cert::der::DecodePem;
use x509_cert::der::oid::ObjectIdentifier;

use crate::config::Settings;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Notification,
    SubscriptionConfirmation,
    UnsubscribeConfirmation,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureVersion {
    /// SHA1withRSA: SNS topics' default.
    V1,
    /// SHA256withRSA.
    V2,
}

/// A verified SNS message.
#[derive(Debug, Clone)]
pub struct Message {
    pub kind: Kind,
    pub message_id: String,
    pub topic_arn: String,
    pub subject: Option<String>,
    pub message: String,
    pub timestamp: String,
    /// `Timestamp` in epoch milliseconds.
    pub timestamp_ms: i64,
    pub signature_version: SignatureVersion,
    pub signature: Vec<u8>,
    pub signing_cert_url: String,
    pub subscribe_url: Option<String>,
    pub token: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum Rejected {
    #[error("malformed SNS message: {0}")]
    Malformed(String),
    #[error("topic {0:?} is not one of BEACON_SNS_TOPIC_ARNS")]
    UnknownTopic(String),
    #[error("{0}")]
    Url(String),
    #[error("signing certificate: {0}")]
    Certificate(String),
    #[error("the signature does not match the message")]
    BadSignature,
    /// Amazon's side could not be reached: worth a retry (answered 5xx).
    #[error("{0}")]
    Unavailable(String),
}

/// The JSON as posted. Unknown keys (`UnsubscribeURL`, `MessageAttributes`, …) are ignored;
/// a key given twice is refused by serde, so no two parsers can disagree on a value.
#[derive(Deserialize)]
struct Raw {
    #[serde(rename = "Type")]
    kind: Option<String>,
    #[serde(rename = "MessageId")]
    message_id: Option<String>,
    #[serde(rename = "TopicArn")]
    topic_arn: Option<String>,
    #[serde(rename = "Subject")]
    subject: Option<String>,
    #[serde(rename = "Message")]
    message: Option<String>,
    #[serde(rename = "Timestamp")]
    timestamp: Option<String>,
    #[serde(rename = "SignatureVersion")]
    signature_version: Option<String>,
    #[serde(rename = "Signature")]
    signature: Option<String>,
    #[serde(rename = "SigningCertURL")]
    signing_cert_url: Option<String>,
    #[serde(rename = "SubscribeURL")]
    subscribe_url: Option<String>,
    #[serde(rename = "Token")]
    token: Option<String>,
}

/// SNS messages are at most 256 KB; the envelope adds little.
pub const MAX_BODY: usize = 512 * 1024;

/// Parses a posted body. Says nothing about authenticity: see [`Verifier::verify`].
pub fn parse(body: &[u8]) -> Result<Message, Rejected> {
    if body.len() > MAX_BODY {
        return Err(Rejected::Malformed("body larger than 512 KiB".into()));
    }
    let raw: Raw =
        serde_json::from_slice(body).map_err(|e| Rejected::Malformed(format!("JSON: {e}")))?;
    let kind = match raw.kind.as_deref() {
        Some("Notification") => Kind::Notification,
        Some("SubscriptionConfirmation") => Kind::SubscriptionConfirmation,
        Some("UnsubscribeConfirmation") => Kind::UnsubscribeConfirmation,
        other => return Err(Rejected::Malformed(format!("unknown Type {other:?}"))),
    };
    let confirmation = kind != Kind::Notification;
    // Every field but Message goes into the string to sign on a line of its own: a line break
    // inside one could move text between fields, so none may hold one.
    let line = |name: &str, v: Option<String>, max: usize| -> Result<String, Rejected> {
        match v {
            Some(v) if !v.is_empty() && v.len() <= max && !v.contains(['\n', '\r']) => Ok(v),
            Some(_) => Err(Rejected::Malformed(format!("{name} is empty or malformed"))),
            None => Err(Rejected::Malformed(format!("{name} is missing"))),
        }
    };
    let message_id = line("MessageId", raw.message_id, 128)?;
    let topic_arn = line("TopicArn", raw.topic_arn, 256)?;
    let timestamp = line("Timestamp", raw.timestamp, 64)?;
    let timestamp_ms = chrono::DateTime::parse_from_rfc3339(&timestamp)
        .map_err(|_| Rejected::Malformed("Timestamp is not an ISO 8601 time".into()))?
        .timestamp_millis();
    let signature_version = match line("SignatureVersion", raw.signature_version, 4)?.as_str() {
        "1" => SignatureVersion::V1,
        "2" => SignatureVersion::V2,
        v => {
            return Err(Rejected::Malformed(format!(
                "SignatureVersion {v:?} is not 1 or 2"
            )));
        }
    };
    let signature = base64::engine::general_purpose::STANDARD
        .decode(line("Signature", raw.signature, 2048)?)
        .map_err(|_| Rejected::Malformed("Signature is not base64".into()))?;
    let signing_cert_url = line("SigningCertURL", raw.signing_cert_url, 2048)?;
    let subject = match raw.subject {
        // Only notifications sign a subject; a confirmation's is ignored.
        Some(s) if !confirmation => Some(line("Subject", Some(s), 256)?),
        _ => None,
    };
    let (subscribe_url, token) = if confirmation {
        (
            Some(line("SubscribeURL", raw.subscribe_url, 4096)?),
            Some(line("Token", raw.token, 2048)?),
        )
    } else {
        (None, None)
    };
    let message = raw
        .message
        .ok_or_else(|| Rejected::Malformed("Message is missing".into()))?;
    Ok(Message {
        kind,
        message_id,
        topic_arn,
        subject,
        message,
        timestamp,
        timestamp_ms,
        signature_version,
        signature,
        signing_cert_url,
        subscribe_url,
        token,
    })
}

/// The canonical string AWS signs ("Verifying the signatures of Amazon SNS messages"): each
/// field's name and value on lines of their own, in byte order of the names, `Subject` only when
/// the notification has one.
pub fn string_to_sign(m: &Message) -> String {
    fn push(s: &mut String, name: &str, value: &str) {
        s.push_str(name);
        s.push('\n');
        s.push_str(value);
        s.push('\n');
    }
    let mut s = String::with_capacity(m.message.len() + 512);
    push(&mut s, "Message", &m.message);
    push(&mut s, "MessageId", &m.message_id);
    let kind = match m.kind {
        Kind::Notification => "Notification",
        Kind::SubscriptionConfirmation => "SubscriptionConfirmation",
        Kind::UnsubscribeConfirmation => "UnsubscribeConfirmation",
    };
    if m.kind == Kind::Notification {
        if let Some(subject) = &m.subject {
            push(&mut s, "Subject", subject);
        }
        push(&mut s, "Timestamp", &m.timestamp);
    } else {
        push(
            &mut s,
            "SubscribeURL",
            m.subscribe_url.as_deref().unwrap_or(""),
        );
        push(&mut s, "Timestamp", &m.timestamp);
        push(&mut s, "Token", m.token.as_deref().unwrap_or(""));
    }
    push(&mut s, "TopicArn", &m.topic_arn);
    push(&mut s, "Type", kind);
    s
}

/// True when `host` matches `pattern` label by label; a `*` label stands for one non-empty label
/// of letters, digits and hyphens (an AWS region). No regex, so nothing to get subtly wrong.
pub fn host_matches(pattern: &str, host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    let (p, h): (Vec<&str>, Vec<&str>) = (pattern.split('.').collect(), host.split('.').collect());
    p.len() == h.len()
        && p.iter().zip(&h).all(|(p, h)| {
            if *p == "*" {
                !h.is_empty() && h.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            } else {
                p == h
            }
        })
}

const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
/// Certificates are a few KB; refuse to read more.
const MAX_CERT: usize = 64 * 1024;
/// Distinct certificate URLs kept (Amazon rotates a handful a year per region).
const MAX_CACHED: usize = 64;

/// An RSA public key (PKCS#1 DER, as ring wants it) and when its certificate expires.
struct CachedKey {
    key: Arc<[u8]>,
    not_after_ms: i64,
}

/// Checks SNS messages against `BEACON_SNS_*`, keeping fetched certificates' keys by URL.
pub struct Verifier {
    topics: Vec<String>,
    host: String,
    allow_http: bool,
    client: reqwest::Client,
    keys: Mutex<HashMap<String, CachedKey>>,
}

impl Verifier {
    pub fn new(settings: &Settings) -> anyhow::Result<Verifier> {
        if settings.sns_allow_insecure_cert_url {
            tracing::warn!(
                "BEACON_SNS_ALLOW_INSECURE_CERT_URL is on: SNS certificates may come over plain \
                 http. This is for tests only; anyone on the path could forge SES events."
            );
        }
        Ok(Verifier {
            topics: settings.sns_topic_arns.clone(),
            host: settings.sns_cert_host.clone(),
            allow_http: settings.sns_allow_insecure_cert_url,
            // Never follow a redirect: it could lead off the allowed host.
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(10))
                .build()?,
            keys: Mutex::new(HashMap::new()),
        })
    }

    /// Parses and authenticates a posted body.
    pub async fn verify(&self, body: &[u8]) -> Result<Message, Rejected> {
        let m = parse(body)?;
        if !self.topics.contains(&m.topic_arn) {
            return Err(Rejected::UnknownTopic(m.topic_arn));
        }
        let url = self.allowed_url("SigningCertURL", &m.signing_cert_url)?;
        let key = self.public_key(url).await?;
        let alg: &'static dyn VerificationAlgorithm = match m.signature_version {
            SignatureVersion::V1 => &signature::RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY,
            SignatureVersion::V2 => &signature::RSA_PKCS1_2048_8192_SHA256,
        };
        UnparsedPublicKey::new(alg, &key[..])
            .verify(string_to_sign(&m).as_bytes(), &m.signature)
            .map_err(|_| Rejected::BadSignature)?;
        Ok(m)
    }

    /// A URL Beacon may fetch: https (or http when the test-only setting allows it), no
    /// credentials, on the allowed host pattern.
    pub fn allowed_url(&self, field: &str, url: &str) -> Result<reqwest::Url, Rejected> {
        let refuse = |why: &str| Rejected::Url(format!("{field} {why}"));
        let parsed = reqwest::Url::parse(url).map_err(|_| refuse("is not a URL"))?;
        match parsed.scheme() {
            "https" => {}
            "http" if self.allow_http => {}
            _ => return Err(refuse("must be https")),
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(refuse("must not carry credentials"));
        }
        match parsed.host_str() {
            Some(h) if host_matches(&self.host, h) => Ok(parsed),
            _ => Err(refuse(&format!(
                "is not on the allowed host {} (BEACON_SNS_CERT_HOST)",
                self.host
            ))),
        }
    }

    /// Confirms a subscription by fetching its `SubscribeURL` (already authenticated, and only on
    /// the allowed host).
    pub async fn confirm(&self, m: &Message) -> Result<(), Rejected> {
        let url = self.allowed_url("SubscribeURL", m.subscribe_url.as_deref().unwrap_or(""))?;
        let answer = self
            .client
            .get(url)
            .send()
            .await
            .map_err(|e| Rejected::Unavailable(format!("confirming the subscription: {e}")))?;
        if !answer.status().is_success() {
            return Err(Rejected::Unavailable(format!(
                "confirming the subscription: SNS answered {}",
                answer.status()
            )));
        }
        Ok(())
    }

    async fn public_key(&self, url: reqwest::Url) -> Result<Arc<[u8]>, Rejected> {
        let now = crate::store::now_ms();
        if let Some(c) = self.keys.lock().expect("lock").get(url.as_str())
            && c.not_after_ms > now
        {
            return Ok(c.key.clone());
        }
        let pem = self.fetch(url.clone()).await?;
        let cert = Certificate::from_pem(&pem)
            .map_err(|e| Rejected::Certificate(format!("not a PEM X.509 certificate: {e}")))?;
        let tbs = &cert.tbs_certificate;
        let ms = |t: x509_cert::time::Time| t.to_unix_duration().as_millis() as i64;
        let (not_before, not_after) = (ms(tbs.validity.not_before), ms(tbs.validity.not_after));
        if now < not_before || now >= not_after {
            return Err(Rejected::Certificate("expired or not yet valid".into()));
        }
        let spki = &tbs.subject_public_key_info;
        if spki.algorithm.oid != RSA_ENCRYPTION {
            return Err(Rejected::Certificate("not an RSA key".into()));
        }
        let key: Arc<[u8]> = spki
            .subject_public_key
            .as_bytes()
            .ok_or_else(|| Rejected::Certificate("malformed public key".into()))?
            .into();
        let mut keys = self.keys.lock().expect("lock");
        if keys.len() >= MAX_CACHED {
            keys.clear();
        }
        keys.insert(
            url.to_string(),
            CachedKey {
                key: key.clone(),
                not_after_ms: not_after,
            },
        );
        Ok(key)
    }

    async fn fetch(&self, url: reqwest::Url) -> Result<Vec<u8>, Rejected> {
        let unavailable = |e: reqwest::Error| Rejected::Unavailable(format!("fetching {url}: {e}"));
        let mut answer = self
            .client
            .get(url.clone())
            .send()
            .await
            .map_err(unavailable)?;
        let status = answer.status();
        if status.is_server_error() {
            return Err(Rejected::Unavailable(format!("fetching {url}: {status}")));
        }
        if !status.is_success() {
            return Err(Rejected::Certificate(format!("{url} answered {status}")));
        }
        let mut body = Vec::new();
        while let Some(chunk) = answer.chunk().await.map_err(unavailable)? {
            body.extend_from_slice(&chunk);
            if body.len() > MAX_CERT {
                return Err(Rejected::Certificate("larger than 64 KiB".into()));
            }
        }
        Ok(body)
    }
}
