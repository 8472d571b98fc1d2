//! WEBHOOK steps: a signed JSON POST to a URL the workflow's author chose. The URL is treated
//! as hostile: only http(s), only public addresses unless allowed (`guard`), bounded time,
//! redirects never followed, no proxy, the answer's body unread.

use std::sync::Arc;
use std::time::Duration;

use super::guard::{self, AllowList, GuardedResolver, Refused};

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Attempts before the step fails for good (the first try included).
pub const MAX_ATTEMPTS: i64 = 4;

pub fn check_url(raw: &str) -> Result<reqwest::Url, String> {
    let url = reqwest::Url::parse(raw.trim()).map_err(|e| format!("not a valid URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "only http and https URLs are allowed, not {}:",
            url.scheme()
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("the URL has no host".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("credentials in the URL are not allowed".into());
    }
    Ok(url)
}

/// A client that connects only to addresses `guard` allows (it resolves every name itself),
/// never follows a redirect (a 3xx is a failed attempt), ignores proxy settings (a proxy would
/// resolve the name instead) and gives up quickly.
pub fn client(allow: &AllowList) -> reqwest::Client {
    reqwest::Client::builder()
        .dns_resolver(Arc::new(GuardedResolver {
            allow: Arc::new(allow.clone()),
        }))
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(10))
        .user_agent(concat!("Beacon-Webhook/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("reqwest client builds")
}

/// `sha256=<hex HMAC-SHA256 of body>` under the workflow's secret.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(body);
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256={hex}")
}

/// Why an attempt failed: `Refused` (the address is not one a webhook may reach) is final,
/// `Failed` may succeed on a retry.
#[derive(Debug)]
pub enum Failure {
    Refused(String),
    Failed(String),
}

/// One attempt. `delivery` identifies the step run, so a receiver can drop the duplicate a
/// crash between the POST and its record may cause.
pub async fn post(
    client: &reqwest::Client,
    allow: &AllowList,
    url: &str,
    secret: &str,
    delivery: &str,
    body: Vec<u8>,
) -> Result<u16, Failure> {
    let url = check_url(url).map_err(Failure::Failed)?;
    guard::check_literal(&url, allow).map_err(Failure::Refused)?;
    let sig = signature(secret, &body);
    let answer = client
        .post(url)
        .header("content-type", "application/json")
        .header("x-beacon-signature", sig)
        .header("x-beacon-delivery", delivery)
        .body(body)
        .send()
        .await
        .map_err(|e| {
            if let Some(refused) = refusal_in(&e) {
                Failure::Refused(refused)
            } else if e.is_timeout() {
                Failure::Failed("timed out".into())
            } else if e.is_connect() {
                Failure::Failed("could not connect".into())
            } else {
                Failure::Failed(format!("request failed: {e}"))
            }
        })?;
    let status = answer.status().as_u16();
    if answer.status().is_success() {
        Ok(status)
    } else if answer.status().is_redirection() {
        Err(Failure::Failed(format!(
            "answered {status} (redirects are not followed)"
        )))
    } else {
        Err(Failure::Failed(format!("answered {status}")))
    }
}

/// The resolver's refusal, wherever reqwest and hyper wrapped it.
fn refusal_in(e: &reqwest::Error) -> Option<String> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if let Some(r) = err.downcast_ref::<Refused>() {
            return Some(r.0.clone());
        }
        source = err.source();
    }
    None
}
