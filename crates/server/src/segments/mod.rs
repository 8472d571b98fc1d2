//! Segments: a condition tree over contact fields and activity, compiled to portable SQL.
//!
//! Campaigns (audience) and workflows (CONDITION steps) call [`Condition::parse`] (then
//! [`Condition::check_refs`] before storing one), and [`contacts_page`], [`count`], [`matches`].
//! The JSON grammar is in docs/API.md ("Segments"); [`parse`] holds it in code.

mod activity;
mod parse;
mod sql;

use serde_json::Value;
use sqlx::AssertSqlSafe;

use crate::error::ApiError;
use crate::store::contacts::{COLUMNS, Contact};
use crate::store::{Backend, Db, now_ms};
use parse::Node;
use sql::{Arg, Compiled, Shape};

pub use parse::{MAX_DEPTH, MAX_RULES};

/// A parsed, validated condition (`{"all": [...]}`, `{"any": [...]}` or a single rule).
#[derive(Debug, Clone)]
pub struct Condition {
    node: Node,
    raw: Value,
}

impl Condition {
    /// Parses and validates a condition; the error is a 422 naming the problem and its path
    /// (rooted at `condition`).
    pub fn parse(value: &Value) -> Result<Condition, ApiError> {
        Condition::parse_at(value, "condition")
    }

    /// As [`Condition::parse`], with error paths rooted at `root` (e.g. `audience`).
    pub fn parse_at(value: &Value, root: &str) -> Result<Condition, ApiError> {
        Ok(Condition {
            node: parse::parse(value, root)?,
            raw: value.clone(),
        })
    }

    /// The condition as it was given (what the API stores and shows).
    pub fn json(&self) -> &Value {
        &self.raw
    }

    /// Checks that every `campaignId` / `templateId` is one of the project's own (422 when not),
    /// so a segment can never be scoped to another project's activity. Run before storing.
    pub async fn check_refs(&self, db: &Db, project_id: &str) -> Result<(), ApiError> {
        let mut refs = Vec::new();
        collect_refs(&self.node, &mut refs);
        for (table, field, id) in refs {
            let sql = format!("SELECT COUNT(*) FROM {table} WHERE project_id = $1 AND id = $2");
            let n: i64 = sqlx::query_scalar(AssertSqlSafe(sql))
                .bind(project_id)
                .bind(id)
                .fetch_one(&db.read)
                .await?;
            if n == 0 {
                let what = if table == "campaigns" {
                    "campaign"
                } else {
                    "template"
                };
                return Err(ApiError::invalid(
                    &field,
                    format!("no {what} with id {id:?} in this project"),
                ));
            }
        }
        Ok(())
    }
}

/// The stored segment's condition; `None` when the project has no segment with that id.
pub async fn load(
    db: &Db,
    project_id: &str,
    segment_id: &str,
) -> Result<Option<Condition>, sqlx::Error> {
    let Some(segment) = crate::store::segments::get(db, project_id, segment_id).await? else {
        return Ok(None);
    };
    stored(&segment).map(Some)
}

/// A stored condition was validated on the way in; failing now means the grammar changed
/// under it, which is a server fault, not the caller's.
pub fn stored(segment: &crate::store::segments::Segment) -> Result<Condition, sqlx::Error> {
    let raw: Value =
        serde_json::from_str(&segment.condition).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
    Condition::parse(&raw).map_err(|e| {
        sqlx::Error::Decode(format!("segment {}: stored condition: {e}", segment.id).into())
    })
}

/// (table, JSON path, id) of every scoped activity rule.
fn collect_refs<'a>(node: &'a Node, out: &mut Vec<(&'static str, String, &'a str)>) {
    match node {
        Node::All(items) | Node::Any(items) => {
            for n in items {
                collect_refs(n, out);
            }
        }
        Node::Activity(a) => {
            if let Some(id) = &a.campaign_id {
                out.push(("campaigns", format!("{}.campaignId", a.path), id));
            }
            if let Some(id) = &a.template_id {
                out.push(("templates", format!("{}.templateId", a.path), id));
            }
        }
        _ => {}
    }
}

/// Binds the compiled arguments in order (`$1` is the project id).
macro_rules! bind_args {
    ($query:expr, $args:expr) => {{
        let mut q = $query;
        for arg in $args {
            q = match arg {
                Arg::Text(s) => q.bind(s),
                Arg::Int(n) => q.bind(n),
                Arg::Float(f) => q.bind(f),
            };
        }
        q
    }};
}

/// Contacts of the project matching `cond`, in id order after `after`, at most `limit`.
pub async fn contacts_page(
    db: &Db,
    project_id: &str,
    cond: &Condition,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<Contact>, sqlx::Error> {
    // A page walks contacts in id order and stops at `limit` matches: probing each visited
    // contact's events beats building the whole project's set for every page.
    let mut c = Compiled::new(db.backend, Shape::Correlated, project_id, now_ms());
    let predicate = c.predicate(&cond.node);
    let after_p = c.bind_arg(Arg::Text(after.unwrap_or("").to_string()));
    let limit_p = c.bind_arg(Arg::Int(limit));
    let columns = COLUMNS
        .split(", ")
        .map(|col| format!("c.{col}"))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "SELECT {columns} FROM contacts c WHERE c.project_id = $1 AND c.id > {after_p} \
         AND ({predicate}) ORDER BY c.id LIMIT {limit_p}"
    );
    bind_args!(sqlx::query_as(AssertSqlSafe(sql)), c.args)
        .fetch_all(&db.read)
        .await
}

/// How many contacts of the project match `cond`.
pub async fn count(db: &Db, project_id: &str, cond: &Condition) -> Result<i64, sqlx::Error> {
    let shape = match db.backend {
        Backend::Sqlite => Shape::Set,
        Backend::Postgres => Shape::Correlated,
    };
    let mut c = Compiled::new(db.backend, shape, project_id, now_ms());
    let predicate = c.predicate(&cond.node);
    let sql = format!(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM contacts c WHERE c.project_id = $1 AND ({predicate})"
    );
    bind_args!(sqlx::query_scalar(AssertSqlSafe(sql)), c.args)
        .fetch_one(&db.read)
        .await
}

/// Whether one contact matches `cond` now.
pub async fn matches(
    db: &Db,
    project_id: &str,
    contact_id: &str,
    cond: &Condition,
) -> Result<bool, sqlx::Error> {
    let mut c = Compiled::new(db.backend, Shape::Correlated, project_id, now_ms());
    let predicate = c.predicate(&cond.node);
    let id_p = c.bind_arg(Arg::Text(contact_id.to_string()));
    let sql = format!(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM contacts c WHERE c.project_id = $1 \
         AND c.id = {id_p} AND ({predicate})"
    );
    let n: i64 = bind_args!(sqlx::query_scalar(AssertSqlSafe(sql)), c.args)
        .fetch_one(&db.read)
        .await?;
    Ok(n > 0)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn err(v: Value) -> (String, String) {
        match Condition::parse(&v).unwrap_err() {
            ApiError::Unprocessable { message, field } => (field.unwrap_or_default(), message),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn errors_name_the_path() {
        let (f, m) = err(
            json!({"all": [{"field": "subscribed", "op": "equals", "value": true},
            {"activity": "email.clicked", "op": "triggeredWithin", "amount": 7, "unit": "weeks"}]}),
        );
        assert_eq!(f, "condition.all[1].unit");
        assert!(m.contains("weeks"), "{m}");
        let (f, _) = err(json!({"any": []}));
        assert_eq!(f, "condition.any");
        let (f, _) = err(json!({"field": "nope", "op": "equals", "value": 1}));
        assert_eq!(f, "condition.field");
        let (f, _) = err(json!({"field": "data.a b", "op": "exists"}));
        assert_eq!(f, "condition.field");
    }

    #[test]
    fn depth_is_bounded() {
        let mut v = json!({"field": "subscribed", "op": "equals", "value": true});
        for _ in 0..MAX_DEPTH {
            v = json!({ "all": [v] });
        }
        assert!(Condition::parse(&v).is_ok());
        let (_, m) = err(json!({ "any": [v] }));
        assert!(m.contains("deep"), "{m}");
    }

    #[test]
    fn user_values_are_bound_never_written_into_sql() {
        let cond = Condition::parse(&json!({"all": [
            {"field": "data.plan", "op": "equals", "value": "x' OR 1=1 --"},
            {"field": "email", "op": "contains", "value": "'; DROP TABLE contacts"},
            {"activity": "event.o'clock", "op": "triggered"}
        ]}))
        .unwrap();
        for backend in [Backend::Sqlite, Backend::Postgres] {
            for shape in [Shape::Set, Shape::Correlated] {
                let mut c = Compiled::new(backend, shape, "p", 0);
                let sql = c.predicate(&cond.node);
                assert!(!sql.contains("OR 1=1") && !sql.contains("DROP") && !sql.contains("o'c"));
                assert_eq!(c.args.len(), 4);
            }
        }
    }
}
