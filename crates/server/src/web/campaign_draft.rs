//! A campaign draft's editor: the form as typed and in the API's terms, the page (new, or a
//! draft's; started from a template on request), its tracking note. The handlers that save and
//! send are `campaigns.rs`; every rule is `actions::campaigns`'s, as for `/v1/campaigns`.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::{Value, json};

use super::page::{Errors, Nav, PageResult, with_status};
use super::session::Member;
use super::view::{utm_from_lines, utm_lines_of};
use crate::actions::campaigns::{self as actions, Fields};
use crate::campaigns::audience::AudienceSpec;
use crate::domain::MailboxInput;
use crate::error::ApiError;
use crate::startup::AppState;
use crate::store::campaigns::Campaign;
use crate::store::{segments, templates};

/// The editor's fields, as typed.
#[derive(Deserialize, Default, Clone)]
pub struct DraftForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    subject: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    from_name: String,
    #[serde(default)]
    reply_to: String,
    #[serde(default)]
    kind: String,
    /// `all` or `segment`.
    #[serde(default)]
    audience: String,
    #[serde(default)]
    segment: String,
    /// With audience `filter`: the condition, as JSON (the segments' grammar).
    #[serde(default)]
    filter: String,
    #[serde(default)]
    utm: String,
    #[serde(default)]
    body: String,
}

impl DraftForm {
    pub(super) fn of(c: &Campaign) -> DraftForm {
        let spec: Value = serde_json::from_str(&c.audience).unwrap_or(Value::Null);
        let (audience, segment, filter) = match AudienceSpec::parse(&spec) {
            Ok(AudienceSpec::Segment { segment_id }) => ("segment", segment_id, String::new()),
            Ok(AudienceSpec::Filter { condition }) => (
                "filter",
                String::new(),
                serde_json::to_string_pretty(&condition).unwrap_or_default(),
            ),
            _ => ("all", String::new(), String::new()),
        };
        DraftForm {
            name: c.name.clone(),
            subject: c.subject.clone(),
            from: c.from_email.clone(),
            from_name: c.from_name.clone().unwrap_or_default(),
            reply_to: c.reply_to.clone().unwrap_or_default(),
            kind: c.kind.clone(),
            audience: audience.to_string(),
            segment,
            filter,
            utm: utm_lines_of(c.utm.as_deref()),
            body: c.body.clone(),
        }
    }

    /// The change the form asks for, in the API's terms.
    pub(super) fn fields(&self) -> Result<Fields, ApiError> {
        let audience = match self.audience.as_str() {
            "segment" => json!({ "segmentId": self.segment }),
            "filter" => {
                let condition: Value = serde_json::from_str(&self.filter).map_err(|e| {
                    ApiError::invalid("audience", format!("the filter is not JSON: {e}"))
                })?;
                json!({ "condition": condition })
            }
            _ => json!({ "all": true }),
        };
        let utm = if self.utm.trim().is_empty() {
            Value::Null
        } else {
            utm_from_lines(&self.utm)?
        };
        Ok(Fields {
            name: Some(self.name.clone()),
            subject: Some(self.subject.clone()),
            body: Some(self.body.clone()),
            from: Some(MailboxInput::Address(self.from.clone())),
            from_name: Some(self.from_name.clone()),
            reply_to: Some(self.reply_to.clone()),
            kind: Some(self.kind.clone()),
            audience: Some(audience),
            utm: Some(utm),
        })
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "campaign_edit.html")]
pub(super) struct EditPage {
    nav: Nav,
    notice: &'static str,
    /// `None` for a new campaign.
    id: Option<String>,
    form: DraftForm,
    /// (id, name) of the project's segments.
    segments: Vec<(String, String)>,
    tracking: String,
    errors: Errors,
    /// (id, name) of the project's templates, for a new draft to start from.
    templates: Vec<(String, String)>,
    /// The template the draft started from.
    template: String,
}

async fn segment_choices(state: &AppState, m: &Member) -> PageResult<Vec<(String, String)>> {
    Ok(segments::list(&state.db, &m.project.id, None, 500)
        .await?
        .into_iter()
        .map(|s| (s.id, s.name))
        .collect())
}

pub(super) async fn edit_page(
    state: &AppState,
    m: &Member,
    id: Option<String>,
    form: DraftForm,
    notice: &'static str,
    errors: Errors,
) -> PageResult<EditPage> {
    let tracking = tracking_words(state, m, &form.kind);
    Ok(EditPage {
        nav: Nav::new(m, "campaigns"),
        notice,
        id,
        form,
        segments: segment_choices(state, m).await?,
        tracking,
        errors,
        templates: Vec::new(),
        template: String::new(),
    })
}

/// An `ApiError` placed at the form's field: `fromName` → `from_name` and so on.
pub(super) fn form_errors(e: &ApiError) -> Errors {
    let mut errors = Errors::none();
    let field = match e.field().unwrap_or("") {
        "fromName" => "from_name",
        "replyTo" => "reply_to",
        "type" => "kind",
        f if f.starts_with("utm") => "utm",
        f if f.starts_with("audience") => "audience",
        f => f,
    };
    errors.add(field, &e.to_string());
    errors
}

/// Whether a campaign of this type (`MARKETING` when empty) will be tracked under the
/// project's mode, in words.
fn tracking_words(state: &AppState, m: &Member, kind: &str) -> String {
    let probe = Campaign {
        kind: if kind.is_empty() {
            "MARKETING".into()
        } else {
            kind.to_string()
        },
        ..Campaign::default()
    };
    actions::tracking_note(state, &m.project, &probe).unwrap_or_else(|e| e.to_string())
}

#[derive(Deserialize)]
pub struct KindQuery {
    #[serde(default)]
    kind: String,
}

/// The editor's tracking note for the type just chosen (htmx swaps it in on change).
pub async fn tracking_note(
    State(state): State<AppState>,
    m: Member,
    Query(q): Query<KindQuery>,
) -> PageResult {
    let words = tracking_words(&state, &m, &q.kind);
    let html = format!(
        "<p class=\"hint\" id=\"tracking-note\">Tracking: {}.</p>",
        beacon_tracking::html::escape(&words)
    );
    Ok(axum::response::Html(html).into_response())
}

#[derive(Deserialize)]
pub struct NewQuery {
    /// A saved template to start from.
    template: Option<String>,
}

/// The editor for a new draft, empty or started from one of the project's templates (its
/// name, subject and body; a `TRANSACTIONAL` template makes a transactional campaign, the
/// others a marketing one, as they count when sent).
pub async fn new_page(
    State(state): State<AppState>,
    m: Member,
    Query(q): Query<NewQuery>,
) -> PageResult {
    let mut form = DraftForm {
        kind: "MARKETING".into(),
        audience: "all".into(),
        from: state.settings.default_from.clone(),
        ..DraftForm::default()
    };
    let mut errors = Errors::none();
    match q.template.as_deref().filter(|t| !t.is_empty()) {
        None => {}
        Some(id) => match templates::get(&state.db, &m.project.id, id).await? {
            Some(t) => {
                form.name = t.name;
                form.subject = t.subject;
                form.body = t.body;
                if t.kind == "TRANSACTIONAL" {
                    form.kind = t.kind;
                }
            }
            None => errors.add("template", "that template is not one of this project's"),
        },
    }
    let mut page = edit_page(&state, &m, None, form, "", errors).await?;
    page.templates = templates::list(&state.db, &m.project.id, None, 500)
        .await?
        .into_iter()
        .map(|t| (t.id, t.name))
        .collect();
    page.template = q.template.unwrap_or_default();
    if page.errors.is_empty() {
        Ok(page.into_response())
    } else {
        Ok(with_status(
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            page,
        ))
    }
}
