//! Scanner signatures, kept as data in `scanners.tsv`.

use std::sync::OnceLock;

/// `(lowercased signature, product)` pairs parsed once from `scanners.tsv`.
fn table() -> &'static [(String, &'static str)] {
    static TABLE: OnceLock<Vec<(String, &'static str)>> = OnceLock::new();
    TABLE.get_or_init(|| {
        include_str!("scanners.tsv")
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .filter_map(|l| l.split_once('\t'))
            .map(|(sig, product)| (sig.trim().to_ascii_lowercase(), product.trim()))
            .collect()
    })
}

/// The product whose signature `user_agent` contains (case-insensitive), if any.
///
/// ```
/// use beacon_tracking::classify::scanner_product;
/// assert_eq!(scanner_product("Mozilla/5.0 (compatible; BingPreview/1.0b)"), Some("Microsoft Safe Links (BingPreview)"));
/// assert_eq!(scanner_product("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)"), None);
/// ```
#[must_use]
pub fn scanner_product(user_agent: &str) -> Option<&'static str> {
    let ua = user_agent.to_ascii_lowercase();
    table()
        .iter()
        .find(|(sig, _)| ua.contains(sig.as_str()))
        .map(|(_, product)| *product)
}
