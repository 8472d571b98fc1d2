//! A workflow's definition as the API takes it: a trigger and a graph of steps linked by ids.
//! Everything is checked here, once, at create/patch time; the engine then trusts it (a step an
//! execution points at may still vanish through a PATCH, which the engine reports).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::ApiError;
use crate::segments::Condition;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Definition {
    pub trigger: Trigger,
    /// The first step; `steps[0]` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Trigger {
    pub event: String,
    #[serde(default)]
    pub filter: Filter,
}

/// Narrows which events count: all given parts must match. Only `email.*` events carry a
/// campaign, template, link or tag; `humanOnly` drops hits judged to come from a machine.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Filter {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campaign: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub human_only: Option<bool>,
}

/// The columns of an event a filter looks at.
#[derive(Debug, Clone, Default)]
pub struct EventFacts<'a> {
    pub campaign_id: Option<&'a str>,
    pub template_id: Option<&'a str>,
    pub link_url: Option<&'a str>,
    pub link_tag: Option<&'a str>,
    pub machine: Option<&'a str>,
}

impl Filter {
    pub fn matches(&self, e: &EventFacts<'_>) -> bool {
        fn same(want: &Option<String>, got: Option<&str>) -> bool {
            want.as_deref().is_none_or(|w| got == Some(w))
        }
        same(&self.campaign, e.campaign_id)
            && same(&self.template, e.template_id)
            && same(&self.link_url, e.link_url)
            && same(&self.tag, e.link_tag)
            && (!self.human_only.unwrap_or(true) || e.machine.is_none())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Unit {
    Seconds,
    Minutes,
    Hours,
    Days,
    Weeks,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Span {
    pub amount: u64,
    pub unit: Unit,
}

/// The longest DELAY or WAIT_FOR_EVENT timeout accepted.
const MAX_SPAN_MS: u64 = 366 * 24 * 3600 * 1000;

impl Span {
    fn raw_millis(&self) -> u64 {
        let unit: u64 = match self.unit {
            Unit::Seconds => 1000,
            Unit::Minutes => 60_000,
            Unit::Hours => 3_600_000,
            Unit::Days => 86_400_000,
            Unit::Weeks => 604_800_000,
        };
        self.amount.saturating_mul(unit)
    }

    pub fn millis(&self) -> i64 {
        self.raw_millis().min(MAX_SPAN_MS) as i64
    }

    fn check(&self, field: &str) -> Result<(), ApiError> {
        if self.amount == 0 || self.raw_millis() > MAX_SPAN_MS {
            return Err(ApiError::invalid(
                field,
                format!("{field}: give an amount above 0 and at most 366 days"),
            ));
        }
        Ok(())
    }
}

/// One step. `next` (and `yes`/`no`, `onTimeout`) name another step's id; absent or null
/// ends the execution there (COMPLETED).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "SCREAMING_SNAKE_CASE", deny_unknown_fields)]
pub enum Step {
    SendEmail {
        id: String,
        template: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        next: Option<String>,
    },
    Delay {
        id: String,
        amount: u64,
        unit: Unit,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        next: Option<String>,
    },
    WaitForEvent {
        id: String,
        event: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        filter: Option<Filter>,
        timeout: Span,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        next: Option<String>,
        #[serde(default, rename = "onTimeout", skip_serializing_if = "Option::is_none")]
        on_timeout: Option<String>,
    },
    Condition {
        id: String,
        rule: Value,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        yes: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        no: Option<String>,
    },
    UpdateContact {
        id: String,
        #[serde(default)]
        data: Map<String, Value>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        subscribed: Option<bool>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        next: Option<String>,
    },
    Webhook {
        id: String,
        url: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        next: Option<String>,
    },
    Exit {
        id: String,
    },
}

impl Step {
    pub fn id(&self) -> &str {
        match self {
            Step::SendEmail { id, .. }
            | Step::Delay { id, .. }
            | Step::WaitForEvent { id, .. }
            | Step::Condition { id, .. }
            | Step::UpdateContact { id, .. }
            | Step::Webhook { id, .. }
            | Step::Exit { id } => id,
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Step::SendEmail { .. } => "SEND_EMAIL",
            Step::Delay { .. } => "DELAY",
            Step::WaitForEvent { .. } => "WAIT_FOR_EVENT",
            Step::Condition { .. } => "CONDITION",
            Step::UpdateContact { .. } => "UPDATE_CONTACT",
            Step::Webhook { .. } => "WEBHOOK",
            Step::Exit { .. } => "EXIT",
        }
    }

    /// The step's outgoing pointers with their field names.
    pub fn pointers(&self) -> Vec<(&'static str, &str)> {
        let named: [(&'static str, Option<&String>); 2] = match self {
            Step::SendEmail { next, .. }
            | Step::Delay { next, .. }
            | Step::UpdateContact { next, .. }
            | Step::Webhook { next, .. } => [("next", next.as_ref()), ("", None)],
            Step::WaitForEvent {
                next, on_timeout, ..
            } => [("next", next.as_ref()), ("onTimeout", on_timeout.as_ref())],
            Step::Condition { yes, no, .. } => [("yes", yes.as_ref()), ("no", no.as_ref())],
            Step::Exit { .. } => [("", None), ("", None)],
        };
        named
            .into_iter()
            .filter_map(|(name, p)| p.map(|p| (name, p.as_str())))
            .collect()
    }
}

impl Definition {
    pub fn start_id(&self) -> &str {
        self.start
            .as_deref()
            .unwrap_or_else(|| self.steps.first().map_or("", Step::id))
    }

    pub fn step(&self, id: &str) -> Option<&Step> {
        self.steps.iter().find(|s| s.id() == id)
    }

    /// Template ids used by SEND_EMAIL steps, with the step's index.
    pub fn templates(&self) -> Vec<(usize, &str)> {
        self.steps
            .iter()
            .enumerate()
            .filter_map(|(i, s)| match s {
                Step::SendEmail { template, .. } => Some((i, template.as_str())),
                _ => None,
            })
            .collect()
    }

    /// Everything that can be checked without the database (templates are checked by the
    /// caller): names, amounts, rules, URLs, and that the steps form a graph without dangling
    /// pointers, unreachable steps or cycles.
    pub fn check(&self) -> Result<(), ApiError> {
        check_event_name("trigger.event", &self.trigger.event)?;
        if self.steps.is_empty() || self.steps.len() > 200 {
            return Err(ApiError::invalid("steps", "give 1 to 200 steps"));
        }
        let mut index: HashMap<&str, usize> = HashMap::new();
        for (i, step) in self.steps.iter().enumerate() {
            let field = format!("steps[{i}]");
            let id = step.id();
            if id.trim().is_empty() || id.len() > 64 || id.chars().any(char::is_control) {
                return Err(ApiError::invalid(
                    &format!("{field}.id"),
                    format!("{field}.id must be 1 to 64 printable characters"),
                ));
            }
            if index.insert(id, i).is_some() {
                return Err(ApiError::invalid(
                    &format!("{field}.id"),
                    format!("{field}.id: two steps have the id {id:?}; ids must be unique"),
                ));
            }
            check_step(step, &field)?;
        }
        if let Some(start) = self
            .start
            .as_ref()
            .filter(|s| !index.contains_key(s.as_str()))
        {
            return Err(ApiError::invalid(
                "start",
                format!("start: {start:?} points to no step"),
            ));
        }
        for (i, step) in self.steps.iter().enumerate() {
            for (name, target) in step.pointers() {
                if !index.contains_key(target) {
                    let field = format!("steps[{i}].{name}");
                    return Err(ApiError::invalid(
                        &field,
                        format!(
                            "{field}: step {:?} points to {target:?}, which is no step's id",
                            step.id()
                        ),
                    ));
                }
            }
        }
        self.check_graph(&index)
    }

    /// Refuses every cycle (even through a DELAY or a WAIT: a loop would run forever) and
    /// steps the start can never reach.
    fn check_graph(&self, index: &HashMap<&str, usize>) -> Result<(), ApiError> {
        // Iterative depth-first search; `path` holds the grey steps in order.
        #[derive(Clone, Copy, PartialEq)]
        enum Mark {
            White,
            Grey,
            Black,
        }
        let mut mark = vec![Mark::White; self.steps.len()];
        let start = index[self.start_id()];
        let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
        let mut path: Vec<usize> = vec![start];
        mark[start] = Mark::Grey;
        while let Some((node, edge)) = stack.pop() {
            let pointers = self.steps[node].pointers();
            if edge < pointers.len() {
                stack.push((node, edge + 1));
                let next = index[pointers[edge].1];
                match mark[next] {
                    Mark::Grey => {
                        let from = path.iter().position(|&n| n == next).unwrap_or(0);
                        let mut ids: Vec<&str> =
                            path[from..].iter().map(|&n| self.steps[n].id()).collect();
                        ids.push(self.steps[next].id());
                        return Err(ApiError::invalid(
                            "steps",
                            format!(
                                "steps form a cycle: {}; workflows may not loop (not even through a DELAY or WAIT_FOR_EVENT)",
                                ids.join(" → ")
                            ),
                        ));
                    }
                    Mark::White => {
                        mark[next] = Mark::Grey;
                        path.push(next);
                        stack.push((next, 0));
                    }
                    Mark::Black => {}
                }
            } else {
                mark[node] = Mark::Black;
                path.pop();
            }
        }
        if let Some(i) = mark.iter().position(|m| *m == Mark::White) {
            return Err(ApiError::invalid(
                &format!("steps[{i}]"),
                format!(
                    "steps[{i}]: step {:?} cannot be reached from the start {:?}",
                    self.steps[i].id(),
                    self.start_id()
                ),
            ));
        }
        Ok(())
    }
}

pub fn check_event_name(field: &str, name: &str) -> Result<(), ApiError> {
    if name.trim().is_empty() || name.len() > 100 || name.chars().any(char::is_control) {
        return Err(ApiError::invalid(
            field,
            format!("{field} must be an event name of 1 to 100 printable characters"),
        ));
    }
    Ok(())
}

fn check_step(step: &Step, field: &str) -> Result<(), ApiError> {
    match step {
        Step::Delay { amount, unit, .. } => Span {
            amount: *amount,
            unit: *unit,
        }
        .check(&format!("{field}.amount")),
        Step::WaitForEvent { event, timeout, .. } => {
            check_event_name(&format!("{field}.event"), event)?;
            timeout.check(&format!("{field}.timeout"))
        }
        Step::Condition { rule, .. } => Condition::parse(rule)
            .map(|_| ())
            .map_err(|e| prefix(e, &format!("{field}.rule"))),
        Step::UpdateContact {
            data, subscribed, ..
        } => {
            if data.is_empty() && subscribed.is_none() {
                return Err(ApiError::invalid(
                    field,
                    format!("{field}: UPDATE_CONTACT needs `data` and/or `subscribed`"),
                ));
            }
            Ok(())
        }
        Step::Webhook { url, .. } => super::webhook::check_url(url)
            .map(|_| ())
            .map_err(|m| ApiError::invalid(&format!("{field}.url"), format!("{field}.url: {m}"))),
        Step::SendEmail { .. } | Step::Exit { .. } => Ok(()),
    }
}

/// Puts where-in-the-workflow in front of an error raised about a nested value.
fn prefix(err: ApiError, at: &str) -> ApiError {
    match err {
        ApiError::Unprocessable { message, field } | ApiError::BadRequest { message, field } => {
            let field = match field {
                Some(f) if !f.is_empty() => format!("{at}.{f}"),
                _ => at.to_string(),
            };
            ApiError::Unprocessable {
                message: format!("{at}: {message}"),
                field: Some(field),
            }
        }
        other => other,
    }
}
