//! One test per rule of the machine-hit classifier, plus the human cases.

use beacon_tracking::classify::*;

const CHROME: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36";
const GMAIL_PREFETCH: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/42.0.2311.135 Safari/537.36 Edge/12.246";
const GOOGLE_PROXY: &str =
    "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)";

fn open(ua: &str) -> Hit<'_> {
    Hit::new(HitKind::Open, "GET")
        .user_agent(ua)
        .secs_since_delivery(3600.0)
}

fn click(ua: &str) -> Hit<'_> {
    Hit::new(HitKind::Click, "GET")
        .user_agent(ua)
        .secs_since_delivery(3600.0)
}

fn verdict(hit: Hit<'_>) -> Verdict {
    classify(&hit, &ClassifyConfig::default())
}

fn reason(hit: Hit<'_>) -> &'static str {
    match verdict(hit) {
        Verdict::Machine(r) => r.as_str(),
        Verdict::Human => "human",
    }
}

#[test]
fn humans() {
    assert_eq!(verdict(open(CHROME)), Verdict::Human);
    assert_eq!(verdict(click(CHROME)), Verdict::Human);
    assert_eq!(verdict(open(GOOGLE_PROXY)), Verdict::Human);
    assert_eq!(
        verdict(open(
            "Mozilla/5.0 (compatible; YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html)"
        )),
        Verdict::Human
    );
    // Outlook desktop fetching images.
    assert_eq!(
        verdict(open("Mozilla/4.0 (compatible; ms-office; MSOffice 16)")),
        Verdict::Human
    );
    // Apple's network only matters for opens.
    assert_eq!(
        verdict(click(CHROME).ip("17.1.2.3".parse().unwrap())),
        Verdict::Human
    );
}

#[test]
fn apple_mpp() {
    assert_eq!(reason(open("Mozilla/5.0")), "apple_mpp");
    assert_eq!(
        reason(open(CHROME).ip("17.253.1.1".parse().unwrap())),
        "apple_mpp"
    );
    assert_eq!(
        reason(open(CHROME).ip("::ffff:17.0.0.1".parse().unwrap())),
        "apple_mpp"
    );
    assert_eq!(
        reason(open(CHROME).ip("18.0.0.1".parse().unwrap())),
        "human"
    );
}

#[test]
fn gmail_prefetch() {
    assert_eq!(reason(open(GMAIL_PREFETCH)), "gmail_prefetch");
    assert_eq!(reason(click(GMAIL_PREFETCH)), "gmail_prefetch");
}

#[test]
fn scanners_with_product() {
    let cases = [
        (
            "Mozilla/5.0 (Windows NT 6.1; WOW64) AppleWebKit/534+ (KHTML, like Gecko) BingPreview/1.0b",
            "Microsoft Safe Links (BingPreview)",
        ),
        ("Mimecast-Protect/1.0", "Mimecast"),
        ("Mozilla/5.0 Proofpoint URL Defense", "Proofpoint"),
        ("Barracuda Sentinel (EE)", "Barracuda"),
        ("python-requests/2.31", "Python requests"),
    ];
    for (ua, product) in cases {
        let v = verdict(click(ua));
        assert_eq!(
            v,
            Verdict::Machine(MachineReason::SecurityScanner(product)),
            "{ua}"
        );
        assert_eq!(
            v.to_string_reason(),
            format!("security_scanner ({product})")
        );
    }
}

trait ReasonText {
    fn to_string_reason(&self) -> String;
}
impl ReasonText for Verdict {
    fn to_string_reason(&self) -> String {
        match self {
            Verdict::Machine(r) => r.to_string(),
            Verdict::Human => "human".into(),
        }
    }
}

#[test]
fn head_and_prefetch() {
    assert_eq!(
        reason(Hit::new(HitKind::Click, "HEAD").user_agent(CHROME)),
        "head_request"
    );
    for purpose in ["prefetch", "Prefetch", "prefetch;prerender", "preview"] {
        assert_eq!(
            reason(click(CHROME).purpose(purpose)),
            "prefetch",
            "{purpose}"
        );
    }
    assert_eq!(reason(click(CHROME).purpose("navigate")), "human");
}

#[test]
fn missing_agent() {
    assert_eq!(reason(Hit::new(HitKind::Open, "GET")), "no_user_agent");
    assert_eq!(reason(click("  ")), "no_user_agent");
}

#[test]
fn too_soon_is_configurable() {
    assert_eq!(reason(click(CHROME).secs_since_delivery(1.0)), "too_soon");
    assert_eq!(reason(click(CHROME).secs_since_delivery(-5.0)), "too_soon");
    // The threshold itself is too soon; just after it, timing alone decides nothing.
    assert_eq!(reason(click(CHROME).secs_since_delivery(3.0)), "too_soon");
    assert_eq!(reason(click(CHROME).secs_since_delivery(3.001)), "human");
    let lax = ClassifyConfig::default().min_secs_after_send(0.0);
    assert_eq!(
        classify(&click(CHROME).secs_since_delivery(0.5), &lax),
        Verdict::Human
    );
    let strict = ClassifyConfig::default().min_secs_after_send(60.0);
    assert!(classify(&open(CHROME).secs_since_delivery(30.0), &strict).is_machine());
}

#[test]
fn reason_names_are_stable() {
    let all = [
        (MachineReason::AppleMpp, "apple_mpp"),
        (MachineReason::GmailPrefetch, "gmail_prefetch"),
        (MachineReason::SecurityScanner("x"), "security_scanner"),
        (MachineReason::HeadRequest, "head_request"),
        (MachineReason::Prefetch, "prefetch"),
        (MachineReason::NoUserAgent, "no_user_agent"),
        (MachineReason::TooSoon, "too_soon"),
        (MachineReason::ClickBurst, "click_burst"),
        (MachineReason::ScannerNetwork("x"), "scanner_network"),
        (MachineReason::ProxyClick("x"), "proxy_click"),
        (MachineReason::WeakSignals, "weak_signals"),
        (MachineReason::GatewayRecheck, "gateway_recheck"),
    ];
    for (r, name) in all {
        assert_eq!(r.as_str(), name);
    }
}

#[test]
fn truncation() {
    assert_eq!(
        truncate_ip("192.0.2.255".parse().unwrap()),
        "192.0.2.0".parse::<std::net::IpAddr>().unwrap()
    );
    assert_eq!(
        truncate_ip("2001:db8:abcd:12::1".parse().unwrap()),
        "2001:db8:abcd::".parse::<std::net::IpAddr>().unwrap()
    );
    assert_eq!(
        truncate_ip("::ffff:198.51.100.7".parse().unwrap()),
        "::ffff:198.51.100.0".parse::<std::net::IpAddr>().unwrap()
    );
}

#[test]
fn no_real_browser_matches_a_scanner() {
    for ua in [
        CHROME,
        GOOGLE_PROXY,
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:127.0) Gecko/20100101 Firefox/127.0",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0",
        "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17628; Pro)",
    ] {
        assert_eq!(scanner_product(ua), None, "{ua}");
    }
}

/// 2026-11-30, when Chrome 160 was current by the release cadence.
const NOW_MS: i64 = 1_796_000_000_000;
const STALE_CHROME: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/79.0.3945.88 Safari/537.36";

#[test]
fn image_proxies_open_for_people_but_never_click() {
    assert_eq!(reason(click(GOOGLE_PROXY)), "proxy_click");
    let yahoo = "Mozilla/5.0 (compatible; YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html)";
    assert_eq!(reason(click(yahoo)), "proxy_click");
    // Gmail's proxy names Firefox 11: within the delivery window that is no outdated browser.
    assert_eq!(
        reason(open(GOOGLE_PROXY).secs_since_delivery(20.0).at_ms(NOW_MS)),
        "human"
    );
    assert_eq!(reason(click("Mozilla/5.0")), "security_scanner");
}

#[test]
fn published_networks() {
    let eop = "40.107.22.45".parse().unwrap();
    assert_eq!(
        verdict(click(CHROME).ip(eop)),
        Verdict::Machine(MachineReason::ScannerNetwork(
            "Microsoft Defender for Office 365"
        ))
    );
    // An isolation network carries people too: alone it decides nothing…
    let mimecast = "205.139.110.61".parse().unwrap();
    assert_eq!(reason(click(CHROME).ip(mimecast)), "human");
    // …within the delivery window, or with an outdated browser, it does.
    assert_eq!(
        reason(click(CHROME).ip(mimecast).secs_since_delivery(20.0)),
        "scanner_network"
    );
    assert_eq!(
        reason(click(STALE_CHROME).ip(mimecast).at_ms(NOW_MS)),
        "scanner_network"
    );
    // Apple's network only matters for opens.
    assert_eq!(
        reason(open(CHROME).ip("17.1.2.3".parse().unwrap())),
        "apple_mpp"
    );
}

#[test]
fn weak_signals_decide_only_together() {
    let early = |ua| click(ua).secs_since_delivery(20.0).at_ms(NOW_MS);
    assert_eq!(reason(early(STALE_CHROME)), "weak_signals");
    assert_eq!(
        reason(early(CHROME)),
        "human",
        "a person clicking a password reset"
    );
    assert_eq!(
        reason(click(STALE_CHROME).at_ms(NOW_MS)),
        "human",
        "an old browser, later"
    );
    // Just past the window, or with no time known, the old browser is alone again.
    assert_eq!(
        reason(click(STALE_CHROME).secs_since_delivery(60.5).at_ms(NOW_MS)),
        "human"
    );
    assert_eq!(
        reason(click(STALE_CHROME).secs_since_delivery(20.0)),
        "human"
    );
    let fx68 = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:68.0) Gecko/20100101 Firefox/68.0";
    assert_eq!(
        reason(open(fx68).secs_since_delivery(45.0).at_ms(NOW_MS)),
        "weak_signals"
    );
}

/// docs/API.md's list of reasons is checked against the one table of words (`REASONS`), so
/// the two cannot drift: one row per reason, with its name and its words, nothing else.
#[test]
fn the_api_docs_list_every_reason_in_its_words() {
    let api = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/API.md"))
        .expect("docs/API.md");
    let section = api
        .split("### Machine verdicts")
        .nth(1)
        .and_then(|s| s.split("\n### ").next())
        .expect("a Machine verdicts section");
    let rows: Vec<&str> = section.lines().filter(|l| l.starts_with("| `")).collect();
    assert_eq!(rows.len(), REASONS.len(), "one row per reason");
    for ((name, words), row) in REASONS.iter().zip(&rows) {
        assert!(
            row.starts_with(&format!("| `{name}` | {words} |")),
            "API.md row for {name} should start with its words {words:?}: {row}"
        );
    }
}
