//! Human or machine: a verdict for every open and click. Beacon flags, it never drops: the
//! server records every hit with its verdict and statistics show both.
//!
//! The rules [`classify`] checks when a hit is answered, in order (the first that fires gives
//! the reason), then the two the server checks over an email's clicks when it applies them
//! ([`judge_clicks`]):
//!
//! | reason | rule | source |
//! |--------|------|--------|
//! | `head_request` | method is `HEAD` | Browsers and mail clients fetch images and follow links with `GET`; `HEAD` comes from link checkers (RFC 9110 §9.3.2: HEAD transfers no content, so nobody sees anything). |
//! | `prefetch` | `Purpose`/`Sec-Purpose`/`X-Purpose`/`X-Moz` says `prefetch` or `preview` | Speculative loads announce themselves: `Sec-Purpose: prefetch` (Fetch spec / WICG speculation rules), `Purpose: prefetch` (Chrome, Safari), `X-Moz: prefetch` (Firefox), `X-Purpose: preview` (Safari top sites). |
//! | `no_user_agent` | no or empty `User-Agent` | Every browser and mail client sends one (RFC 9110 §10.1.5 "SHOULD"); bare scripts and some scanners do not. |
//! | `gmail_prefetch` | agent contains `Chrome/42.` and `Edge/12.246` | Gmail's link and image prefetcher uses this frozen 2015 Edge agent, reported by ESPs since 2023; no real browser has sent it for years. |
//! | `apple_mpp` | opens only: agent is exactly `Mozilla/5.0`, or IP in an `apple` network of `networks.tsv` (17.0.0.0/8) | Apple Mail Privacy Protection (iOS 15+/macOS 12+, Apple's MPP support page) preloads remote content through Apple proxies that send the bare agent; 17.0.0.0/8 is registered to Apple Inc. (ARIN). iCloud Private Relay's published egress can be kept as `relay` lines (`network` names them), but adds nothing to this rule: the bare agent decides wherever it comes from. |
//! | `proxy_click` | clicks only: agent names a mail provider's image proxy (`GoogleImageProxy`, `YahooMailProxy`) | Those proxies fetch images when a reader opens the message (Google's 2013 "Images in Gmail" announcement, Yahoo help SLN28749): on the pixel a person, on a link never one. |
//! | `security_scanner` | agent matches a signature of `scanners.tsv` (with the product); on clicks also the bare agent `Mozilla/5.0` | Gateways that detonate links (Microsoft Safe Links/BingPreview, Mimecast, Proofpoint, Barracuda…), link-preview bots and HTTP libraries, from vendor docs and observed agents; no browser sends the bare agent, and Apple's proxy that does never follows links. |
//! | `scanner_network` | IP in a `scanner` network of `networks.tsv`; or in an `isolation` network together with another weak signal (below) | The vendors' published address ranges (source URL and date on every line). `isolation` networks also carry people (browser isolation, web proxies), so such a match alone decides nothing. |
//! | `too_soon` | at most [`ClassifyConfig::min_secs_after_send`] seconds after delivery (default 3 s), the delivery time as the transport reports it, else the hand-off | Nobody reads an email in the seconds after it arrives; gateways scan during delivery. The threshold itself counts as too soon. |
//! | `weak_signals` | two weak signals together: within the delivery window (later than `too_soon`, up to [`ClassifyConfig::delivery_window_secs`], default 60 s) and a browser at least [`STALE_MAJORS`] major versions (about four years) out of date | Scanners commonly arrive from a few seconds to about a minute after delivery and often carry frozen, years-old browser agents; people can do either, rarely both (Chrome and Firefox release a major version every 4 weeks and update themselves). |
//! | `click_burst` | clicks, judged over the email's recorded clicks: ≥ [`ClassifyConfig::burst_clicks`] + 1 clicks within 2 s, every one of them | Scanners follow every link of an email at once; a person clicks one link at a time (a double click is two). |
//! | `gateway_recheck` | clicks, judged over the email's recorded clicks: the same link fetched again within [`ClassifyConfig::recheck_secs`] (30 s) of a person's click, from another network and another kind of client — or, of two such fetches, the one from a gateway's network | Click-time protection (Safe Links, URL Defense, URL Protect) checks a link when the person clicks it, from the vendor's servers with their own client. |
//!
//! Gmail's image proxy (`GoogleImageProxy`) and Yahoo's (`YahooMailProxy`) fetch the pixel when
//! the recipient opens the email: those are human opens, and no rule above matches them.
//!
//! ```
//! use beacon_tracking::classify::{classify, ClassifyConfig, Hit, HitKind, MachineReason, Verdict};
//!
//! let cfg = ClassifyConfig::default();
//! let gmail = "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)";
//! let hit = Hit::new(HitKind::Open, "GET").user_agent(gmail).secs_since_delivery(600.0);
//! assert_eq!(classify(&hit, &cfg), Verdict::Human);
//! let click = Hit::new(HitKind::Click, "GET").user_agent(gmail);
//! assert_eq!(classify(&click, &cfg), Verdict::Machine(MachineReason::ProxyClick("Gmail image proxy")));
//!
//! let mpp = Hit::new(HitKind::Open, "GET").user_agent("Mozilla/5.0");
//! assert_eq!(classify(&mpp, &cfg), Verdict::Machine(MachineReason::AppleMpp));
//! ```

mod agents;
mod clicks;
mod ip;
mod networks;
mod scanners;
mod types;
mod words;

pub use agents::{STALE_MAJORS, client_kind, current_majors, image_proxy, majors_behind};
pub use clicks::{BURST_WINDOW_MS, Click, fingerprint, judge_clicks};
pub use ip::{is_apple, truncate_ip};
pub use networks::{Network, Scope, network};
pub use scanners::scanner_product;
pub use types::{ClassifyConfig, Hit, HitKind, MachineReason, Verdict};
pub use words::{REASONS, describe};

/// The agent Apple's Mail Privacy Protection proxies send, and nothing else does.
const BARE_AGENT: &str = "Mozilla/5.0";

/// Applies the answer-time rules of the [module docs](self) in order.
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
    let net = hit.ip.and_then(network);
    let open = hit.kind == HitKind::Open;
    if open && (ua == BARE_AGENT || net.is_some_and(|n| n.scope == Scope::Apple)) {
        return Some(MachineReason::AppleMpp);
    }
    if !open && let Some(proxy) = image_proxy(ua) {
        return Some(MachineReason::ProxyClick(proxy));
    }
    if let Some(product) = scanner_product(ua) {
        return Some(MachineReason::SecurityScanner(product));
    }
    if !open && ua == BARE_AGENT {
        return Some(MachineReason::SecurityScanner("bare Mozilla/5.0 agent"));
    }
    if let Some(n) = net.filter(|n| n.scope == Scope::Scanner) {
        return Some(MachineReason::ScannerNetwork(n.product));
    }
    let secs = hit.secs_since_delivery;
    if let Some(s) = secs
        && cfg.min_secs_after_send > 0.0
        && s <= cfg.min_secs_after_send
    {
        return Some(MachineReason::TooSoon);
    }
    // Weak signals: none decides alone.
    let early = secs.is_some_and(|s| s <= cfg.delivery_window_secs);
    // An image proxy's agent names a browser frozen in 2013 (Gmail's says Firefox/11): its
    // version says nothing about the reader behind it.
    let stale = image_proxy(ua).is_none()
        && hit
            .at_ms
            .and_then(|at| majors_behind(ua, at))
            .is_some_and(|behind| behind >= STALE_MAJORS);
    let isolation = net.filter(|n| n.scope == Scope::Isolation);
    let signals = u8::from(early) + u8::from(stale) + u8::from(isolation.is_some());
    if signals >= 2 {
        return Some(match isolation {
            Some(n) => MachineReason::ScannerNetwork(n.product),
            None => MachineReason::WeakSignals,
        });
    }
    None
}

/// `prefetch` or `preview`, possibly among other tokens (`prefetch;prerender`).
fn is_prefetch(value: &str) -> bool {
    value
        .split([';', ',', ' '])
        .any(|t| t.eq_ignore_ascii_case("prefetch") || t.eq_ignore_ascii_case("preview"))
}
