//! The tracking engine: who carries out a send's tracking decision.
//!
//! - `builtin` (the default): Beacon itself seals the links and adds the pixel of a tracked
//!   send, and leaves an untracked one as written. Works with any transport.
//! - `provider`: Amazon SES tracks. Beacon never rewrites a link or adds a pixel; the decision
//!   (mode × source × override, the same policy) picks an SES configuration set instead — the
//!   tracking set, which publishes opens and clicks, or the no-tracking set — named in the
//!   `X-SES-CONFIGURATION-SET` header. SES's events come back through `POST /webhooks/sns`.
//!
//! Without a no-tracking set the provider engine cannot send anything untracked: SES would fall
//! back to the identity's default set, which may well track. So every path that would need an
//! untracked send is refused with the missing setting's name, never sent tracked in silence.

use std::collections::BTreeMap;

use anyhow::bail;
use beacon_tracking::policy::TrackingMode;

use crate::config::Transport;
use crate::store::{Db, projects};

/// The header SES's SMTP interface reads to pick a configuration set (and then strips).
pub const CONFIGURATION_SET_HEADER: &str = "X-SES-CONFIGURATION-SET";
/// SES message tags; Beacon tags each email with its id so SES events find the email even when
/// the message went through a relay that never tells Beacon SES's message id.
pub const MESSAGE_TAGS_HEADER: &str = "X-SES-MESSAGE-TAGS";
/// The tag (in SES events' `mail.tags`) that carries the email's id.
pub const EMAIL_TAG: &str = "beacon-email";

const TRACKING_SET: &str = "BEACON_SES_CONFIGURATION_SET";
const NO_TRACKING_SET: &str = "BEACON_SES_CONFIGURATION_SET_NO_TRACKING";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrackingEngine {
    Builtin,
    Provider {
        /// The SES configuration set whose event destination publishes opens and clicks.
        tracking_set: String,
        /// The set for untracked sends (no open/click tracking); `None` makes them impossible.
        no_tracking_set: Option<String>,
    },
}

/// How one send is carried out, from its tracking decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// The policy's verdict, stored on the email (`tracked`) whichever engine carries it out.
    pub tracked: bool,
    /// Beacon seals links and adds its pixel (builtin engine, tracked send).
    pub rewrite: bool,
    /// The SES configuration set to name in the message (provider engine).
    pub configuration_set: Option<String>,
}

/// An untracked send, or a mode that needs one, with the provider engine and no no-tracking
/// set. Its text names the missing setting.
#[derive(Debug, Clone, thiserror::Error)]
#[error(
    "needs BEACON_SES_CONFIGURATION_SET_NO_TRACKING: with the provider tracking engine an \
     untracked send goes through that SES configuration set, and none is configured"
)]
pub struct Unavailable;

impl TrackingEngine {
    /// Reads `BEACON_TRACKING_ENGINE` and the configuration sets, refusing combinations that
    /// could not do what they say.
    pub fn resolve(
        engine: Option<&str>,
        tracking_set: Option<String>,
        no_tracking_set: Option<String>,
        transport: &Transport,
    ) -> anyhow::Result<TrackingEngine> {
        let (tracking_set, no_tracking_set) = (
            checked_set(TRACKING_SET, tracking_set)?,
            checked_set(NO_TRACKING_SET, no_tracking_set)?,
        );
        match engine.unwrap_or("builtin") {
            "builtin" => {
                // Beacon tracks itself and never names a set: a configured one would be ignored.
                for (name, set) in [
                    (TRACKING_SET, &tracking_set),
                    (NO_TRACKING_SET, &no_tracking_set),
                ] {
                    if set.is_some() {
                        bail!(
                            "{name} is set, but BEACON_TRACKING_ENGINE is builtin (the default), \
                             which never names an SES configuration set: set \
                             BEACON_TRACKING_ENGINE=provider, or remove {name}"
                        );
                    }
                }
                Ok(TrackingEngine::Builtin)
            }
            "provider" => {
                let Some(tracking_set) = tracking_set else {
                    bail!(
                        "BEACON_TRACKING_ENGINE=provider needs {TRACKING_SET}: the SES \
                         configuration set that publishes opens and clicks"
                    );
                };
                if no_tracking_set.as_ref() == Some(&tracking_set) {
                    bail!("{NO_TRACKING_SET} must name another set than {TRACKING_SET}");
                }
                if matches!(transport, Transport::Outbox) {
                    bail!(
                        "BEACON_TRACKING_ENGINE=provider needs BEACON_TRANSPORT=ses (or smtp, \
                         through a relay in front of SES): the outbox never reaches SES, so \
                         nothing would be tracked"
                    );
                }
                Ok(TrackingEngine::Provider {
                    tracking_set,
                    no_tracking_set,
                })
            }
            other => bail!("BEACON_TRACKING_ENGINE={other:?} is not one of builtin, provider"),
        }
    }

    /// The wire name (`GET /v1/project`'s `trackingEngine`).
    pub fn name(&self) -> &'static str {
        match self {
            TrackingEngine::Builtin => "builtin",
            TrackingEngine::Provider { .. } => "provider",
        }
    }

    /// Carries out a tracking decision, or says why this engine cannot.
    pub fn decide(&self, tracked: bool) -> Result<Decision, Unavailable> {
        match self {
            TrackingEngine::Builtin => Ok(Decision {
                tracked,
                rewrite: tracked,
                configuration_set: None,
            }),
            TrackingEngine::Provider {
                tracking_set,
                no_tracking_set,
            } => {
                let set = if tracked {
                    tracking_set
                } else {
                    no_tracking_set.as_ref().ok_or(Unavailable)?
                };
                Ok(Decision {
                    tracked,
                    rewrite: false,
                    configuration_set: Some(set.clone()),
                })
            }
        }
    }

    /// Whether a project may use `mode`. `ENABLED` leaves untracked sends to an explicit
    /// `"tracking": false` (refused on its own); the other modes leave sends untracked by
    /// themselves, so they need the no-tracking set.
    pub fn check_mode(&self, mode: TrackingMode) -> Result<(), Unavailable> {
        match (self, mode) {
            (_, TrackingMode::Enabled) | (TrackingEngine::Builtin, _) => Ok(()),
            (
                TrackingEngine::Provider {
                    no_tracking_set: Some(_),
                    ..
                },
                _,
            ) => Ok(()),
            (TrackingEngine::Provider { .. }, _) => Err(Unavailable),
        }
    }

    /// The modes this engine offers and, for the others, why not (`GET /v1/project`).
    pub fn modes(&self) -> (Vec<&'static str>, BTreeMap<&'static str, String>) {
        let mut available = Vec::new();
        let mut unavailable = BTreeMap::new();
        for &mode in TrackingMode::ALL {
            match self.check_mode(mode) {
                Ok(()) => available.push(mode.as_str()),
                Err(e) => {
                    unavailable.insert(mode.as_str(), e.to_string());
                }
            }
        }
        (available, unavailable)
    }

    /// Custom headers may not pick a configuration set (or tags) behind the decision's back.
    pub fn owns_header(&self, name: &str) -> bool {
        matches!(self, TrackingEngine::Provider { .. })
            && [CONFIGURATION_SET_HEADER, MESSAGE_TAGS_HEADER]
                .iter()
                .any(|h| h.eq_ignore_ascii_case(name))
    }
}

/// The headers a send carries for the provider engine: its set, and the email id as a tag.
pub fn provider_headers(
    decision: &Decision,
    email_id: &str,
    headers: &mut BTreeMap<String, String>,
) {
    if let Some(set) = &decision.configuration_set {
        headers.insert(CONFIGURATION_SET_HEADER.into(), set.clone());
        headers.insert(
            MESSAGE_TAGS_HEADER.into(),
            format!("{EMAIL_TAG}={email_id}"),
        );
    }
}

/// SES's rule for configuration set names: letters, digits, `_` and `-`, at most 64.
fn checked_set(setting: &str, value: Option<String>) -> anyhow::Result<Option<String>> {
    let Some(v) = value
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
    else {
        return Ok(None);
    };
    if v.len() > 64
        || !v
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        bail!(
            "{setting}={v:?} is not an SES configuration set name (letters, digits, _ and -, at most 64)"
        );
    }
    Ok(Some(v))
}

/// At start: a project whose stored mode this engine cannot honour (set before the engine or
/// its sets changed) is named in the log. Its sends that the mode leaves untracked are refused
/// until the setting is added or the mode changed; its tracked sends go out as usual.
pub async fn warn_unavailable_modes(db: &Db, engine: &TrackingEngine) -> anyhow::Result<()> {
    for p in projects::list(db).await? {
        let Ok(mode) = p.tracking_mode.parse::<TrackingMode>() else {
            continue;
        };
        if let Err(e) = engine.check_mode(mode) {
            tracing::warn!(
                project = %p.id,
                mode = %mode,
                "the project's tracking mode {mode} is unavailable: it {e}; its sends that the \
                 mode leaves untracked are refused until that setting is added or the mode is \
                 changed to ENABLED"
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provider(no_tracking: Option<&str>) -> TrackingEngine {
        TrackingEngine::Provider {
            tracking_set: "t".into(),
            no_tracking_set: no_tracking.map(str::to_string),
        }
    }

    #[test]
    fn the_provider_engine_picks_a_set_and_never_rewrites() {
        let both = provider(Some("n"));
        let tracked = both.decide(true).unwrap();
        assert_eq!((tracked.tracked, tracked.rewrite), (true, false));
        assert_eq!(tracked.configuration_set.as_deref(), Some("t"));
        let untracked = both.decide(false).unwrap();
        assert_eq!((untracked.tracked, untracked.rewrite), (false, false));
        assert_eq!(untracked.configuration_set.as_deref(), Some("n"));
        assert!(provider(None).decide(false).is_err());
        assert!(provider(None).decide(true).is_ok());
        let builtin = TrackingEngine::Builtin.decide(true).unwrap();
        assert_eq!((builtin.rewrite, builtin.configuration_set), (true, None));
    }

    #[test]
    fn without_a_no_tracking_set_only_enabled_is_offered() {
        let (available, unavailable) = provider(None).modes();
        assert_eq!(available, ["ENABLED"]);
        assert_eq!(
            unavailable.keys().copied().collect::<Vec<_>>(),
            ["DISABLED", "MARKETING_ONLY"]
        );
        assert!(
            unavailable["DISABLED"].starts_with("needs BEACON_SES_CONFIGURATION_SET_NO_TRACKING")
        );
        assert_eq!(provider(Some("n")).modes().0.len(), 3);
        assert_eq!(TrackingEngine::Builtin.modes().0.len(), 3);
    }

    #[test]
    fn only_the_provider_engine_owns_the_ses_headers() {
        assert!(provider(None).owns_header("x-ses-configuration-set"));
        assert!(provider(None).owns_header("X-SES-MESSAGE-TAGS"));
        assert!(!provider(None).owns_header("X-Campaign"));
        assert!(!TrackingEngine::Builtin.owns_header("X-SES-CONFIGURATION-SET"));
    }
}
