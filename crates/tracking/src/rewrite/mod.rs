//! HTML rewriting: every tracked link through the click redirect, Outlook VML buttons too, and
//! the open pixel before the last `</body>`.
//!
//! Three entry points, all giving the same bytes for the same input:
//! - [`rewrite_html`]: one email, one buffer.
//! - [`Rewriter`]: one email, fed in chunks.
//! - [`CompiledTemplate`]: parse a template once, then [`CompiledTemplate::render`] per
//!   recipient (variables + tokens only) — the path for campaigns.
//!
//! What is rewritten: the `href` of `<a>` and `<area>` when its entity-decoded value is an
//! absolute `http://` or `https://` URL (or protocol-relative `//host/…`, taken as `https:`)
//! that parses as a URL, and the `href` of tags inside `<!--[if mso]>…<![endif]-->`
//! comments (VML `<v:roundrect href>` buttons and Outlook-only links), which get the same click
//! URL as the HTML twin that follows or precedes them. What is left exactly as written: every
//! other scheme (`mailto:`, `tel:`, `sms:`, `javascript:`…), fragments, relative and empty URLs,
//! links marked `data-beacon-notrack`, `clicktracking="off"` or `ses:no-track` (the marker is
//! removed), the never-tracked prefixes of [`RewriteConfig`] and our own tracking URLs.
//!
//! `data-beacon-tag="name"` is carried into the click token as the link's tag and removed.
//! Link indexes count tracked links in document order from 0 (twins share one).
//!
//! Each tracked link's destination is the URL a browser would have navigated to
//! ([`crate::links::destination`]), with the config's campaign parameters added; it is sealed
//! into the click token, or — when that would make the `href` longer than the config's
//! `max_href` — its start is stored ([`Rewritten::stored`]) and the token carries the start's
//! id and the rest of the URL.
//!
//! The text part is rewritten only on request, with [`rewrite_text`] after the HTML part.

mod config;
pub(crate) mod link;
mod scan;
mod stream;
mod tag;
mod template;
mod text;

pub use config::{ConfigError, RewriteConfig, RewriteConfigBuilder};
pub use stream::{Rewriter, rewrite_html};
pub use template::CompiledTemplate;
pub use text::rewrite_text;

use crate::token::DestinationId;

/// A tracked link of one email.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LinkInfo {
    /// Position among the email's tracked links, from 0.
    pub index: u32,
    /// The destination: the `href` entity-decoded and normalised, with campaign parameters —
    /// the `Location` its click answers.
    pub url: String,
    /// The link's `data-beacon-tag`, decoded.
    pub tag: Option<String>,
}

/// The result of rewriting one email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rewritten {
    /// The rewritten HTML.
    pub html: String,
    /// The tracked links, by index.
    pub links: Vec<LinkInfo>,
    /// Destinations to store before the email goes out: their click tokens carry only the id.
    pub stored: Vec<StoredDestination>,
    /// Normalised destinations of the http(s) links left as written (opted out or never
    /// tracked): [`rewrite_text`] leaves them alone in the text part too.
    pub opted_out: Vec<String>,
}

/// The start of a destination too long to seal inline. Store it under `id` (where the
/// redirect finds it) before the email can be delivered; the same id always means the same
/// content.
///
/// The cut is made at the earliest `/`, `?`, `&`, `=` or `#` after the host from which the
/// rest of the URL fits in the token, so destinations that differ only towards their end (a
/// recipient's id in the last parameter, campaign parameters) share one stored start: one row
/// per link of a campaign, not one per recipient.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StoredDestination {
    /// `DestinationId::of(&url, tag.as_deref())`.
    pub id: DestinationId,
    /// The start of the `Location` (the token carries the rest).
    pub url: String,
    /// The link's tag.
    pub tag: Option<String>,
}
