//! Templates: the list, and an editor with the same untracked preview as campaigns, the type
//! and what it means for tracking and unsubscribing. Every change goes through
//! `actions::templates`, as `/v1/templates` does.

use askama::Template as Askama;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect};
use beacon_tracking::policy::TemplateType;
use serde::Deserialize;

use super::page::{Errors, Nav, PageError, PageResult, notice, with_status};
use super::session::{Empty, Form, Member};
use super::view::when;
use crate::actions::templates::{self as actions, Fields};
use crate::error::ApiError;
use crate::startup::AppState;
use crate::store::templates;

#[derive(Deserialize)]
pub struct TemplatePath {
    pub tid: String,
}

#[derive(Deserialize)]
pub struct NoticeQuery {
    notice: Option<String>,
}

#[derive(Askama, WebTemplate)]
#[template(path = "templates.html")]
struct ListPage {
    nav: Nav,
    notice: &'static str,
    /// (id, name, type, updated)
    rows: Vec<(String, String, String, String)>,
}

pub async fn list(
    State(state): State<AppState>,
    m: Member,
    Query(q): Query<NoticeQuery>,
) -> PageResult {
    let rows = templates::list(&state.db, &m.project.id, None, 500)
        .await?
        .into_iter()
        .map(|t| (t.id, t.name, t.kind, when(t.updated_at)))
        .collect();
    let page = ListPage {
        nav: Nav::new(&m, "templates"),
        notice: notice(q.notice.as_deref()),
        rows,
    };
    Ok(page.into_response())
}

#[derive(Deserialize, Default)]
pub struct TemplateForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    subject: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    body: String,
}

impl TemplateForm {
    fn fields(&self) -> Fields {
        Fields {
            name: Some(self.name.clone()),
            subject: Some(self.subject.clone()),
            body: Some(self.body.clone()),
            kind: Some(self.kind.clone()),
        }
    }
}

#[derive(Askama, WebTemplate)]
#[template(path = "template_edit.html")]
struct EditPage {
    nav: Nav,
    notice: &'static str,
    id: Option<String>,
    form: TemplateForm,
    /// (type, what it means)
    kinds: Vec<(&'static str, &'static str)>,
    errors: Errors,
}

impl EditPage {
    fn is_kind(&self, k: &str) -> bool {
        self.form.kind == k
    }
}

fn edit_page(
    m: &Member,
    id: Option<String>,
    form: TemplateForm,
    notice: &'static str,
    errors: Errors,
) -> EditPage {
    let kinds = [
        TemplateType::Transactional,
        TemplateType::Marketing,
        TemplateType::Headless,
    ]
    .into_iter()
    .map(|k| (k.as_str(), actions::meaning(k)))
    .collect();
    EditPage {
        nav: Nav::new(m, "templates"),
        notice,
        id,
        form,
        kinds,
        errors,
    }
}

fn form_errors(e: &ApiError) -> Errors {
    let mut errors = Errors::none();
    let field = match e.field().unwrap_or("") {
        "type" => "kind",
        f => f,
    };
    errors.add(field, &e.to_string());
    errors
}

pub async fn new_page(m: Member) -> PageResult {
    let form = TemplateForm {
        kind: "TRANSACTIONAL".into(),
        ..TemplateForm::default()
    };
    Ok(edit_page(&m, None, form, "", Errors::none()).into_response())
}

pub async fn create(
    State(state): State<AppState>,
    m: Member,
    Form(f): Form<TemplateForm>,
) -> PageResult {
    match actions::create(&state.db, &m.project.id, f.fields()).await {
        Ok(t) => {
            Ok(Redirect::to(&m.url(&format!("/templates/{}?notice=saved", t.id))).into_response())
        }
        Err(e @ ApiError::Internal(_)) => Err(e.into()),
        Err(e) => Ok(with_status(
            e.status(),
            edit_page(&m, None, f, "", form_errors(&e)),
        )),
    }
}

pub async fn show(
    State(state): State<AppState>,
    m: Member,
    Path(p): Path<TemplatePath>,
    Query(q): Query<NoticeQuery>,
) -> PageResult {
    let t = actions::fetch(&state.db, &m.project.id, &p.tid).await?;
    let form = TemplateForm {
        name: t.name,
        subject: t.subject,
        kind: t.kind,
        body: t.body,
    };
    Ok(edit_page(
        &m,
        Some(t.id),
        form,
        notice(q.notice.as_deref()),
        Errors::none(),
    )
    .into_response())
}

pub async fn update(
    State(state): State<AppState>,
    m: Member,
    Path(p): Path<TemplatePath>,
    Form(f): Form<TemplateForm>,
) -> PageResult {
    match actions::update(&state.db, &m.project.id, &p.tid, f.fields()).await {
        Ok(t) => {
            Ok(Redirect::to(&m.url(&format!("/templates/{}?notice=saved", t.id))).into_response())
        }
        Err(e @ (ApiError::Internal(_) | ApiError::NotFound(_))) => Err(e.into()),
        Err(e) => Ok(with_status(
            e.status(),
            edit_page(&m, Some(p.tid), f, "", form_errors(&e)),
        )),
    }
}

pub async fn delete(
    State(state): State<AppState>,
    m: Member,
    Path(p): Path<TemplatePath>,
    Form(_): Form<Empty>,
) -> PageResult {
    match actions::delete(&state.db, &m.project.id, &p.tid).await {
        Ok(()) => Ok(Redirect::to(&m.url("/templates?notice=deleted")).into_response()),
        Err(ApiError::Conflict(msg)) => Err(PageError::BadRequest(msg)),
        Err(e) => Err(e.into()),
    }
}
