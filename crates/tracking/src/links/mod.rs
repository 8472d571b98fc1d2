//! What a tracked link leads to: the destination a browser would have navigated to
//! ([`destination`]), the campaign parameters added to it ([`UtmSet`]), and the links of a
//! plain-text part ([`find_urls`]).
//!
//! These are pure text rules; the rewriter (`crate::rewrite`) applies them to each link it
//! seals, and the redirect (`crate::redirect`) answers with their result.

mod normalize;
mod text;
mod utm;

pub(crate) use normalize::absolute_http;
pub use normalize::destination;
pub use text::find_urls;
pub use utm::{UtmError, UtmSet};
