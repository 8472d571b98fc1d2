//! Whether a send is tracked: the project's [`TrackingMode`] × the send's source × an optional
//! per-send override.
//!
//! Tracking is all or nothing for a send: opens and clicks are decided together. The rule, in
//! order:
//!
//! 1. An explicit per-send override (`Some(true)` / `Some(false)`) wins over the mode. The mode
//!    is the project's default; the override is an explicit decision by whoever sends this one
//!    email, and the API that accepts it is already authenticated per project.
//! 2. [`TrackingMode::Enabled`] tracks everything, [`TrackingMode::Disabled`] nothing.
//! 3. [`TrackingMode::MarketingOnly`] tracks marketing sends and never transactional ones. A send
//!    is transactional when its source is [`SourceType::Transactional`] (`POST /v1/send`), when its
//!    template is [`TemplateType::Transactional`], or when it belongs to a campaign of type
//!    [`CampaignType::Transactional`]. Campaign and workflow sends with a marketing or headless
//!    template (or none) are marketing.
//!
//! ```
//! use beacon_tracking::policy::{should_track, Send, SourceType, TemplateType, TrackingMode};
//!
//! let workflow = Send::new(SourceType::Workflow).template(TemplateType::Headless);
//! assert!(should_track(TrackingMode::MarketingOnly, &workflow, None));
//! let receipt = Send::new(SourceType::Workflow).template(TemplateType::Transactional);
//! assert!(!should_track(TrackingMode::MarketingOnly, &receipt, None));
//! // An explicit override wins over the mode.
//! assert!(should_track(TrackingMode::Disabled, &receipt, Some(true)));
//! ```

use serde::{Deserialize, Serialize};

/// Error of a `FromStr` on one of this module's enums: says which values are valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} {value:?}: expected one of {expected}")]
pub struct ParseEnumError {
    /// Which enum was being parsed, e.g. `"tracking mode"`.
    pub kind: &'static str,
    /// The rejected input.
    pub value: String,
    /// The valid wire names, comma-separated.
    pub expected: &'static str,
}

/// Declares a wire enum with SCREAMING_CASE names, `as_str`, `Display`, `FromStr` and serde.
macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident, $kind:literal, { $($(#[$vmeta:meta])* $variant:ident => $wire:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $wire)] $variant),+
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The SCREAMING_CASE wire name, as stored and sent over the API.
            #[must_use]
            pub const fn as_str(self) -> &'static str {
                match self { $($name::$variant => $wire),+ }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = ParseEnumError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($wire => Ok($name::$variant),)+
                    _ => Err(ParseEnumError {
                        kind: $kind,
                        value: s.to_owned(),
                        expected: concat!($($wire, ", "),+).trim_end_matches(", "),
                    }),
                }
            }
        }
    };
}

wire_enum!(
    /// A project's tracking setting (Settings → Tracking).
    ///
    /// ```
    /// use beacon_tracking::policy::TrackingMode;
    /// assert_eq!("MARKETING_ONLY".parse::<TrackingMode>(), Ok(TrackingMode::MarketingOnly));
    /// let err = "on".parse::<TrackingMode>().unwrap_err();
    /// assert!(err.to_string().contains("ENABLED, DISABLED, MARKETING_ONLY"));
    /// ```
    TrackingMode, "tracking mode", {
        /// Every email is tracked.
        Enabled => "ENABLED",
        /// No email is tracked.
        Disabled => "DISABLED",
        /// Campaigns and workflow sends are tracked, transactional sends never.
        MarketingOnly => "MARKETING_ONLY",
    }
);

wire_enum!(
    /// Where a send comes from.
    ///
    /// ```
    /// use beacon_tracking::policy::SourceType;
    /// assert_eq!(SourceType::Campaign.as_str(), "CAMPAIGN");
    /// ```
    SourceType, "source type", {
        /// `POST /v1/send`.
        Transactional => "TRANSACTIONAL",
        /// A campaign send.
        Campaign => "CAMPAIGN",
        /// A workflow step.
        Workflow => "WORKFLOW",
    }
);

wire_enum!(
    /// The type of the template a send uses.
    ///
    /// ```
    /// use beacon_tracking::policy::TemplateType;
    /// assert_eq!(serde_json::to_string(&TemplateType::Headless).unwrap(), "\"HEADLESS\"");
    /// ```
    TemplateType, "template type", {
        /// Receipts, password resets…: never tracked in marketing-only mode.
        Transactional => "TRANSACTIONAL",
        /// Newsletters and the like.
        Marketing => "MARKETING",
        /// Template without layout; counts as marketing.
        Headless => "HEADLESS",
    }
);

wire_enum!(
    /// The type of a campaign.
    ///
    /// ```
    /// use beacon_tracking::policy::CampaignType;
    /// assert_eq!("TRANSACTIONAL".parse(), Ok(CampaignType::Transactional));
    /// ```
    CampaignType, "campaign type", {
        /// A regular marketing campaign.
        Marketing => "MARKETING",
        /// A campaign marked transactional (e.g. a terms-of-service notice): never tracked in
        /// marketing-only mode.
        Transactional => "TRANSACTIONAL",
    }
);

/// What the policy needs to know about one send.
///
/// ```
/// use beacon_tracking::policy::{CampaignType, Send, SourceType};
/// let send = Send::new(SourceType::Campaign).campaign(CampaignType::Transactional);
/// assert!(send.is_transactional());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Send {
    /// Where the send comes from.
    pub source: SourceType,
    /// The template's type, when the send uses a template.
    pub template_type: Option<TemplateType>,
    /// The campaign's type, for campaign sends.
    pub campaign_type: Option<CampaignType>,
}

impl Send {
    /// A send from `source` with no template and no campaign type.
    #[must_use]
    pub const fn new(source: SourceType) -> Self {
        Self {
            source,
            template_type: None,
            campaign_type: None,
        }
    }

    /// Sets the template type.
    #[must_use]
    pub const fn template(mut self, template_type: TemplateType) -> Self {
        self.template_type = Some(template_type);
        self
    }

    /// Sets the campaign type.
    #[must_use]
    pub const fn campaign(mut self, campaign_type: CampaignType) -> Self {
        self.campaign_type = Some(campaign_type);
        self
    }

    /// True when any of source, template or campaign type says transactional.
    #[must_use]
    pub fn is_transactional(&self) -> bool {
        self.source == SourceType::Transactional
            || self.template_type == Some(TemplateType::Transactional)
            || self.campaign_type == Some(CampaignType::Transactional)
    }
}

/// Decides whether `send` is tracked (opens and clicks together). See the [module docs](self)
/// for the rule; `override_` is the optional per-send choice and wins over `mode`.
///
/// ```
/// use beacon_tracking::policy::{should_track, Send, SourceType, TrackingMode};
/// let api = Send::new(SourceType::Transactional);
/// assert!(should_track(TrackingMode::Enabled, &api, None));
/// assert!(!should_track(TrackingMode::MarketingOnly, &api, None));
/// assert!(!should_track(TrackingMode::Enabled, &api, Some(false)));
/// ```
#[must_use]
pub fn should_track(mode: TrackingMode, send: &Send, override_: Option<bool>) -> bool {
    if let Some(explicit) = override_ {
        return explicit;
    }
    match mode {
        TrackingMode::Enabled => true,
        TrackingMode::Disabled => false,
        TrackingMode::MarketingOnly => !send.is_transactional(),
    }
}
