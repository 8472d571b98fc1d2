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
