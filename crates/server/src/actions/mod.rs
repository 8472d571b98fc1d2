//! What an action means, once, below every way in: the HTTP API (`api/`), the dashboard
//! (`web/`) and the CLI call these functions and differ only in how they read input and show
//! the outcome. Errors are [`ApiError`](crate::error::ApiError)s: a 4xx names the field that is
//! wrong, which the API answers as JSON and the dashboard shows next to that field.

pub mod accounts;
pub mod campaigns;
pub mod contacts;
pub mod domains;
pub mod project;
pub mod segments;
pub mod team;
pub mod templates;
pub mod workflows;

use crate::error::{ApiError, ApiResult};

/// The one rule for what people name things (projects, templates, campaigns, segments,
/// workflows): trimmed, 1 to 200 characters, no control characters (a name is shown in lists,
/// headers of pages and CSV files). Returns the trimmed name.
pub fn check_name(raw: &str) -> ApiResult<String> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(ApiError::invalid(
            "name",
            "the name is empty: give 1 to 200 characters",
        ));
    }
    let long = name.chars().count();
    if long > 200 {
        return Err(ApiError::invalid(
            "name",
            format!("the name is {long} characters long: give 1 to 200 characters"),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(ApiError::invalid(
            "name",
            "the name must not contain control characters (line breaks, tabs, NUL)",
        ));
    }
    Ok(name.to_string())
}
