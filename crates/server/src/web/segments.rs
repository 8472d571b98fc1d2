//! Segments: the list (each count filled in as the page loads), the builder with a live count,
//! a segment's members, and deleting. Every change goes through `actions::segments`, as
//! `/v1/segments` does.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect};
use serde::Deserialize;
use serde_json::Value;

use super::page::{Errors, Nav, PageError, PageResult, notice, with_status};
use super::segment_form::{ROWS, Row, SegmentForm, error_field};
use super::session::{Empty, Form, Member};
use crate::actions::segments as actions;
use crate::error::ApiError;
use crate::startup::AppState;
use crate::store::{campaigns, segments as store};

#[derive(Deserialize)]
pub struct SegmentPath {
    pub sid: String,
}

#[derive(Deserialize)]
pub struct ListQuery {
    notice: Option<String>,
    cursor: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "segments.html")]
struct ListPage {
    nav: Nav,
    notice: &'static str,
    /// (id, name)
    rows: Vec<(String, String)>,
}

pub async fn list(
    State(state): State<AppState>,
    m: Member,
    Query(q): Query<ListQuery>,
) -> PageResult {
    let rows = store::list(&state.db, &m.project.id, None, 500)
        .await?
        .into_iter()
        .map(|s| (s.id, s.name))
        .collect();
    let page = ListPage {
        nav: Nav::new(&m, "segments"),
        notice: notice(q.notice.as_deref()),
        rows,
    };
    Ok(page.into_response())
}

/// One segment's member count, as a fragment the list and the builder load (htmx).
pub async fn count(
    State(state): State<AppState>,
    m: Member,
    Path(p): Path<SegmentPath>,
) -> PageResult {
    let segment = actions::fetch(&state.db, &m.project.id, &p.sid).await?;
    let cond = crate::segments::stored(&segment)?;
    let n = crate::segments::count(&state.db, &m.project.id, &cond).await?;
    Ok(Html(format!("{n}")).into_response())
}

#[derive(Template, WebTemplate)]
#[template(path = "segment_edit.html")]
struct EditPage {
    nav: Nav,
    notice: &'static str,
    id: Option<String>,
    form: SegmentForm,
    /// (id, name) of the project's campaigns, for activity rules.
    campaigns: Vec<(String, String)>,
    /// Members: (contact id, email), and the next page's cursor.
    members: Vec<(String, String)>,
    count: Option<i64>,
    next: Option<String>,
    errors: Errors,
}

impl EditPage {
    fn row(&self, i: &usize) -> &Row {
        &self.form.rows[*i]
    }

    fn rows(&self) -> std::ops::Range<usize> {
        0..ROWS
    }

    fn row_error(&self, i: &usize) -> &str {
        self.errors.get(&format!("rows[{i}]"))
    }
}

async fn campaign_choices(state: &AppState, m: &Member) -> PageResult<Vec<(String, String)>> {
    Ok(campaigns::newest(&state.db, &m.project.id, 200)
        .await?
        .into_iter()
        .map(|c| (c.id, c.name))
        .collect())
}

async fn edit_page(
    state: &AppState,
    m: &Member,
    id: Option<String>,
    form: SegmentForm,
    notice: &'static str,
    errors: Errors,
    cursor: Option<&str>,
) -> PageResult<EditPage> {
    let (mut members, mut count, mut next) = (Vec::new(), None, None);
    if let Some(sid) = &id {
        let segment = actions::fetch(&state.db, &m.project.id, sid).await?;
        let cond = crate::segments::stored(&segment)?;
        let page =
            crate::segments::contacts_page(&state.db, &m.project.id, &cond, cursor, 50).await?;
        next = (page.len() == 50)
            .then(|| page.last().map(|c| c.id.clone()))
            .flatten();
        members = page.into_iter().map(|c| (c.id, c.email)).collect();
        count = Some(crate::segments::count(&state.db, &m.project.id, &cond).await?);
    }
    Ok(EditPage {
        nav: Nav::new(m, "segments"),
        notice,
        id,
        form,
        campaigns: campaign_choices(state, m).await?,
        members,
        count,
        next,
        errors,
    })
}

fn form_errors(e: &ApiError, form: &SegmentForm) -> Errors {
    let mut errors = Errors::none();
    let from_rows = form.json.trim().is_empty();
    errors.add(
        &error_field(e.field().unwrap_or(""), from_rows),
        &e.to_string(),
    );
    errors
}

pub async fn new_page(State(state): State<AppState>, m: Member) -> PageResult {
    Ok(edit_page(
        &state,
        &m,
        None,
        SegmentForm::blank(),
        "",
        Errors::none(),
        None,
    )
    .await?
    .into_response())
}

pub async fn create(
    State(state): State<AppState>,
    m: Member,
    Form(f): Form<SegmentForm>,
) -> PageResult {
    let outcome = match f.condition() {
        Ok(cond) => actions::create(&state.db, &m.project.id, &f.name, &cond).await,
        Err(e) => Err(e),
    };
    match outcome {
        Ok(s) => {
            Ok(Redirect::to(&m.url(&format!("/segments/{}?notice=saved", s.id))).into_response())
        }
        Err(e @ ApiError::Internal(_)) => Err(e.into()),
        Err(e) => {
            let errors = form_errors(&e, &f);
            let page = edit_page(&state, &m, None, f, "", errors, None).await?;
            Ok(with_status(e.status(), page))
        }
    }
}

pub async fn show(
    State(state): State<AppState>,
    m: Member,
    Path(p): Path<SegmentPath>,
    Query(q): Query<ListQuery>,
) -> PageResult {
    let segment = actions::fetch(&state.db, &m.project.id, &p.sid).await?;
    let cond: Value = serde_json::from_str(&segment.condition).unwrap_or(Value::Null);
    let form = SegmentForm::of(&segment.name, &cond);
    let page = edit_page(
        &state,
        &m,
        Some(segment.id),
        form,
        notice(q.notice.as_deref()),
        Errors::none(),
        q.cursor.as_deref(),
    )
    .await?;
    Ok(page.into_response())
}

pub async fn update(
    State(state): State<AppState>,
    m: Member,
    Path(p): Path<SegmentPath>,
    Form(f): Form<SegmentForm>,
) -> PageResult {
    let outcome = match f.condition() {
        Ok(cond) => {
            actions::update(&state.db, &m.project.id, &p.sid, Some(&f.name), Some(&cond)).await
        }
        Err(e) => Err(e),
    };
    match outcome {
        Ok(s) => {
            Ok(Redirect::to(&m.url(&format!("/segments/{}?notice=saved", s.id))).into_response())
        }
        Err(e @ (ApiError::Internal(_) | ApiError::NotFound(_))) => Err(e.into()),
        Err(e) => {
            let errors = form_errors(&e, &f);
            let page = edit_page(&state, &m, Some(p.sid), f, "", errors, None).await?;
            Ok(with_status(e.status(), page))
        }
    }
}

/// The builder's live count: how many contacts the condition being typed matches, or why it
/// cannot be counted (a fragment for htmx).
pub async fn live_count(
    State(state): State<AppState>,
    m: Member,
    Form(f): Form<SegmentForm>,
) -> PageResult {
    let counted = match f.condition() {
        Ok(cond) => match actions::condition(&state.db, &m.project.id, &cond).await {
            Ok(cond) => crate::segments::count(&state.db, &m.project.id, &cond)
                .await
                .map_err(ApiError::from),
            Err(e) => Err(e),
        },
        Err(e) => Err(e),
    };
    let text = match counted {
        Ok(n) => format!("{n} contacts match"),
        Err(ApiError::Internal(e)) => return Err(PageError::Internal(e)),
        Err(e) => format!("Not counted yet: {e}"),
    };
    Ok(Html(format!(
        "<output id=\"live-count\">{}</output>",
        beacon_tracking::html::escape(&text)
    ))
    .into_response())
}

pub async fn delete(
    State(state): State<AppState>,
    m: Member,
    Path(p): Path<SegmentPath>,
    Form(_): Form<Empty>,
) -> PageResult {
    match actions::delete(&state.db, &m.project.id, &p.sid).await {
        Ok(()) => Ok(Redirect::to(&m.url("/segments?notice=deleted")).into_response()),
        Err(ApiError::Conflict(msg)) => Err(PageError::BadRequest(msg)),
        Err(e) => Err(e.into()),
    }
}
