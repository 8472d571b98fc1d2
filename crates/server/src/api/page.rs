//! Cursor paging shared by every list endpoint: `?limit=&cursor=`, answered with the items and
//! the cursor of the next page (`null` on the last one).

use serde::{Deserialize, Serialize};

use crate::error::ApiError;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Items per page, 1 to 100 (default 50).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// The `nextCursor` of the previous page.
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

/// One page of a list, oldest or newest first as the endpoint says.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    /// Always `true`.
    pub success: bool,
    pub data: Vec<T>,
    /// Pass as `cursor` for the next page; `null` on the last one.
    #[serde(rename = "nextCursor")]
    pub next_cursor: Option<String>,
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
