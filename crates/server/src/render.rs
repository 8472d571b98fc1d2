//! Turns a send's subject and body into what is delivered: Markdown rendered, the text part
//! derived from the HTML, `{{var}}` placeholders filled (HTML-escaped in the body), and — for a
//! tracked send — links and pixel sealed (the text part's links too when the project asks), all
//! from a form prepared once per content.

use std::collections::{BTreeMap, HashSet};
use std::sync::Mutex;

use serde::Deserialize;
use serde_json::{Map, Value};

use beacon_tracking::rewrite::{CompiledTemplate, RewriteConfig, StoredDestination, rewrite_text};
use beacon_tracking::token::{DestinationId, EmailId, KeyRing};
use beacon_tracking::vars::{self, Escape};

use crate::error::ApiError;
use crate::links::SendLinks;

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum BodyType {
    Html,
    Markdown,
}

/// A subject and body before variables are filled in.
#[derive(Debug, Clone)]
pub struct Content {
    pub subject: String,
    pub body: String,
    pub kind: BodyType,
}

pub struct Rendered {
    pub subject: String,
    pub html: String,
    pub text: String,
    /// Long destinations of this email's tracked links, to store with it.
    pub stored: Vec<StoredDestination>,
}

/// A JSON value as it reads inside text: strings bare, `null` empty, the rest as JSON.
fn as_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        Value::Object(o) if o.contains_key("value") => {
            o.get("value").map(as_text).unwrap_or_default()
        }
        other => other.to_string(),
    }
}

/// Content prepared once for any number of recipients: the HTML parsed once (links and pixel
/// located), the text part derived once. Each recipient then only substitutes its variables and
/// splices its tokens — the per-recipient cost a million-recipient campaign pays.
pub struct Prepared {
    subject: String,
    html: CompiledTemplate,
    text: String,
    /// The rewriter's settings for this content (the send's campaign parameters).
    config: RewriteConfig,
    track_text: bool,
    /// Stored destinations already written by this content's sends (see
    /// [`Prepared::not_yet_stored`]).
    stored: Mutex<HashSet<DestinationId>>,
}

impl Prepared {
    /// `footer`: add an unsubscribe link (to `{{unsubscribeUrl}}`) when the body has none.
    /// `links`: the send's campaign parameters and text-part tracking.
    pub fn new(
        content: &Content,
        footer: bool,
        config: &RewriteConfig,
        links: &SendLinks,
    ) -> Prepared {
        let mut config = config.with_utm(links.utm.clone());
        if let Some(base) = &links.base {
            // Stored hostnames are checked when added; one that no longer builds a base URL
            // (edited by hand) leaves the send on the service's own base.
            match config.with_base(base) {
                Ok(own) => config = own,
                Err(e) => tracing::warn!(error = %e, "tracking domain ignored"),
            }
        }
        let mut html = match content.kind {
            BodyType::Html => content.body.clone(),
            BodyType::Markdown => {
                // Placeholders pass through Markdown as text, and values are escaped when
                // substituted, so a value can never inject Markdown or HTML.
                let mut out = String::with_capacity(content.body.len() * 3 / 2);
                pulldown_cmark::html::push_html(
                    &mut out,
                    pulldown_cmark::Parser::new(&content.body),
                );
                out
            }
        };
        if footer && !content.body.contains("unsubscribeUrl") {
            html = append_footer(&html, "{{unsubscribeUrl}}");
        }
        let text = text_template(&html);
        Prepared {
            subject: content.subject.clone(),
            html: CompiledTemplate::compile(&html, &config),
            text,
            config,
            track_text: links.track_text,
            stored: Mutex::new(HashSet::new()),
        }
    }

    /// The destinations of `stored` that this content's earlier sends did not already write.
    /// A content is prepared per request or per campaign fan-out, whose writes commit or fail
    /// together with its use of this set, so a campaign writes each long destination once,
    /// not once per recipient.
    pub fn not_yet_stored(&self, stored: Vec<StoredDestination>) -> Vec<StoredDestination> {
        let mut seen = self.stored.lock().unwrap_or_else(|p| p.into_inner());
        stored.into_iter().filter(|d| seen.insert(d.id)).collect()
    }

    /// One recipient's subject, HTML and text; `track` seals that email's links and pixel.
    pub fn render(
        &self,
        data: &Map<String, Value>,
        track: Option<(&KeyRing, EmailId)>,
    ) -> Result<Rendered, ApiError> {
        let lookup = vars::from_fn(|key: &str| data.get(key).map(as_text));
        let subject = vars::substitute(&self.subject, &lookup, Escape::None);
        if subject.contains(['\r', '\n']) {
            return Err(ApiError::invalid(
                "subject",
                "the subject may not contain line breaks",
            ));
        }
        let mut text = vars::substitute(&self.text, &lookup, Escape::None);
        let (html, stored) = match track {
            Some((keys, email_id)) => {
                let mut parts = self.html.render_full(keys, email_id, &lookup);
                if self.track_text {
                    text = rewrite_text(&text, &self.config, keys, email_id, &mut parts);
                }
                (parts.html, parts.stored)
            }
            None => (self.html.render_untracked(&lookup), Vec::new()),
        };
        Ok(Rendered {
            subject,
            html,
            text,
            stored,
        })
    }
}

/// The text part of a template, placeholders intact. Placeholders are masked while the text
/// is derived (`{{ a ?? b }}` holds spaces, where line wrapping could split it) and put back.
fn text_template(html: &str) -> String {
    let found: Vec<_> = vars::placeholders(html).map(|p| p.range).collect();
    let mut masked = String::with_capacity(html.len());
    let mut last = 0;
    for (n, range) in found.iter().enumerate() {
        masked.push_str(&html[last..range.start]);
        masked.push_str(&format!("{{{{beacon{n}}}}}"));
        last = range.end;
    }
    masked.push_str(&html[last..]);
    let mut text = beacon_mail::html_to_text(&masked);
    for (n, range) in found.iter().enumerate().rev() {
        text = text.replace(&format!("{{{{beacon{n}}}}}"), &html[range.clone()]);
    }
    text
}

/// Custom headers are checked when the send is accepted (not when delivered), so a bad one is a
/// 422 to the caller rather than a failed email later.
pub fn check_headers(headers: &BTreeMap<String, String>) -> Result<(), ApiError> {
    for (name, value) in headers {
        beacon_mail::message::validate_custom_header(name, value)
            .map_err(|e| ApiError::invalid(&format!("headers.{name}"), e.to_string()))?;
    }
    Ok(())
}

/// Adds an unsubscribe footer to marketing HTML that has no `{{unsubscribeUrl}}` of its own:
/// before the last `</body>`, or at the end.
pub fn append_footer(html: &str, url: &str) -> String {
    let footer = format!(
        "<p style=\"font-size:12px;color:#666\"><a href=\"{}\">Unsubscribe</a></p>",
        beacon_tracking::html::escape(url)
    );
    match html.to_ascii_lowercase().rfind("</body") {
        Some(at) => format!("{}{footer}{}", &html[..at], &html[at..]),
        None => format!("{html}{footer}"),
    }
}
