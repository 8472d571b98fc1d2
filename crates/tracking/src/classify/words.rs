//! Verdicts in plain words, for people reading a timeline or a chart legend.

use super::MachineReason;

/// Every reason a hit can carry, by its stored name ([`MachineReason::as_str`]), with the words a
/// dashboard shows for it. Kept in one table so the API docs, the dashboard and the classifier
/// cannot disagree on what a reason means.
pub const REASONS: &[(&str, &str)] = &[
    ("head_request", "HEAD request (link checker)"),
    ("prefetch", "browser prefetch or preview"),
    ("no_user_agent", "no user agent (a script)"),
    ("gmail_prefetch", "Gmail prefetch"),
    ("apple_mpp", "Apple Mail Privacy Protection"),
    (
        "proxy_click",
        "mail provider's image proxy following a link",
    ),
    ("security_scanner", "link scanner"),
    ("scanner_network", "security gateway's network"),
    ("too_soon", "seconds after delivery"),
    (
        "weak_signals",
        "outdated browser within a minute of delivery",
    ),
    ("click_burst", "burst of clicks on every link"),
    (
        "gateway_recheck",
        "gateway re-checking a link a person clicked",
    ),
];

/// The plain words for a stored reason, with the scanner's product when there is one:
/// `("security_scanner", Some("Mimecast"))` → `"link scanner: Mimecast"`. An unknown name (a
/// reason from a newer Beacon) is shown as it was stored.
///
/// ```
/// use beacon_tracking::classify::describe;
/// assert_eq!(describe("apple_mpp", None), "Apple Mail Privacy Protection");
/// assert_eq!(describe("security_scanner", Some("Mimecast")), "link scanner: Mimecast");
/// assert_eq!(describe("something_new", None), "something_new");
/// ```
#[must_use]
pub fn describe(reason: &str, product: Option<&str>) -> String {
    let words = REASONS
        .iter()
        .find(|(name, _)| *name == reason)
        .map_or(reason, |(_, words)| *words);
    match product.filter(|p| !p.is_empty()) {
        Some(p) => format!("{words}: {p}"),
        None => words.to_string(),
    }
}

impl MachineReason {
    /// The plain words for this reason, as [`describe`] gives them.
    #[must_use]
    pub fn describe(self) -> String {
        describe(self.as_str(), self.product())
    }
}

#[cfg(test)]
mod tests {
    use super::{REASONS, describe};
    use crate::classify::MachineReason;

    #[test]
    fn every_reason_has_words() {
        assert_eq!(REASONS.len(), MachineReason::ALL.len());
        for r in MachineReason::ALL {
            assert!(
                REASONS.iter().any(|(name, _)| *name == r.as_str()),
                "{} has no words",
                r.as_str()
            );
        }
        assert_eq!(
            MachineReason::SecurityScanner("Proofpoint").describe(),
            "link scanner: Proofpoint"
        );
        assert_eq!(describe("too_soon", None), "seconds after delivery");
    }
}
