//! Link settings: the campaign parameters (UTM) added to tracked links' destinations, and
//! whether the plain-text part's links are tracked too. The rules live here, below the API and
//! the dashboard, which only read input and render output around them.
//!
//! - A **project** has a parameter set (`utm`: JSON object name → value, none by default) and a
//!   text-part flag (`trackTextLinks`, off by default). A PATCH replaces the whole set.
//! - A **campaign** may change its project's set (`utm`: name → value to add or replace, or
//!   `null` to drop that parameter); without one it uses the project's as they are when it goes
//!   out.
//! - Every send of the project (`/v1/send`, campaigns, workflows) adds the parameters to its
//!   tracked links when it is tracked by Beacon; untracked sends and opted-out links never get
//!   them (`beacon_tracking::links::UtmSet` says how they are added).

use beacon_tracking::links::{UtmError, UtmSet};
use serde_json::{Map, Value, json};

use crate::error::ApiError;
use crate::store::campaigns::Campaign;
use crate::store::projects::Project;

/// A project's link settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LinkSettings {
    /// Parameters added to the destinations of tracked links.
    pub utm: UtmSet,
    /// Track the links of the plain-text part too.
    pub track_text: bool,
}

/// What one send does with its links (a project's settings, a campaign's changes applied).
#[derive(Debug, Clone, Default)]
pub struct SendLinks {
    pub utm: UtmSet,
    pub track_text: bool,
    /// The base URL of the project's verified tracking domain, for its links, pixel and
    /// unsubscribe page; `None`: the instance's public URL (`crate::actions::domains`).
    pub base: Option<String>,
}

impl LinkSettings {
    /// The project's stored settings. Values are checked when written; one that no longer
    /// parses (edited by hand) counts as no parameters, and is logged.
    pub fn of(project: &Project) -> Self {
        let utm = project
            .utm
            .as_deref()
            .map_or_else(UtmSet::default, |stored| {
                stored_set(stored).unwrap_or_else(|e| {
                    tracing::warn!(project = %project.id, error = %e, "stored utm ignored");
                    UtmSet::default()
                })
            });
        Self {
            utm,
            track_text: project.track_text_links != 0,
        }
    }

    /// Applies a change: `utm` replaces the whole set (`null` or `{}`: none), `track_text` the
    /// flag. Nothing changes unless every part is valid.
    ///
    /// # Errors
    /// A 422 naming the field (`utm`, or `utm.<name>` for a bad parameter).
    pub fn change(
        &mut self,
        utm: Option<&Value>,
        track_text: Option<bool>,
    ) -> Result<(), ApiError> {
        if let Some(value) = utm {
            self.utm = parse_set("utm", value)?;
        }
        if let Some(flag) = track_text {
            self.track_text = flag;
        }
        Ok(())
    }

    /// The set as stored: a JSON object, `None` when empty.
    pub fn stored_utm(&self) -> Option<String> {
        (!self.utm.is_empty()).then(|| view_set(&self.utm).to_string())
    }

    /// The API's and the dashboard's view: `{"utm": {…}, "trackTextLinks": bool}`.
    pub fn view(&self) -> Value {
        json!({ "utm": view_set(&self.utm), "trackTextLinks": self.track_text })
    }
}

/// Stores `settings` as `project`'s and updates `project` to match.
pub async fn save(
    db: &crate::store::Db,
    project: &mut Project,
    settings: &LinkSettings,
) -> Result<(), sqlx::Error> {
    let utm = settings.stored_utm();
    crate::store::projects::update_links(db, &project.id, utm.as_deref(), settings.track_text)
        .await?;
    project.utm = utm;
    project.track_text_links = crate::store::flag(settings.track_text);
    Ok(())
}

/// What a send of `project` (for `campaign`, if any) does with its links.
pub fn for_send(project: &Project, campaign: Option<&Campaign>) -> SendLinks {
    let settings = LinkSettings::of(project);
    let utm = match campaign.and_then(|c| c.utm.as_deref()) {
        Some(changes) => apply_changes(&settings.utm, changes),
        None => settings.utm,
    };
    SendLinks {
        utm,
        track_text: settings.track_text,
        base: project.tracking_url.clone(),
    }
}

/// Checks a campaign's `utm` (object of name → string or `null`; `null` as a whole: the
/// project's as they are) and returns it as stored.
///
/// # Errors
/// A 422 naming `utm` or `utm.<name>`.
pub fn parse_campaign_changes(value: &Value) -> Result<Option<String>, ApiError> {
    let changes = match value {
        Value::Null => return Ok(None),
        Value::Object(map) => map,
        _ => return Err(not_an_object("utm")),
    };
    let mut set = Vec::new();
    for (name, v) in changes {
        match v {
            Value::String(s) => set.push((name.clone(), s.clone())),
            Value::Null => set.push((name.clone(), "-".into())), // checked as a name only
            _ => {
                return Err(ApiError::invalid(
                    &format!("utm.{name}"),
                    "give a string, or null to drop it",
                ));
            }
        }
    }
    UtmSet::new(set).map_err(|e| utm_error("utm", e))?;
    Ok(Some(value.to_string()))
}

/// A campaign's `utm` as the API shows it (`null` when it has none).
pub fn view_campaign_changes(campaign: &Campaign) -> Value {
    campaign
        .utm
        .as_deref()
        .and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or(Value::Null)
}

fn apply_changes(project: &UtmSet, changes: &str) -> UtmSet {
    let Ok(Value::Object(changes)) = serde_json::from_str::<Value>(changes) else {
        return project.clone();
    };
    let mut params: Vec<(String, String)> = project
        .params()
        .iter()
        .filter(|(name, _)| !changes.keys().any(|k| k.eq_ignore_ascii_case(name)))
        .cloned()
        .collect();
    params.extend(
        changes
            .iter()
            .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string()))),
    );
    params.sort();
    // Each part was checked when stored; the union of two valid sets can only be too long.
    UtmSet::new(params).unwrap_or_else(|_| project.clone())
}

fn parse_set(field: &str, value: &Value) -> Result<UtmSet, ApiError> {
    let map = match value {
        Value::Null => return Ok(UtmSet::default()),
        Value::Object(map) => map,
        _ => return Err(not_an_object(field)),
    };
    let mut pairs = Vec::with_capacity(map.len());
    for (name, v) in map {
        let Value::String(s) = v else {
            return Err(ApiError::invalid(
                &format!("{field}.{name}"),
                "give a string value",
            ));
        };
        pairs.push((name.clone(), s.clone()));
    }
    UtmSet::new(pairs).map_err(|e| utm_error(field, e))
}

fn stored_set(stored: &str) -> Result<UtmSet, ApiError> {
    let value: Value =
        serde_json::from_str(stored).map_err(|e| ApiError::invalid("utm", e.to_string()))?;
    parse_set("utm", &value)
}

fn view_set(set: &UtmSet) -> Value {
    let map: Map<String, Value> = set
        .params()
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    Value::Object(map)
}

fn not_an_object(field: &str) -> ApiError {
    ApiError::invalid(
        field,
        "give an object of parameter names and values, e.g. {\"utm_source\": \"newsletter\"}, or null",
    )
}

fn utm_error(field: &str, e: UtmError) -> ApiError {
    let field = match &e {
        UtmError::Name(n) | UtmError::Duplicate(n) | UtmError::Value(n) => format!("{field}.{n}"),
        UtmError::TooMany => field.to_string(),
    };
    ApiError::invalid(&field, e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project(utm: Option<&str>) -> Project {
        Project {
            id: "p".into(),
            name: "p".into(),
            secret_key: String::new(),
            public_key: String::new(),
            tracking_mode: "ENABLED".into(),
            created_at: 0,
            utm: utm.map(str::to_string),
            track_text_links: 1,
            tracking_url: None,
        }
    }

    #[test]
    fn campaigns_change_the_projects_set() {
        let p = project(Some(r#"{"utm_medium":"email","utm_source":"beacon"}"#));
        let c = Campaign {
            utm: Some(r#"{"UTM_SOURCE":null,"utm_campaign":"spring"}"#.into()),
            ..Campaign::default()
        };
        let links = for_send(&p, Some(&c));
        assert_eq!(
            links.utm.apply("https://x.com/"),
            "https://x.com/?utm_campaign=spring&utm_medium=email"
        );
        assert!(links.track_text);
        assert_eq!(for_send(&p, None).utm.params().len(), 2);
    }

    #[test]
    fn bad_input_names_the_parameter() {
        let mut s = LinkSettings::default();
        let e = s
            .change(Some(&json!({ "utm_source": 3 })), None)
            .unwrap_err();
        assert!(format!("{e:?}").contains("utm.utm_source"), "{e:?}");
        assert!(s.change(Some(&json!("x")), None).is_err());
        assert!(s.change(Some(&json!({ "a b": "x" })), None).is_err());
        assert!(parse_campaign_changes(&json!({ "utm_source": 1 })).is_err());
        assert_eq!(parse_campaign_changes(&Value::Null).unwrap(), None);
        s.change(Some(&json!({ "utm_source": "b" })), Some(true))
            .unwrap();
        assert_eq!(
            s.view(),
            json!({ "utm": { "utm_source": "b" }, "trackTextLinks": true })
        );
        s.change(Some(&json!({})), None).unwrap();
        assert_eq!(s.stored_utm(), None);
    }
}
