//! The click redirect's answer: from a verified click token (and, for a long destination, its
//! stored row) to the `Location` header and what the click event records.

use crate::rewrite::StoredDestination;
use crate::token::{ClickToken, EmailId, KeyRing, Target, TokenError};

/// Where a click goes and what its event records. `url` is both the `Location` and the
/// event's `link`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redirect {
    /// The email the link was sent in.
    pub email_id: EmailId,
    /// The link's index among the email's tracked links.
    pub link_index: u32,
    /// The `Location`: printable ASCII, no spaces (checked).
    pub url: String,
    /// The link's tag.
    pub tag: Option<String>,
}

/// Why a click gets a 404 and no redirect.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RedirectError {
    /// The token is forged, altered, truncated, of another kind or of an unknown key.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// The token names a stored destination that is not there (or another one was given).
    #[error("no stored destination for this link")]
    UnknownDestination,
    /// The destination cannot be a `Location` header (only tokens sealed before destinations
    /// were normalised can carry such a URL: one that does not parse).
    #[error("the destination is not a valid Location")]
    NotALocation,
}

/// Resolves an opened click token. A [`Target::Stored`] token needs its destination's row as
/// `stored` (looked up by the id the token carries: the id is under the token's seal, so no
/// altered token can reach another row); a missing row is an error, never a guess.
///
/// ```
/// use beacon_tracking::redirect::{resolve, RedirectError};
/// use beacon_tracking::rewrite::{RewriteConfig, rewrite_html};
/// use beacon_tracking::token::{KeyRing, SigningKey};
///
/// let config = RewriteConfig::builder("https://t.example").build().unwrap();
/// let ring = KeyRing::new(SigningKey::new(1, [0; 32]), vec![]);
/// let long = format!("https://x.com/{}", "a".repeat(3000));
/// let out = rewrite_html(&format!("<a href=\"{long}\">x</a>"), &config, &ring, [1; 16]);
/// let href = out.html.split('"').nth(1).unwrap();
/// assert!(href.len() < 200);
/// let click = ring.open_click(href.rsplit('/').next().unwrap()).unwrap();
/// assert_eq!(resolve(click.clone(), None), Err(RedirectError::UnknownDestination));
/// assert_eq!(resolve(click, out.stored.first()).unwrap().url, long);
/// ```
///
/// # Errors
/// [`RedirectError`]: the redirect answers 404.
pub fn resolve(
    click: ClickToken,
    stored: Option<&StoredDestination>,
) -> Result<Redirect, RedirectError> {
    let (url, tag) = match click.target {
        Target::Inline { url, tag } => (url, tag),
        Target::Stored { id, suffix } => match stored {
            Some(row) if row.id == id => (format!("{}{suffix}", row.url), row.tag.clone()),
            _ => return Err(RedirectError::UnknownDestination),
        },
    };
    if url.is_empty() || !url.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(RedirectError::NotALocation);
    }
    Ok(Redirect {
        email_id: click.email_id,
        link_index: click.link_index,
        url,
        tag,
    })
}

/// Opens and resolves in one step, with a synchronous lookup of stored destinations (tests,
/// fuzzing; the server looks rows up asynchronously between [`KeyRing::open_click`] and
/// [`resolve`]).
///
/// # Errors
/// As [`resolve`].
pub fn follow(
    keyring: &KeyRing,
    token: &str,
    lookup: impl FnOnce(&crate::token::DestinationId) -> Option<StoredDestination>,
) -> Result<Redirect, RedirectError> {
    let click = keyring.open_click(token)?;
    let row = match &click.target {
        Target::Stored { id, .. } => lookup(id),
        Target::Inline { .. } => None,
    };
    resolve(click, row.as_ref())
}
