//! Segments: a condition tree over contact fields and activity, compiled to portable SQL.
//!
//! INTERFACE STUB — owned by the segments work; the signatures below are what campaigns
//! (audience) and workflows (CONDITION steps) call. Bodies are placeholders until it lands.

use serde_json::Value;

use crate::error::ApiError;
use crate::store::Db;
use crate::store::contacts::Contact;

/// A parsed, validated condition (`{"all": [...]}`, `{"any": [...]}` or a single rule).
#[derive(Debug, Clone)]
pub struct Condition {
    _raw: Value,
}

impl Condition {
    /// Parses and validates a condition; the error is a 422 naming the problem and its path.
    pub fn parse(value: &Value) -> Result<Condition, ApiError> {
        Ok(Condition {
            _raw: value.clone(),
        })
    }
}

/// Contacts of the project matching `cond`, in id order after `after`, at most `limit`.
pub async fn contacts_page(
    _db: &Db,
    _project_id: &str,
    _cond: &Condition,
    _after: Option<&str>,
    _limit: i64,
) -> Result<Vec<Contact>, sqlx::Error> {
    Ok(Vec::new())
}

/// How many contacts of the project match `cond`.
pub async fn count(_db: &Db, _project_id: &str, _cond: &Condition) -> Result<i64, sqlx::Error> {
    Ok(0)
}

/// Whether one contact matches `cond` now.
pub async fn matches(
    _db: &Db,
    _project_id: &str,
    _contact_id: &str,
    _cond: &Condition,
) -> Result<bool, sqlx::Error> {
    Ok(false)
}

/// The condition of a project's segment, `None` when there is no such segment. (Used by
/// campaigns for a `{"segmentId": …}` audience; keep this signature.)
pub async fn load(
    _db: &Db,
    _project_id: &str,
    _segment_id: &str,
) -> Result<Option<Condition>, sqlx::Error> {
    Ok(None)
}
