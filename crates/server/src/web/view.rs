//! Values as pages show them: times, rates, and events in words (what happened, and for an
//! open or a click whether a person or a machine did it, and why).

use serde_json::Value;

use crate::store::events::Event;

/// `2026-11-30 01:23:45 UTC`.
pub fn when(ms: i64) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_default()
}

/// [`when`], or a dash when it has not happened.
pub fn when_opt(ms: Option<i64>) -> String {
    ms.map_or_else(|| "—".to_string(), when)
}

/// What "delivered" means with the configured transport: the outbox keeps messages in the
/// database and hands nothing to a mail server, so nothing it holds is ever delivered.
pub fn delivered_note(transport: &crate::config::Transport, rate: String) -> String {
    not_delivered(transport).map_or(rate, str::to_string)
}

/// Why nothing can count as delivered with this transport: the outbox hands nothing to a mail
/// server, and a plain SMTP relay does not report delivery (SES events through SNS do).
pub fn not_delivered(transport: &crate::config::Transport) -> Option<&'static str> {
    match transport {
        crate::config::Transport::Outbox => {
            Some("none: the outbox transport keeps messages in the database (BEACON_TRANSPORT)")
        }
        crate::config::Transport::Smtp(_) => {
            Some("not reported: an SMTP relay does not tell Beacon about delivery")
        }
        crate::config::Transport::Ses(_) => None,
    }
}

/// `n` of `d` as a percentage with one decimal (`42.1 %`), or a dash when `d` is 0.
pub fn pct(n: i64, d: i64) -> String {
    if d <= 0 {
        "—".to_string()
    } else {
        format!("{:.1} %", n as f64 * 100.0 / d as f64)
    }
}

/// What Beacon's own events are called on a page; a custom event keeps its name.
pub fn label(name: &str) -> &str {
    match name {
        "email.sent" => "Sent",
        "email.delivered" => "Delivered",
        "email.open" => "Opened",
        "email.click" => "Clicked",
        "email.bounced" => "Bounced",
        "email.complained" => "Complained",
        "email.failed" => "Failed",
        "contact.subscribed" => "Subscribed",
        "contact.unsubscribed" => "Unsubscribed",
        other => other,
    }
}

/// One line of a timeline or feed.
pub struct EventLine {
    pub at: String,
    pub name: String,
    pub label: String,
    /// `sent`, `open`, `click`, `bad` (bounce, complaint, failure), `contact`, `custom`: the
    /// line's style.
    pub class: &'static str,
    pub contact_id: String,
    pub contact_email: String,
    pub email_id: String,
    pub subject: String,
    /// A click's destination.
    pub link: String,
    /// Opens and clicks: `Some("person")` or `Some("machine: <reason in words>")`.
    pub verdict: Option<String>,
    pub machine: bool,
    /// A custom event's data, as JSON text ("" when empty).
    pub data: String,
}

impl EventLine {
    pub fn new(e: &Event, contact_email: Option<&str>) -> EventLine {
        let data: Value = serde_json::from_str(&e.data).unwrap_or(Value::Null);
        let text = |k: &str| {
            data.get(k)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        let is_hit = e.name == "email.open" || e.name == "email.click";
        let machine_reason = data.get("machine").and_then(Value::as_str);
        let verdict = is_hit.then(|| match machine_reason {
            None => "person".to_string(),
            Some(reason) => format!(
                "machine: {}",
                beacon_tracking::classify::describe(
                    reason,
                    data.get("scanner").and_then(Value::as_str)
                )
            ),
        });
        let class = match e.name.as_str() {
            "email.open" => "open",
            "email.click" => "click",
            "email.bounced" | "email.complained" | "email.failed" => "bad",
            n if n.starts_with("email.") => "sent",
            n if n.starts_with("contact.") => "contact",
            _ => "custom",
        };
        let custom = class == "custom";
        EventLine {
            at: when(e.created_at),
            name: e.name.clone(),
            label: label(&e.name).to_string(),
            class,
            contact_id: e.contact_id.clone(),
            contact_email: contact_email.unwrap_or("").to_string(),
            email_id: e.email_id.clone().unwrap_or_default(),
            subject: text("subject"),
            link: text("link"),
            verdict,
            machine: is_hit && machine_reason.is_some(),
            data: match &data {
                Value::Object(m) if custom && !m.is_empty() => data.to_string(),
                _ => String::new(),
            },
        }
    }
}

/// Campaign parameters as a form shows them: one `name=value` a line, from the stored JSON
/// object (a project's or a campaign's).
pub fn utm_lines_of(stored: Option<&str>) -> String {
    let Some(Value::Object(map)) = stored.and_then(|s| serde_json::from_str(s).ok()) else {
        return String::new();
    };
    map.iter()
        .map(|(k, v)| match v {
            Value::String(s) => format!("{k}={s}"),
            // A campaign's `null` drops the project's parameter.
            _ => format!("{k}="),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `name=value` lines into the JSON object the rules take (`crate::links`); a line without `=`
/// is refused here, the names and values there. In a campaign's lines, `name=` (no value)
/// drops the project's parameter of that name.
pub fn utm_from_lines(text: &str) -> Result<Value, crate::error::ApiError> {
    let mut map = serde_json::Map::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let Some((name, value)) = line.split_once('=') else {
            return Err(crate::error::ApiError::invalid(
                "utm",
                format!(
                    "line {}: write name=value, like utm_source=newsletter",
                    n + 1
                ),
            ));
        };
        let value = value.trim();
        let value = match value.is_empty() {
            true => Value::Null,
            false => Value::String(value.to_string()),
        };
        map.insert(name.trim().to_string(), value);
    }
    Ok(Value::Object(map))
}

#[cfg(test)]
mod tests {
    use super::{EventLine, pct};
    use crate::store::events::Event;

    fn event(name: &str, data: &str) -> Event {
        Event {
            id: "e".into(),
            project_id: "p".into(),
            contact_id: "c".into(),
            email_id: Some("m".into()),
            name: name.into(),
            data: data.into(),
            created_at: 0,
        }
    }

    #[test]
    fn hits_say_who_made_them_in_words() {
        let human = EventLine::new(&event("email.open", r#"{"machine":null}"#), None);
        assert_eq!(human.verdict.as_deref(), Some("person"));
        let mpp = EventLine::new(&event("email.open", r#"{"machine":"apple_mpp"}"#), None);
        assert_eq!(
            mpp.verdict.as_deref(),
            Some("machine: Apple Mail Privacy Protection")
        );
        assert!(mpp.machine);
        let scan = EventLine::new(
            &event(
                "email.click",
                r#"{"machine":"security_scanner","scanner":"Mimecast","link":"https://x.test/"}"#,
            ),
            None,
        );
        assert_eq!(
            scan.verdict.as_deref(),
            Some("machine: link scanner: Mimecast")
        );
        assert_eq!(scan.link, "https://x.test/");
        let sent = EventLine::new(&event("email.sent", "{}"), None);
        assert_eq!((sent.verdict, sent.label.as_str()), (None, "Sent"));
        let custom = EventLine::new(&event("signup", r#"{"plan":"pro"}"#), None);
        assert_eq!(
            (custom.class, custom.data.as_str()),
            ("custom", r#"{"plan":"pro"}"#)
        );
    }

    #[test]
    fn rates_have_one_decimal_and_no_division_by_zero() {
        assert_eq!(pct(1, 3), "33.3 %");
        assert_eq!(pct(5, 0), "—");
    }
}
