//! Who a campaign goes to: every contact of the project, or a segment's.

use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::store::contacts::{self, Contact};
use crate::store::{Db, campaigns::Campaign};

/// The audience as the API takes it: `{"all": true}`, `{"segmentId": "…"}`, or
/// `{"condition": {…}}` (a segment's condition given in place, for this campaign alone).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged, deny_unknown_fields)]
pub enum AudienceSpec {
    All {
        all: bool,
    },
    Segment {
        #[serde(rename = "segmentId")]
        segment_id: String,
    },
    Filter {
        condition: serde_json::Value,
    },
}

impl AudienceSpec {
    /// The spec, its condition checked by the segments' grammar (errors name
    /// `audience.condition…`).
    pub fn parse(v: &serde_json::Value) -> Result<AudienceSpec, ApiError> {
        match serde_json::from_value::<AudienceSpec>(v.clone()) {
            Ok(AudienceSpec::All { all: false }) | Err(_) => Err(ApiError::invalid(
                "audience",
                "audience must be {\"all\": true}, {\"segmentId\": \"<id>\"} or \
                 {\"condition\": {…}} (a segment's condition)",
            )),
            Ok(AudienceSpec::Filter { condition }) => {
                crate::segments::Condition::parse_at(&condition, "audience.condition")?;
                Ok(AudienceSpec::Filter { condition })
            }
            Ok(spec) => Ok(spec),
        }
    }
}

/// An audience ready to be walked page by page.
pub enum Audience {
    All,
    Segment(crate::segments::Condition),
}

impl Audience {
    pub async fn load(db: &Db, c: &Campaign) -> anyhow::Result<Audience> {
        let spec: AudienceSpec = serde_json::from_str(&c.audience)?;
        Ok(match spec {
            AudienceSpec::All { .. } => Audience::All,
            AudienceSpec::Filter { condition } => Audience::Segment(
                crate::segments::Condition::parse(&condition)
                    .map_err(|e| anyhow::anyhow!("the campaign's condition: {e}"))?,
            ),
            AudienceSpec::Segment { segment_id } => {
                let segment = crate::store::segments::get(db, &c.project_id, &segment_id)
                    .await?
                    .ok_or_else(|| anyhow::anyhow!("segment {segment_id} no longer exists"))?;
                let condition: serde_json::Value = serde_json::from_str(&segment.condition)?;
                Audience::Segment(
                    crate::segments::Condition::parse(&condition)
                        .map_err(|e| anyhow::anyhow!("segment {segment_id}: {e}"))?,
                )
            }
        })
    }

    /// Up to `limit` contacts after `cursor`, in id order.
    pub async fn page(
        &self,
        db: &Db,
        project_id: &str,
        cursor: &str,
        limit: i64,
    ) -> Result<Vec<Contact>, sqlx::Error> {
        let after = (!cursor.is_empty()).then_some(cursor);
        match self {
            Audience::All => contacts::list(db, project_id, after, limit).await,
            Audience::Segment(cond) => {
                crate::segments::contacts_page(db, project_id, cond, after, limit).await
            }
        }
    }
}
