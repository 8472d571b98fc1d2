//! Activity rules: `{"activity": "email.clicked", "op": "triggeredWithin", "amount": 7,
//! "unit": "days", "campaignId": …, "templateId": …, "link": "https://…", "humanOnly": true}`.

use serde_json::{Map, Value};

use super::parse::{Activity, Node, Res, kind_of, non_empty_string, only_keys, string, unknown_op};
use crate::error::ApiError;

/// Ten years: a longer window is the same as `triggered`.
const MAX_WINDOW_MS: i64 = 10 * 366 * 24 * 3_600_000;

pub(super) fn activity_rule(obj: &Map<String, Value>, path: &str) -> Res<Node> {
    only_keys(
        obj,
        &[
            "activity",
            "op",
            "amount",
            "unit",
            "campaignId",
            "templateId",
            "humanOnly",
            "link",
        ],
        path,
    )?;
    let activity = string(obj, "activity", path)?;
    let op = string(obj, "op", path)?;
    let (event, email) = match activity {
        "email.opened" => ("email.open".to_string(), true),
        "email.clicked" => ("email.click".to_string(), true),
        "email.sent" => ("email.sent".to_string(), true),
        _ => match activity.strip_prefix("event.") {
            Some(name)
                if !name.trim().is_empty()
                    && name.len() <= 100
                    && !name.chars().any(char::is_control) =>
            {
                (name.to_string(), false)
            }
            _ => {
                return Err(ApiError::invalid(
                    &format!("{path}.activity"),
                    format!(
                        "unknown activity {activity:?}: use email.opened, email.clicked, \
                         email.sent or event.<name>"
                    ),
                ));
            }
        },
    };
    let (negated, windowed) = match op {
        "triggered" => (false, false),
        "notTriggered" => (true, false),
        "triggeredWithin" => (false, true),
        "notTriggeredWithin" => (true, true),
        _ => {
            return Err(unknown_op(
                &format!("{path}.op"),
                op,
                "triggered, notTriggered, triggeredWithin, notTriggeredWithin",
            ));
        }
    };
    let within_ms = if windowed {
        Some(window(obj, path)?)
    } else {
        for key in ["amount", "unit"] {
            if obj.contains_key(key) {
                return Err(ApiError::invalid(
                    &format!("{path}.{key}"),
                    format!("`{key}` belongs to triggeredWithin / notTriggeredWithin, not {op}"),
                ));
            }
        }
        None
    };
    if !email {
        for key in ["campaignId", "templateId", "humanOnly"] {
            if obj.contains_key(key) {
                return Err(ApiError::invalid(
                    &format!("{path}.{key}"),
                    format!("`{key}` applies to email activity only, not to {activity}"),
                ));
            }
        }
    }
    let id = |key: &str| -> Res<Option<String>> {
        match obj.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => non_empty_string(Some(v), &format!("{path}.{key}")).map(|s| Some(s.into())),
        }
    };
    let human_only = match obj.get("humanOnly") {
        None | Some(Value::Null) => true,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            return Err(ApiError::invalid(
                &format!("{path}.humanOnly"),
                "humanOnly is true or false",
            ));
        }
    };
    let link = id("link")?;
    if link.is_some() && event != "email.click" {
        return Err(ApiError::invalid(
            &format!("{path}.link"),
            "`link` applies to email.clicked only",
        ));
    }
    Ok(Node::Activity(Activity {
        event,
        negated,
        within_ms,
        campaign_id: id("campaignId")?,
        template_id: id("templateId")?,
        link,
        // Only opens and clicks carry machine verdicts; other events are always human.
        human_only: email && human_only,
        path: path.to_string(),
    }))
}

fn window(obj: &Map<String, Value>, path: &str) -> Res<i64> {
    let amount_path = format!("{path}.amount");
    let amount = match obj.get("amount") {
        Some(Value::Number(n)) => n.as_i64().filter(|n| *n >= 1).ok_or_else(|| {
            ApiError::invalid(
                &amount_path,
                format!("amount must be a whole number ≥ 1, not {n}"),
            )
        })?,
        None => {
            return Err(ApiError::invalid(
                &amount_path,
                "triggeredWithin / notTriggeredWithin need an amount (a whole number ≥ 1)",
            ));
        }
        Some(other) => {
            return Err(ApiError::invalid(
                &amount_path,
                format!("amount must be a number, not {}", kind_of(other)),
            ));
        }
    };
    let unit_path = format!("{path}.unit");
    let unit_ms = match obj.get("unit").and_then(Value::as_str) {
        Some("minutes") => 60_000,
        Some("hours") => 3_600_000,
        Some("days") => 86_400_000,
        Some(other) => {
            return Err(ApiError::invalid(
                &unit_path,
                format!("unknown unit {other:?}: use minutes, hours or days"),
            ));
        }
        None => {
            return Err(ApiError::invalid(
                &unit_path,
                "give a unit: minutes, hours or days",
            ));
        }
    };
    amount
        .checked_mul(unit_ms)
        .filter(|ms| *ms <= MAX_WINDOW_MS)
        .ok_or_else(|| ApiError::invalid(&amount_path, "the window is over ten years"))
}
