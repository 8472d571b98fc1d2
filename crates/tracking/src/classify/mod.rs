//! Human or machine: a verdict for every open and click. Beacon flags, it never drops: the
//! server records every hit with its verdict and statistics show both.
//!
//! The rules, in the order they are checked (the first that fires gives the reason):
//!
//! | reason | rule | source |
//! |--------|------|--------|
//! | `head_request` | method is `HEAD` | Browsers and mail clients fetch images and follow links with `GET`; `HEAD` comes from link checkers (RFC 9110 §9.3.2: HEAD transfers no content, so nobody sees anything). |
//! | `prefetch` | `Purpose`/`Sec-Purpose`/`X-Purpose`/`X-Moz` says `prefetch` or `preview` | Speculative loads announce themselves: `Sec-Purpose: prefetch` (Fetch spec / WICG speculation rules), `Purpose: prefetch` (Chrome, Safari), `X-Moz: prefetch` (Firefox), `X-Purpose: preview` (Safari top sites). |
//! | `no_user_agent` | no or empty `User-Agent` | Every browser and mail client sends one (RFC 9110 §10.1.5 "SHOULD"); bare scripts and some scanners do not. |
//! | `gmail_prefetch` | agent contains `Chrome/42.` and `Edge/12.246` | Gmail's link and image prefetcher uses this frozen 2015 Edge agent, reported by ESPs since 2023; no real browser has sent it for years. |
//! | `apple_mpp` | opens only: agent is exactly `Mozilla/5.0`, or IP in 17.0.0.0/8 | Apple Mail Privacy Protection (iOS 15+/macOS 12+, Apple's MPP support page) preloads remote content through Apple proxies that send the bare agent; 17.0.0.0/8 is registered to Apple Inc. (ARIN). |
//! | `security_scanner` | agent matches a signature of `scanners.tsv` (data, with the product) | Gateways that detonate links before delivery (Microsoft Safe Links/BingPreview, Mimecast, Proofpoint, Barracuda…), link-preview bots and HTTP libraries; vendor docs and observed agents. |
//! | `too_soon` | fewer than [`ClassifyConfig::min_secs_after_send`] seconds since the send (default 3 s) | Nobody reads an email in the seconds after it is sent; gateways scan during delivery. |
//! | `click_burst` | clicks only: ≥ [`ClassifyConfig::burst_clicks`] other clicks of this email in the last 2 s (default 2) | Scanners follow every link of an email at once; a person clicks one link at a time. |
//!
//! Gmail's image proxy (`GoogleImageProxy`) and Yahoo's (`YahooMailProxy`) fetch the pixel when
//! the recipient opens the email: those are human opens, and no rule above matches them.
//!
//! ```
//! use beacon_tracking::classify::{classify, ClassifyConfig, Hit, HitKind, MachineReason, Verdict};
//!
//! let cfg = ClassifyConfig::default();
//! let gmail = "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)";
//! let hit = Hit::new(HitKind::Open, "GET").user_agent(gmail).secs_since_sent(600.0);
//! assert_eq!(classify(&hit, &cfg), Verdict::Human);
//!
//! let mpp = Hit::new(HitKind::Open, "GET").user_agent("Mozilla/5.0");
//! assert_eq!(classify(&mpp, &cfg), Verdict::Machine(MachineReason::AppleMpp));
//! ```

mod ip;
mod scanners;
mod words;

use std::net::IpAddr;

pub use ip::{is_apple, truncate_ip};
pub use scanners::scanner_product;
pub use words::{REASONS, describe};

/// Open or click.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HitKind {
    /// The pixel was fetched.
    Open,
    /// A click redirect was followed.
    Click,
}

/// What the server knows about one hit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit<'a> {
    /// Open or click.
    pub kind: HitKind,
    /// HTTP method, e.g. `GET`.
    pub method: &'a str,
    /// `User-Agent`, if sent.
    pub user_agent: Option<&'a str>,
    /// Client address (after the server's trusted-proxy handling).
    pub ip: Option<IpAddr>,
    /// The value of `Sec-Purpose`, `Purpose`, `X-Purpose` or `X-Moz`, whichever is present.
    pub purpose: Option<&'a str>,
    /// Seconds between the email's send and this hit, if known.
    pub secs_since_sent: Option<f64>,
    /// Clicks: other clicks this email received in the two seconds before this one.
    pub recent_clicks: u32,
}

impl<'a> Hit<'a> {
    /// A hit with only kind and method known.
    #[must_use]
    pub const fn new(kind: HitKind, method: &'a str) -> Self {
        Self {
            kind,
            method,
            user_agent: None,
            ip: None,
            purpose: None,
            secs_since_sent: None,
            recent_clicks: 0,
        }
    }

    /// Sets the user agent.
    #[must_use]
    pub const fn user_agent(mut self, ua: &'a str) -> Self {
        self.user_agent = Some(ua);
        self
    }

    /// Sets the client IP.
    #[must_use]
    pub const fn ip(mut self, ip: IpAddr) -> Self {
        self.ip = Some(ip);
        self
    }

    /// Sets the purpose header value.
    #[must_use]
    pub const fn purpose(mut self, purpose: &'a str) -> Self {
        self.purpose = Some(purpose);
        self
    }

    /// Sets the seconds since the email was sent.
    #[must_use]
    pub const fn secs_since_sent(mut self, secs: f64) -> Self {
        self.secs_since_sent = Some(secs);
        self
    }

    /// Sets the number of other clicks in the last two seconds.
    #[must_use]
    pub const fn recent_clicks(mut self, n: u32) -> Self {
        self.recent_clicks = n;
        self
    }
}

/// Thresholds. Defaults: 3 seconds, 2 other clicks.
///
/// ```
/// use beacon_tracking::classify::ClassifyConfig;
/// let cfg = ClassifyConfig::default().min_secs_after_send(5.0).burst_clicks(3);
/// assert_eq!(cfg.min_secs_after_send, 5.0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClassifyConfig {
    /// Hits sooner than this after the send are `too_soon`. Default 3.0; 0 disables the rule.
    pub min_secs_after_send: f64,
    /// A click with at least this many other clicks of the same email in the previous two
    /// seconds is a `click_burst`. Default 2 (a double click is still human); 0 disables.
    pub burst_clicks: u32,
}

impl Default for ClassifyConfig {
    fn default() -> Self {
        Self {
            min_secs_after_send: 3.0,
            burst_clicks: 2,
        }
    }
}

impl ClassifyConfig {
    /// Sets [`ClassifyConfig::min_secs_after_send`].
    #[must_use]
    pub const fn min_secs_after_send(mut self, secs: f64) -> Self {
        self.min_secs_after_send = secs;
        self
    }

    /// Sets [`ClassifyConfig::burst_clicks`].
    #[must_use]
    pub const fn burst_clicks(mut self, n: u32) -> Self {
        self.burst_clicks = n;
        self
    }
}

/// Why a hit is a machine's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MachineReason {
    /// Apple Mail Privacy Protection proxy.
    AppleMpp,
    /// Gmail's prefetcher.
    GmailPrefetch,
    /// A security gateway, link scanner or bot; the product, from `scanners.tsv`.
    SecurityScanner(&'static str),
    /// `HEAD` request.
    HeadRequest,
    /// Announced prefetch or preview.
    Prefetch,
    /// No user agent.
    NoUserAgent,
    /// Within the first seconds after sending.
    TooSoon,
    /// One of many clicks in a burst.
    ClickBurst,
}

impl MachineReason {
    /// Stable snake_case name, for storage and the API.
    ///
    /// ```
    /// use beacon_tracking::classify::MachineReason;
    /// assert_eq!(MachineReason::SecurityScanner("Mimecast").as_str(), "security_scanner");
    /// ```
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::AppleMpp => "apple_mpp",
            Self::GmailPrefetch => "gmail_prefetch",
            Self::SecurityScanner(_) => "security_scanner",
            Self::HeadRequest => "head_request",
            Self::Prefetch => "prefetch",
            Self::NoUserAgent => "no_user_agent",
            Self::TooSoon => "too_soon",
            Self::ClickBurst => "click_burst",
        }
    }

    /// The scanner's product, for [`MachineReason::SecurityScanner`].
    #[must_use]
    pub const fn product(self) -> Option<&'static str> {
        match self {
            Self::SecurityScanner(p) => Some(p),
            _ => None,
        }
    }
}

impl std::fmt::Display for MachineReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.product() {
            Some(p) => write!(f, "{} ({p})", self.as_str()),
            None => f.write_str(self.as_str()),
        }
    }
}

/// The verdict for a hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// No rule fired.
    Human,
    /// A rule fired.
    Machine(MachineReason),
}

impl Verdict {
    /// True for [`Verdict::Machine`].
    #[must_use]
    pub const fn is_machine(self) -> bool {
        matches!(self, Self::Machine(_))
    }
}

/// Applies the rules of the [module docs](self) in order.
#[must_use]
pub fn classify(hit: &Hit<'_>, cfg: &ClassifyConfig) -> Verdict {
    match machine_reason(hit, cfg) {
        Some(reason) => Verdict::Machine(reason),
        None => Verdict::Human,
    }
}

fn machine_reason(hit: &Hit<'_>, cfg: &ClassifyConfig) -> Option<MachineReason> {
    if hit.method.trim().eq_ignore_ascii_case("HEAD") {
        return Some(MachineReason::HeadRequest);
    }
    if hit.purpose.is_some_and(is_prefetch) {
        return Some(MachineReason::Prefetch);
    }
    let ua = hit.user_agent.map(str::trim).unwrap_or_default();
    if ua.is_empty() {
        return Some(MachineReason::NoUserAgent);
    }
    if ua.contains("Chrome/42.") && ua.contains("Edge/12.246") {
        return Some(MachineReason::GmailPrefetch);
    }
    if hit.kind == HitKind::Open && (ua == "Mozilla/5.0" || hit.ip.is_some_and(is_apple)) {
        return Some(MachineReason::AppleMpp);
    }
    if let Some(product) = scanner_product(ua) {
        return Some(MachineReason::SecurityScanner(product));
    }
    if let Some(secs) = hit.secs_since_sent
        && secs < cfg.min_secs_after_send
    {
        return Some(MachineReason::TooSoon);
    }
    if hit.kind == HitKind::Click && cfg.burst_clicks > 0 && hit.recent_clicks >= cfg.burst_clicks {
        return Some(MachineReason::ClickBurst);
    }
    None
}

/// `prefetch` or `preview`, possibly among other tokens (`prefetch;prerender`).
fn is_prefetch(value: &str) -> bool {
    value
        .split([';', ',', ' '])
        .any(|t| t.eq_ignore_ascii_case("prefetch") || t.eq_ignore_ascii_case("preview"))
}
