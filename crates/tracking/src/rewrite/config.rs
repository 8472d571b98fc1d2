//! What the rewriter needs to know about the service and the send: its public base URL, the
//! pages it must never wrap, whether to add the open pixel, the campaign parameters to add to
//! destinations, and how long a tracked `href` may be.

use crate::links::UtmSet;

/// Why a [`RewriteConfig`] could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The base URL must be absolute `http://` or `https://` with a host.
    #[error("public base URL {0:?} must start with http:// or https:// and name a host")]
    BaseUrl(String),
}

/// Rewriter settings. Build with [`RewriteConfig::builder`].
///
/// Defaults: the pixel is added; links to `{base}/unsubscribe` and `{base}/preferences` (and
/// anything below them) are never tracked; neither are links to `{base}/c/` and `{base}/o/`
/// (our own tracking URLs, never wrapped twice); no campaign parameters; a tracked `href` is at
/// most [`RewriteConfig::MAX_HREF`] characters (a longer destination is stored, see
/// [`crate::token::DestinationId`]).
///
/// ```
/// use beacon_tracking::rewrite::RewriteConfig;
/// let config = RewriteConfig::builder("https://t.example.com/")
///     .never_track("https://example.com/account")
///     .pixel(false)
///     .build()
///     .unwrap();
/// assert_eq!(config.base_url(), "https://t.example.com");
/// assert!(!config.adds_pixel());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RewriteConfig {
    base_url: String,
    never_track: Vec<String>,
    pixel: bool,
    utm: UtmSet,
    max_href: usize,
}

/// Builder for [`RewriteConfig`].
#[derive(Debug, Clone)]
pub struct RewriteConfigBuilder {
    base_url: String,
    never_track: Vec<String>,
    default_pages: bool,
    pixel: bool,
    utm: UtmSet,
    max_href: usize,
}

impl RewriteConfig {
    /// The longest tracked `href` written inline, in characters: under 200, below the ~2,000 at
    /// which Outlook and Exchange break links, and below what stricter gateways cut.
    pub const MAX_HREF: usize = 199;

    /// Starts a builder for the service reachable at `base_url` (a trailing `/` is dropped).
    #[must_use]
    pub fn builder(base_url: impl Into<String>) -> RewriteConfigBuilder {
        RewriteConfigBuilder {
            base_url: base_url.into(),
            never_track: Vec::new(),
            default_pages: true,
            pixel: true,
            utm: UtmSet::default(),
            max_href: Self::MAX_HREF,
        }
    }

    /// This config with campaign parameters for the destinations of tracked links (a send's
    /// project or campaign setting; the service-wide config has none).
    #[must_use]
    pub fn with_utm(&self, utm: UtmSet) -> Self {
        Self {
            utm,
            ..self.clone()
        }
    }

    /// This config for a send whose tracking URLs use another base (a project's own tracking
    /// domain): the new base's tracking routes and own pages are never tracked either, and
    /// every prefix excluded so far stays excluded (links to the service's usual base are
    /// still its own).
    ///
    /// ```
    /// use beacon_tracking::rewrite::RewriteConfig;
    /// let service = RewriteConfig::builder("https://t.example.com").build().unwrap();
    /// let config = service.with_base("https://links.shop.example").unwrap();
    /// assert_eq!(config.base_url(), "https://links.shop.example");
    /// assert!(config.never_track_prefixes().contains(&"https://t.example.com/c/".to_string()));
    /// ```
    ///
    /// # Errors
    /// [`ConfigError::BaseUrl`] when the base URL is not absolute http(s).
    pub fn with_base(&self, base_url: &str) -> Result<Self, ConfigError> {
        let mut builder = RewriteConfig::builder(base_url)
            .pixel(self.pixel)
            .utm(self.utm.clone())
            .max_href(self.max_href);
        for prefix in &self.never_track {
            builder = builder.never_track(prefix.clone());
        }
        builder.build()
    }

    /// The campaign parameters added to tracked destinations.
    #[must_use]
    pub fn utm(&self) -> &UtmSet {
        &self.utm
    }

    /// The longest tracked `href` written with its destination inline.
    #[must_use]
    pub fn max_href(&self) -> usize {
        self.max_href
    }

    /// The public base URL, without a trailing slash.
    #[must_use]
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Every prefix never tracked, the service's own ones included.
    #[must_use]
    pub fn never_track_prefixes(&self) -> &[String] {
        &self.never_track
    }

    /// Whether the open pixel is added.
    #[must_use]
    pub fn adds_pixel(&self) -> bool {
        self.pixel
    }

    /// True when `url` starts with a never-tracked prefix at a path boundary (the prefix is
    /// followed by nothing, `/`, `?` or `#`). Scheme and host compare case-insensitively.
    pub(crate) fn is_excluded(&self, url: &str) -> bool {
        self.never_track.iter().any(|prefix| {
            url.len() >= prefix.len()
                && url.is_char_boundary(prefix.len())
                && url[..prefix.len()].eq_ignore_ascii_case(prefix)
                && (prefix.ends_with('/')
                    || matches!(
                        url.as_bytes().get(prefix.len()),
                        None | Some(b'/' | b'?' | b'#')
                    ))
        })
    }
}

impl RewriteConfigBuilder {
    /// Adds a URL prefix never to track (e.g. an external preference centre).
    #[must_use]
    pub fn never_track(mut self, prefix: impl Into<String>) -> Self {
        self.never_track.push(prefix.into());
        self
    }

    /// Whether `{base}/unsubscribe` and `{base}/preferences` are excluded. Default: true.
    #[must_use]
    pub fn exclude_own_pages(mut self, yes: bool) -> Self {
        self.default_pages = yes;
        self
    }

    /// Whether to add the open pixel. Default: true.
    #[must_use]
    pub fn pixel(mut self, yes: bool) -> Self {
        self.pixel = yes;
        self
    }

    /// Campaign parameters for tracked destinations. Default: none.
    #[must_use]
    pub fn utm(mut self, utm: UtmSet) -> Self {
        self.utm = utm;
        self
    }

    /// The longest `href` a tracked link may have before its destination is stored instead of
    /// sealed inline. Default: [`RewriteConfig::MAX_HREF`].
    #[must_use]
    pub fn max_href(mut self, chars: usize) -> Self {
        self.max_href = chars;
        self
    }

    /// Checks the base URL and builds the config.
    ///
    /// # Errors
    /// [`ConfigError::BaseUrl`] when the base URL is not absolute http(s).
    pub fn build(self) -> Result<RewriteConfig, ConfigError> {
        let base = self.base_url.trim().trim_end_matches('/').to_string();
        if crate::links::absolute_http(&base).is_none() {
            return Err(ConfigError::BaseUrl(self.base_url));
        }
        // Our tracking routes: never wrap an already-tracked link twice.
        let mut never_track = vec![format!("{base}/c/"), format!("{base}/o/")];
        if self.default_pages {
            never_track.push(format!("{base}/unsubscribe"));
            never_track.push(format!("{base}/preferences"));
        }
        never_track.extend(self.never_track);
        // Destinations are compared once normalised too (`https://T.example:443/c/` is
        // `https://t.example/c/`), so each prefix is also kept in its normalised form.
        let normalised: Vec<String> = never_track
            .iter()
            .filter_map(|p| crate::links::destination(p))
            .filter(|p| !never_track.contains(p))
            .collect();
        never_track.extend(normalised);
        Ok(RewriteConfig {
            base_url: base,
            never_track,
            pixel: self.pixel,
            utm: self.utm,
            max_href: self.max_href,
        })
    }
}
