//! Turns a send's subject and body into what is delivered: `{{var}}` placeholders filled
//! (HTML-escaped in the body), Markdown rendered, and the text part derived from the HTML.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Map, Value};

use beacon_tracking::vars::{self, Escape};

use crate::error::ApiError;

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
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

pub fn render(content: &Content, data: &Map<String, Value>) -> Result<Rendered, ApiError> {
    let lookup = vars::from_fn(|key: &str| data.get(key).map(as_text));
    let subject = vars::substitute(&content.subject, &lookup, Escape::None);
    if subject.contains(['\r', '\n']) {
        return Err(ApiError::invalid(
            "subject",
            "the subject may not contain line breaks",
        ));
    }
    let html = match content.kind {
        BodyType::Html => vars::substitute(&content.body, &lookup, Escape::Html),
        BodyType::Markdown => {
            let md = vars::substitute(&content.body, &lookup, Escape::Html);
            let mut out = String::with_capacity(md.len() * 3 / 2);
            pulldown_cmark::html::push_html(&mut out, pulldown_cmark::Parser::new(&md));
            out
        }
    };
    let text = beacon_mail::html_to_text(&html);
    Ok(Rendered {
        subject,
        html,
        text,
    })
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
