//! Campaigns: the list, a draft's editor (with a preview that records nothing, a test send and
//! the tracking it will get), sending now or later after a confirmation with the recipient
//! count, cancelling, and deleting. Results are `campaign_results.rs`. Every action goes
//! through `actions::campaigns`, as `/v1/campaigns` does.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect};
use beacon_tracking::policy::CampaignType;
use serde::Deserialize;
use serde_json::{Value, json};

use super::page::{Errors, Nav, PageResult, notice, with_status};
use super::session::{Form, Member};
use super::view::{pct, utm_from_lines, utm_lines_of, when_opt};
use crate::actions::campaigns::{self as actions, Fields};
use crate::campaigns::audience::AudienceSpec;
use crate::domain::MailboxInput;
use crate::error::ApiError;
use crate::startup::AppState;
use crate::store::campaigns::{self, Campaign};
use crate::store::{segments, stats, templates};

#[derive(Deserialize)]
pub struct CampaignPath {
    pub cid: String,
}

#[derive(Deserialize)]
pub struct NoticeQuery {
    notice: Option<String>,
}

/// A row of the list.
pub struct Row {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub status: String,
    pub audience: String,
    pub sent: i64,
    pub open_rate: String,
    pub click_rate: String,
    pub when: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "campaigns.html")]
struct ListPage {
    nav: Nav,
    notice: &'static str,
    rows: Vec<Row>,
}

/// The audience in words, from the project's segment names.
fn audience_in_words(c: &Campaign, names: &std::collections::HashMap<String, String>) -> String {
    let spec: Value = serde_json::from_str(&c.audience).unwrap_or(Value::Null);
    match AudienceSpec::parse(&spec) {
        Ok(AudienceSpec::Segment { segment_id }) => match names.get(&segment_id) {
            Some(name) => format!("Segment: {name}"),
            None => "a segment that no longer exists".to_string(),
        },
        Ok(AudienceSpec::Filter { .. }) => "Contacts matching its filter".to_string(),
        _ if crate::campaigns::kind(c) == CampaignType::Marketing => {
            "All subscribed contacts".to_string()
        }
        _ => "All contacts".to_string(),
    }
}

/// The audience in words: "All subscribed contacts" or the segment's name.
pub(super) async fn audience_words(state: &AppState, c: &Campaign) -> String {
    let spec: Value = serde_json::from_str(&c.audience).unwrap_or(Value::Null);
    let marketing = crate::campaigns::kind(c) == CampaignType::Marketing;
    match AudienceSpec::parse(&spec) {
        Ok(AudienceSpec::Filter { .. }) => "Contacts matching its filter".to_string(),
        Ok(AudienceSpec::Segment { segment_id }) => {
            match segments::get(&state.db, &c.project_id, &segment_id).await {
                Ok(Some(s)) => format!("Segment: {}", s.name),
                _ => "a segment that no longer exists".to_string(),
            }
        }
        _ if marketing => "All subscribed contacts".to_string(),
        _ => "All contacts".to_string(),
    }
}

pub async fn list(
    State(state): State<AppState>,
    m: Member,
    Query(q): Query<NoticeQuery>,
) -> PageResult {
    let all = campaigns::newest(&state.db, &m.project.id, 200).await?;
    let totals = stats::totals_by_campaign(&state.db, &m.project.id).await?;
    let names: std::collections::HashMap<String, String> =
        segments::list(&state.db, &m.project.id, None, 1000)
            .await?
            .into_iter()
            .map(|s| (s.id, s.name))
            .collect();
    let mut rows = Vec::with_capacity(all.len());
    for c in &all {
        let t = totals.get(&c.id).cloned().unwrap_or_default();
        rows.push(Row {
            id: c.id.clone(),
            name: c.name.clone(),
            kind: c.kind.clone(),
            status: c.status.clone(),
            audience: audience_in_words(c, &names),
            sent: t.sent,
            open_rate: pct(t.unique_opens, t.tracked),
            click_rate: pct(t.unique_clicks, t.tracked),
            when: when_opt(c.started_at.or(c.scheduled_at)),
        });
    }
    let page = ListPage {
        nav: Nav::new(&m, "campaigns"),
        notice: notice(q.notice.as_deref()),
        rows,
    };
    Ok(page.into_response())
}

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
    fn of(c: &Campaign) -> DraftForm {
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
    fn fields(&self) -> Result<Fields, ApiError> {
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
struct EditPage {
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

async fn edit_page(
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
fn form_errors(e: &ApiError) -> Errors {
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

pub async fn create(
    State(state): State<AppState>,
    m: Member,
    Form(f): Form<DraftForm>,
) -> PageResult {
    let outcome = match f.fields() {
        Ok(fields) => actions::create(&state.db, &m.project.id, fields).await,
        Err(e) => Err(e),
    };
    match outcome {
        Ok(c) => {
            Ok(Redirect::to(&m.url(&format!("/campaigns/{}?notice=saved", c.id))).into_response())
        }
        Err(e @ ApiError::Internal(_)) => Err(e.into()),
        Err(e) => {
            let page = edit_page(&state, &m, None, f, "", form_errors(&e)).await?;
            Ok(with_status(e.status(), page))
        }
    }
}

/// A campaign's page: the editor while it is a draft, its progress and results after.
pub async fn show(
    State(state): State<AppState>,
    m: Member,
    Path(p): Path<CampaignPath>,
    Query(q): Query<NoticeQuery>,
) -> PageResult {
    let c = actions::fetch(&state.db, &m.project.id, &p.cid).await?;
    if c.status == "DRAFT" {
        let page = edit_page(
            &state,
            &m,
            Some(c.id.clone()),
            DraftForm::of(&c),
            notice(q.notice.as_deref()),
            Errors::none(),
        )
        .await?;
        return Ok(page.into_response());
    }
    super::campaign_results::page(&state, &m, c, notice(q.notice.as_deref())).await
}

pub async fn update(
    State(state): State<AppState>,
    m: Member,
    Path(p): Path<CampaignPath>,
    Form(f): Form<DraftForm>,
) -> PageResult {
    let outcome = match f.fields() {
        Ok(fields) => actions::update(&state.db, &m.project.id, &p.cid, fields).await,
        Err(e) => Err(e),
    };
    match outcome {
        Ok(c) => {
            Ok(Redirect::to(&m.url(&format!("/campaigns/{}?notice=saved", c.id))).into_response())
        }
        Err(e @ (ApiError::Internal(_) | ApiError::NotFound(_))) => Err(e.into()),
        Err(e) => {
            let page = edit_page(&state, &m, Some(p.cid), f, "", form_errors(&e)).await?;
            Ok(with_status(e.status(), page))
        }
    }
}

#[derive(Deserialize)]
pub struct TestForm {
    #[serde(default)]
    to: String,
}

/// A test send, untracked and uncounted, as `POST /v1/campaigns/{id}/test`.
pub async fn test(
    State(state): State<AppState>,
    m: Member,
    Path(p): Path<CampaignPath>,
    Form(f): Form<TestForm>,
) -> PageResult {
    match actions::test_send(&state, &m.project, &p.cid, &f.to).await {
        Ok(_) => {
            Ok(Redirect::to(&m.url(&format!("/campaigns/{}?notice=test", p.cid))).into_response())
        }
        Err(e @ (ApiError::Internal(_) | ApiError::NotFound(_))) => Err(e.into()),
        Err(e) => {
            let c = actions::fetch(&state.db, &m.project.id, &p.cid).await?;
            let mut errors = Errors::none();
            errors.add("to", &e.to_string());
            let page = edit_page(
                &state,
                &m,
                Some(c.id.clone()),
                DraftForm::of(&c),
                "",
                errors,
            )
            .await?;
            Ok(with_status(e.status(), page))
        }
    }
}
