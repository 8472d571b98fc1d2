//! The segment builder's form: up to five rules (a contact field, or opened / clicked / was sent
//! / a custom event, within a period, people only or all hits, for a campaign or a link), joined
//! by "all" or "any" — or, for conditions the rows cannot hold, the condition as JSON. Either
//! way the result is the JSON condition `/v1/segments` takes, checked by the same rules.

use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::error::ApiError;

pub const ROWS: usize = 5;

/// One rule as typed.
#[derive(Debug, Default, Clone)]
pub struct Row {
    /// `field`, `opened`, `clicked`, `sent`, `event`, or empty (no rule).
    pub kind: String,
    /// The field (`subscribed`, `email`, `data.plan`) or the custom event's name.
    pub name: String,
    pub op: String,
    pub value: String,
    pub days: String,
    pub campaign: String,
    pub link: String,
    pub all_hits: bool,
}

/// The form as posted: `match`, `json`, and `r0_kind` … `r4_all_hits`.
#[derive(Debug, Default, Clone)]
pub struct SegmentForm {
    pub name: String,
    /// `all` or `any`.
    pub join: String,
    pub rows: Vec<Row>,
    pub json: String,
}

impl<'de> Deserialize<'de> for SegmentForm {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let pairs: Vec<(String, String)> = Vec::deserialize(d)?;
        let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        let rows = (0..ROWS)
            .map(|i| {
                let f = |k: &str| get(&format!("r{i}_{k}")).unwrap_or_default();
                Row {
                    kind: f("kind"),
                    name: f("name"),
                    op: f("op"),
                    value: f("value"),
                    days: f("days"),
                    campaign: f("campaign"),
                    link: f("link"),
                    all_hits: get(&format!("r{i}_all_hits")).is_some(),
                }
            })
            .collect();
        Ok(SegmentForm {
            name: get("name").unwrap_or_default(),
            join: get("match").unwrap_or_else(|| "all".into()),
            rows,
            json: get("json").unwrap_or_default(),
        })
    }
}

/// A typed value: a number or true/false when it reads as one, else the text.
fn scalar(raw: &str) -> Value {
    match serde_json::from_str::<Value>(raw.trim()) {
        Ok(v @ (Value::Number(_) | Value::Bool(_))) => v,
        _ => Value::String(raw.trim().to_string()),
    }
}

impl Row {
    fn is_empty(&self) -> bool {
        self.kind.is_empty()
    }

    /// The rule's JSON; `i` names the row in errors (`rows[i]`).
    fn rule(&self, i: usize) -> Result<Value, ApiError> {
        if self.kind == "field" {
            let mut rule = json!({ "field": self.name.trim(), "op": self.op });
            if !matches!(self.op.as_str(), "exists" | "notExists") {
                rule["value"] = scalar(&self.value);
            }
            return Ok(rule);
        }
        let activity = match self.kind.as_str() {
            "opened" => "email.opened".to_string(),
            "clicked" => "email.clicked".to_string(),
            "sent" => "email.sent".to_string(),
            "event" => format!("event.{}", self.name.trim()),
            other => {
                return Err(ApiError::invalid(
                    &format!("rows[{i}]"),
                    format!("{other:?} is not a kind of rule"),
                ));
            }
        };
        let mut rule = Map::new();
        rule.insert("activity".into(), json!(activity));
        rule.insert("op".into(), json!(self.op));
        if self.op.ends_with("Within") {
            let days: i64 = self.days.trim().parse().map_err(|_| {
                ApiError::invalid(
                    &format!("rows[{i}]"),
                    "give the number of days, a whole number ≥ 1",
                )
            })?;
            rule.insert("amount".into(), json!(days));
            rule.insert("unit".into(), json!("days"));
        }
        if self.kind != "event" {
            if !self.campaign.is_empty() {
                rule.insert("campaignId".into(), json!(self.campaign));
            }
            if self.kind == "clicked" && !self.link.trim().is_empty() {
                rule.insert("link".into(), json!(self.link.trim()));
            }
            rule.insert("humanOnly".into(), json!(!self.all_hits));
        }
        Ok(Value::Object(rule))
    }

    /// The row for a simple rule, if it is one.
    fn of(rule: &Value) -> Option<Row> {
        let o = rule.as_object()?;
        let text = |k: &str| o.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        if let Some(field) = o.get("field").and_then(Value::as_str) {
            let value = match o.get("value") {
                Some(Value::String(s)) => s.clone(),
                Some(v) => v.to_string(),
                None => String::new(),
            };
            return Some(Row {
                kind: "field".into(),
                name: field.into(),
                op: text("op"),
                value,
                ..Row::default()
            });
        }
        let activity = o.get("activity").and_then(Value::as_str)?;
        let (kind, name) = match activity {
            "email.opened" => ("opened", String::new()),
            "email.clicked" => ("clicked", String::new()),
            "email.sent" => ("sent", String::new()),
            a => ("event", a.strip_prefix("event.")?.to_string()),
        };
        let unit_days = match o.get("unit").and_then(Value::as_str) {
            None => true,
            Some(u) => u == "days",
        };
        if !unit_days || o.contains_key("templateId") {
            return None;
        }
        Some(Row {
            kind: kind.into(),
            name,
            op: text("op"),
            days: o.get("amount").map(|v| v.to_string()).unwrap_or_default(),
            campaign: text("campaignId"),
            link: text("link"),
            all_hits: o.get("humanOnly") == Some(&Value::Bool(false)),
            value: String::new(),
        })
    }
}

impl SegmentForm {
    /// The condition the form describes: the JSON when given, else the rows.
    pub fn condition(&self) -> Result<Value, ApiError> {
        if !self.json.trim().is_empty() {
            return serde_json::from_str(&self.json)
                .map_err(|e| ApiError::invalid("json", format!("the condition is not JSON: {e}")));
        }
        let rules = self
            .rows
            .iter()
            .enumerate()
            .filter(|(_, r)| !r.is_empty())
            .map(|(i, r)| r.rule(i))
            .collect::<Result<Vec<_>, _>>()?;
        if rules.is_empty() {
            return Err(ApiError::invalid("rows[0]", "give at least one rule"));
        }
        let join = if self.join == "any" { "any" } else { "all" };
        Ok(json!({ join: rules }))
    }

    /// The form for a stored condition: rows when it is one group of simple rules (or one rule),
    /// else its JSON.
    pub fn of(name: &str, condition: &Value) -> SegmentForm {
        let (join, items) = match condition.as_object() {
            Some(o) if o.len() == 1 && (o.contains_key("all") || o.contains_key("any")) => {
                let join = if o.contains_key("any") { "any" } else { "all" };
                (
                    join,
                    o.values()
                        .next()
                        .and_then(Value::as_array)
                        .cloned()
                        .unwrap_or_default(),
                )
            }
            _ => ("all", vec![condition.clone()]),
        };
        let rows: Option<Vec<Row>> = items.iter().map(Row::of).collect();
        match rows {
            Some(mut rows) if rows.len() <= ROWS => {
                rows.resize(ROWS, Row::default());
                SegmentForm {
                    name: name.into(),
                    join: join.into(),
                    rows,
                    json: String::new(),
                }
            }
            _ => SegmentForm {
                name: name.into(),
                join: "all".into(),
                rows: vec![Row::default(); ROWS],
                json: serde_json::to_string_pretty(condition).unwrap_or_default(),
            },
        }
    }

    /// A blank form.
    pub fn blank() -> SegmentForm {
        SegmentForm {
            join: "all".into(),
            rows: vec![Row::default(); ROWS],
            ..SegmentForm::default()
        }
    }
}

/// Where an error of the condition goes on the form: `condition.all[1].op` → `rows[1]` when
/// the rows made it, else the JSON field.
pub fn error_field(field: &str, from_rows: bool) -> String {
    if field == "name" || field.starts_with("rows[") || field == "json" {
        return field.to_string();
    }
    if from_rows
        && let Some(rest) = field
            .strip_prefix("condition.")
            .and_then(|f| f.split_once('['))
        && let Some((i, _)) = rest.1.split_once(']')
    {
        return format!("rows[{i}]");
    }
    if from_rows {
        "rows[0]".into()
    } else {
        "json".into()
    }
}

#[cfg(test)]
mod tests {
    use super::{Row, SegmentForm, error_field};
    use serde_json::json;

    #[test]
    fn rows_make_the_apis_condition_and_back() {
        let mut form = SegmentForm::blank();
        form.rows[0] = Row {
            kind: "field".into(),
            name: "data.plan".into(),
            op: "equals".into(),
            value: "pro".into(),
            ..Row::default()
        };
        form.rows[2] = Row {
            kind: "clicked".into(),
            op: "triggeredWithin".into(),
            days: "7".into(),
            campaign: "c1".into(),
            link: "https://x.test/a".into(),
            ..Row::default()
        };
        let cond = form.condition().unwrap();
        assert_eq!(
            cond,
            json!({"all": [
                {"field": "data.plan", "op": "equals", "value": "pro"},
                {"activity": "email.clicked", "op": "triggeredWithin", "amount": 7, "unit": "days",
                 "campaignId": "c1", "link": "https://x.test/a", "humanOnly": true}
            ]})
        );
        let back = SegmentForm::of("s", &cond);
        assert!(back.json.is_empty());
        assert_eq!(back.condition().unwrap(), cond);
        // What the rows cannot hold stays JSON.
        let nested =
            json!({"any": [{"all": [{"field": "subscribed", "op": "equals", "value": true}]}]});
        assert!(!SegmentForm::of("s", &nested).json.is_empty());
        assert_eq!(error_field("condition.all[1].op", true), "rows[1]");
        assert_eq!(error_field("condition.any[0]", false), "json");
    }
}
