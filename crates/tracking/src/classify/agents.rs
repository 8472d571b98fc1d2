//! What a user agent says about its client: the mail provider's image proxy it may be, a coarse
//! kind of client (to tell two fetches of one link apart), and whether its browser is years out
//! of date.

/// Image proxies of mail providers: they fetch a message's images when its reader opens it (a
/// human open), and never follow links for a reader. `(agent substring, product)`.
/// Sources: Google's "Images in Gmail" announcement (2013, `GoogleImageProxy` via ggpht.com) and
/// Yahoo's help article SLN28749 (`YahooMailProxy`).
const IMAGE_PROXIES: &[(&str, &str)] = &[
    ("GoogleImageProxy", "Gmail image proxy"),
    ("YahooMailProxy", "Yahoo Mail image proxy"),
];

/// The mail provider's image proxy an agent names, if any.
///
/// ```
/// use beacon_tracking::classify::image_proxy;
/// let gmail = "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)";
/// assert_eq!(image_proxy(gmail), Some("Gmail image proxy"));
/// assert_eq!(image_proxy("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X)"), None);
/// ```
#[must_use]
pub fn image_proxy(user_agent: &str) -> Option<&'static str> {
    IMAGE_PROXIES
        .iter()
        .find(|(sig, _)| user_agent.contains(sig))
        .map(|(_, product)| *product)
}

/// A coarse kind of client: `(application, operating system)`, e.g. `("chrome", "windows")`.
/// Two fetches of one link by different kinds come from different programs.
///
/// ```
/// use beacon_tracking::classify::client_kind;
/// let iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";
/// assert_eq!(client_kind(iphone), ("safari", "ios"));
/// assert_eq!(client_kind("Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17628; Pro)"), ("outlook", "windows"));
/// ```
#[must_use]
pub fn client_kind(ua: &str) -> (&'static str, &'static str) {
    let has = |s: &str| ua.contains(s);
    let os = if has("iPhone") || has("iPad") || has("iPod") {
        "ios"
    } else if has("Android") {
        "android"
    } else if has("Windows") {
        "windows"
    } else if has("Macintosh") || has("Mac OS X") {
        "mac"
    } else if has("Linux") || has("X11") || has("CrOS") {
        "linux"
    } else {
        "other"
    };
    let app = if has("Outlook") || has("ms-office") || has("MSOffice") || has("Microsoft Office") {
        "outlook"
    } else if has("Thunderbird") {
        "thunderbird"
    } else if has("Edg/") || has("Edge/") || has("EdgiOS") || has("EdgA/") {
        "edge"
    } else if has("Firefox/") || has("FxiOS") {
        "firefox"
    } else if has("Chrome/") || has("CriOS") {
        "chrome"
    } else if has("Safari/") {
        "safari"
    } else if has("AppleWebKit") {
        // Apple Mail and in-app web views: WebKit without a browser's name.
        "webkit"
    } else {
        "other"
    };
    (app, os)
}

/// Chrome 100 was released on 2022-03-29 and Firefox 100 on 2022-05-03 (their release notes);
/// both have shipped a major version every four weeks since (Chrome from 94, 2021; Firefox from
/// 70, 2019), so the current major at a time follows from these anchors.
const CHROME_100_MS: i64 = 1_648_512_000_000;
const FIREFOX_100_MS: i64 = 1_651_536_000_000;
const CADENCE_MS: i64 = 28 * 86_400_000;
/// About four years of releases: further behind than any browser that still updates itself,
/// including the last versions for Windows 7 (Chrome 109) and Android 7 (Chrome 119) in 2026.
pub const STALE_MAJORS: i64 = 52;

/// The browser's major version and how many majors behind the current one it was at `at_ms`
/// (Unix milliseconds), for Chrome, Edge, Chrome on iOS and Firefox agents; `None` for others.
///
/// ```
/// use beacon_tracking::classify::majors_behind;
/// let at = 1_795_000_000_000; // 2026-11-18
/// let old = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/79.0.3945.88 Safari/537.36";
/// assert_eq!(majors_behind(old, at), Some(81)); // Chrome 160 was current
/// ```
#[must_use]
pub fn majors_behind(ua: &str, at_ms: i64) -> Option<i64> {
    let (major, anchor) = if let Some(v) = version_after(ua, "Firefox/") {
        (v, FIREFOX_100_MS)
    } else if let Some(v) = version_after(ua, "Edg/")
        .or_else(|| version_after(ua, "CriOS/"))
        .or_else(|| version_after(ua, "Chrome/"))
    {
        (v, CHROME_100_MS)
    } else {
        return None;
    };
    Some(100 + (at_ms - anchor).div_euclid(CADENCE_MS) - major)
}

/// The current major versions of Chrome and Firefox at `at_ms` (Unix milliseconds), by their
/// release cadence: what an up-to-date browser sends.
///
/// ```
/// use beacon_tracking::classify::current_majors;
/// assert_eq!(current_majors(1_648_512_000_000), (100, 98)); // the day Chrome 100 shipped
/// ```
#[must_use]
pub fn current_majors(at_ms: i64) -> (i64, i64) {
    let at = |anchor: i64| 100 + (at_ms - anchor).div_euclid(CADENCE_MS);
    (at(CHROME_100_MS), at(FIREFOX_100_MS))
}

/// The integer after `token`, e.g. `126` in `Chrome/126.0.0.0`.
fn version_after(ua: &str, token: &str) -> Option<i64> {
    let rest = &ua[ua.find(token)? + token.len()..];
    let digits = rest.split(|c: char| !c.is_ascii_digit()).next()?;
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_measured_against_the_release_cadence() {
        // 2026-11-30: Chrome ~160.
        let at = 1_796_000_000_000;
        let current = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/160.0.0.0 Safari/537.36";
        assert!(majors_behind(current, at).unwrap().abs() <= 2);
        let win7 = "Mozilla/5.0 (Windows NT 6.1; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/109.0.0.0 Safari/537.36";
        assert!(majors_behind(win7, at).unwrap() < STALE_MAJORS);
        let old = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/83.0.4103.116 Safari/537.36";
        assert!(majors_behind(old, at).unwrap() > STALE_MAJORS);
        let fx = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:78.0) Gecko/20100101 Firefox/78.0";
        assert!(majors_behind(fx, at).unwrap() > STALE_MAJORS);
        assert_eq!(majors_behind("Thunderbird/115", at), None);
        assert_eq!(majors_behind("Chrome/", at), None);
    }

    #[test]
    fn kinds() {
        let android = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36";
        assert_eq!(client_kind(android), ("chrome", "android"));
        let tb = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Thunderbird/128.3.0";
        assert_eq!(client_kind(tb), ("thunderbird", "linux"));
        let apple_mail = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)";
        assert_eq!(client_kind(apple_mail), ("webkit", "mac"));
        assert_eq!(client_kind("curl/8.5.0"), ("other", "other"));
    }
}
