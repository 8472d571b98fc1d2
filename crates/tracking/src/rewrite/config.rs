//! What the rewriter needs to know about the service: its public base URL, the pages it must
//! never wrap, and whether to add the open pixel.

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
/// (our own tracking URLs, never wrapped twice).
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
}

/// Builder for [`RewriteConfig`].
#[derive(Debug, Clone)]
pub struct RewriteConfigBuilder {
    base_url: String,
    never_track: Vec<String>,
    default_pages: bool,
    pixel: bool,
}

impl RewriteConfig {
    /// Starts a builder for the service reachable at `base_url` (a trailing `/` is dropped).
    #[must_use]
    pub fn builder(base_url: impl Into<String>) -> RewriteConfigBuilder {
        RewriteConfigBuilder {
            base_url: base_url.into(),
            never_track: Vec::new(),
            default_pages: true,
            pixel: true,
        }
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

    /// Checks the base URL and builds the config.
    ///
    /// # Errors
    /// [`ConfigError::BaseUrl`] when the base URL is not absolute http(s).
    pub fn build(self) -> Result<RewriteConfig, ConfigError> {
        let base = self.base_url.trim().trim_end_matches('/').to_string();
        if crate::rewrite::link::absolute_http(&base).is_none() {
            return Err(ConfigError::BaseUrl(self.base_url));
        }
        // Our tracking routes: never wrap an already-tracked link twice.
        let mut never_track = vec![format!("{base}/c/"), format!("{base}/o/")];
        if self.default_pages {
            never_track.push(format!("{base}/unsubscribe"));
            never_track.push(format!("{base}/preferences"));
        }
        never_track.extend(self.never_track);
        Ok(RewriteConfig {
            base_url: base,
            never_track,
            pixel: self.pixel,
        })
    }
}
