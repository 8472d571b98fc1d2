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
use serde_json::Value;

use super::campaign_draft::{DraftForm, edit_page, form_errors};
use super::page::{Errors, Nav, PageResult, notice, with_status};
use super::session::{Form, Member};
use super::view::{pct, when_opt};
use crate::actions::campaigns as actions;
use crate::campaigns::audience::AudienceSpec;
use crate::error::ApiError;
use crate::startup::AppState;
use crate::store::campaigns::{self, Campaign};
use crate::store::{segments, stats};

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
