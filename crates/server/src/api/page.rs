//! Cursor paging shared by every list endpoint: `?limit=&cursor=`, answered with the items and
//! the cursor of the next page (`null` on the last one).

use serde::{Deserialize, Serialize};

use crate::error::ApiError;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

pub const MAX_LIMIT: i64 = 100;

impl PageQuery {
    /// The page size, 1 to 100 (default 50).
    pub fn limit(&self) -> Result<i64, ApiError> {
        match self.limit {
            None => Ok(50),
            Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
            Some(n) => Err(ApiError::bad_request(
                "limit",
                format!("limit must be 1 to {MAX_LIMIT}, not {n}"),
            )),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct Page<T> {
    pub success: bool,
    pub data: Vec<T>,
    #[serde(rename = "nextCursor")]
    pub next_cursor: Option<String>,
}

impl Page<serde_json::Value> {
    /// A page of JSON views, each keyed by its `id` (or by `key`, for views named otherwise).
    pub fn of_views(items: Vec<serde_json::Value>, limit: i64, key: &str) -> Self {
        Page::new(items, limit, |v| {
            v[key].as_str().unwrap_or_default().to_string()
        })
    }
}

impl<T> Page<T> {
    /// `items` were fetched with `limit`; a full page means there may be more after its last id.
    pub fn new(items: Vec<T>, limit: i64, id: impl Fn(&T) -> String) -> Page<T> {
        let next_cursor = if items.len() as i64 == limit {
            items.last().map(id)
        } else {
            None
        };
        Page {
            success: true,
            data: items,
            next_cursor,
        }
    }
}
