//! The verdict's types: what the server knows about a hit, the thresholds, and the reasons.

use std::net::IpAddr;

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
    /// Seconds between the email's delivery (as the transport reported it, else its hand-off to
    /// the relay) and this hit, if known.
    pub secs_since_delivery: Option<f64>,
    /// When the hit came, Unix milliseconds, if known (to tell how old a browser version is).
    pub at_ms: Option<i64>,
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
            secs_since_delivery: None,
            at_ms: None,
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

    /// Sets the seconds since the email was delivered.
    #[must_use]
    pub const fn secs_since_delivery(mut self, secs: f64) -> Self {
        self.secs_since_delivery = Some(secs);
        self
    }

    /// Sets when the hit came (Unix milliseconds).
    #[must_use]
    pub const fn at_ms(mut self, ms: i64) -> Self {
        self.at_ms = Some(ms);
        self
    }
}

/// Thresholds. Defaults: 3 s, a 60 s delivery window, bursts of 3 clicks, re-checks within 30 s.
///
/// ```
/// use beacon_tracking::classify::ClassifyConfig;
/// let cfg = ClassifyConfig::default().min_secs_after_send(5.0).burst_clicks(3);
/// assert_eq!(cfg.min_secs_after_send, 5.0);
/// assert_eq!(cfg.delivery_window_secs, 60.0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClassifyConfig {
    /// Hits this soon or sooner after delivery are `too_soon`. Default 3.0; 0 disables the rule.
    pub min_secs_after_send: f64,
    /// The delivery window: a hit later than `min_secs_after_send` but within this many seconds
    /// of delivery carries the weak timing signal. Default 60.
    pub delivery_window_secs: f64,
    /// A click that, with at least this many other clicks of the same email, falls within two
    /// seconds is a `click_burst` (all of them are). Default 2 (a double click is still human);
    /// 0 disables.
    pub burst_clicks: u32,
    /// A second fetch of a link within this many seconds of a person's click can be a gateway's
    /// re-check. Default 30.
    pub recheck_secs: f64,
}

impl Default for ClassifyConfig {
    fn default() -> Self {
        Self {
            min_secs_after_send: 3.0,
            delivery_window_secs: 60.0,
            burst_clicks: 2,
            recheck_secs: 30.0,
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
    /// A published gateway network; the product.
    ScannerNetwork(&'static str),
    /// A mail provider's image proxy following a link; the product.
    ProxyClick(&'static str),
    /// An outdated browser within the delivery window.
    WeakSignals,
    /// A gateway fetching a link again around a person's click.
    GatewayRecheck,
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
            Self::ScannerNetwork(_) => "scanner_network",
            Self::ProxyClick(_) => "proxy_click",
            Self::WeakSignals => "weak_signals",
            Self::GatewayRecheck => "gateway_recheck",
        }
    }

    /// The product behind the hit, for [`MachineReason::SecurityScanner`],
    /// [`MachineReason::ScannerNetwork`] and [`MachineReason::ProxyClick`].
    #[must_use]
    pub const fn product(self) -> Option<&'static str> {
        match self {
            Self::SecurityScanner(p) | Self::ScannerNetwork(p) | Self::ProxyClick(p) => Some(p),
            _ => None,
        }
    }

    /// Every reason, with a placeholder product where one is carried (for tables and tests).
    pub const ALL: [MachineReason; 12] = [
        Self::HeadRequest,
        Self::Prefetch,
        Self::NoUserAgent,
        Self::GmailPrefetch,
        Self::AppleMpp,
        Self::ProxyClick("-"),
        Self::SecurityScanner("-"),
        Self::ScannerNetwork("-"),
        Self::TooSoon,
        Self::WeakSignals,
        Self::ClickBurst,
        Self::GatewayRecheck,
    ];
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
