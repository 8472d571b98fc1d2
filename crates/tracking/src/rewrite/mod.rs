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
//! absolute `http://` or `https://` URL, and the `href` of tags inside `<!--[if mso]>…<![endif]-->`
//! comments (VML `<v:roundrect href>` buttons and Outlook-only links), which get the same click
//! URL as the HTML twin that follows or precedes them. What is left exactly as written: every
//! other scheme (`mailto:`, `tel:`, `sms:`, `javascript:`…), fragments, relative and empty URLs,
//! links marked `data-beacon-notrack`, `clicktracking="off"` or `ses:no-track` (the marker is
//! removed), the never-tracked prefixes of [`RewriteConfig`] and our own tracking URLs.
//!
//! `data-beacon-tag="name"` is carried into the click token as the link's tag and removed.
//! Link indexes count tracked links in document order from 0 (twins share one).
//!
//! Only the HTML part is rewritten: the text part of an email is left alone (its links stay
//! direct, and no pixel is possible there).

mod config;
pub(crate) mod link;
mod scan;
mod stream;
mod tag;
mod template;

pub use config::{ConfigError, RewriteConfig, RewriteConfigBuilder};
pub use stream::{Rewriter, rewrite_html};
pub use template::CompiledTemplate;

/// A tracked link of one email.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LinkInfo {
    /// Position among the email's tracked links, from 0.
    pub index: u32,
    /// The original URL, entity-decoded, as sealed in the click token.
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
}
