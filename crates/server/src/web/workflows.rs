//! Workflows: the list, an editor for the definition as JSON (its problems shown next to it),
//! switching a workflow on and off, its per-step counts (a send step's emails with their opens
//! and clicks by people), and its executions with each one's path. Every change goes through
//! `actions::workflows`, as `/v1/workflows` does.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;

use super::page::{Errors, Nav, PageResult, notice, with_status};
use super::session::{Empty, Form, Member};
use super::view::{pct, when};
use crate::actions::workflows::{self as actions, Changes, NewWorkflow, StepStats};
use crate::error::ApiError;
use crate::startup::AppState;
use crate::store::templates;
use crate::store::workflows::{self as store, history};
use crate::workflows::definition::Definition;

/// Executions on one page of the executions list.
const PAGE: i64 = 50;

/// What a new workflow's definition box starts with: a welcome email on sign-up.
const EXAMPLE: &str = r#"{
  "trigger": { "event": "contact.subscribed" },
  "steps": [
    { "type": "SEND_EMAIL", "id": "welcome", "template": "<template id>" }
  ]
}"#;

#[derive(Deserialize)]
pub struct WorkflowPath {
    pub wid: String,
}

#[derive(Deserialize)]
pub struct ListQuery {
    notice: Option<String>,
    cursor: Option<String>,
}

/// One row of the list.
struct Row {
    id: String,
    name: String,
    trigger: String,
    enabled: bool,
    total: i64,
    active: i64,
    changed: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "workflows.html")]
struct ListPage {
    nav: Nav,
    notice: &'static str,
    rows: Vec<Row>,
}

pub async fn list(
    State(state): State<AppState>,
    m: Member,
    Query(q): Query<ListQuery>,
) -> PageResult {
    let mut rows = Vec::new();
    for w in store::list(&state.db, &m.project.id, None, 500).await? {
        let counts = history::status_counts(&state.db, &w.id).await?;
        let of = |s: &str| counts.iter().find(|(k, _)| k == s).map_or(0, |(_, n)| *n);
        rows.push(Row {
            total: counts.iter().map(|(_, n)| n).sum(),
            active: ["RUNNING", "DELAYED", "WAITING", "RESUMED"]
                .iter()
                .map(|s| of(s))
                .sum(),
            enabled: w.enabled != 0,
            changed: when(w.updated_at),
            trigger: w.trigger_event,
            name: w.name,
            id: w.id,
        });
    }
    let page = ListPage {
        nav: Nav::new(&m, "workflows"),
        notice: notice(q.notice.as_deref()),
        rows,
    };
    Ok(page.into_response())
}

#[derive(Deserialize, Default)]
pub struct WorkflowForm {
    #[serde(default)]
    name: String,
    /// A checkbox: present when ticked.
    enabled: Option<String>,
    reentry: Option<String>,
    /// `{"trigger": …, "start": …, "steps": [...]}` as in `POST /v1/workflows`.
    #[serde(default)]
    definition: String,
}

impl WorkflowForm {
    /// The definition box read as JSON; a mistake is the box's error, with serde's line and
    /// column.
    fn definition(&self) -> Result<Definition, ApiError> {
        serde_json::from_str(&self.definition).map_err(|e| {
            ApiError::invalid("definition", format!("the definition is not valid: {e}"))
        })
    }
}

/// A step's counts as the page shows them.
struct StepLine {
    id: String,
    kind: String,
    entered: i64,
    /// Outcomes other than the email counts, `yes 3 · no 1`.
    outcomes: String,
    /// SEND_EMAIL steps: (sent, opened, open rate, clicked, click rate).
    email: Option<(i64, i64, String, i64, String)>,
}

fn step_line(s: StepStats) -> StepLine {
    let get = |k: &str| s.counts.get(k).copied().unwrap_or(0);
    let email = (s.kind == "SEND_EMAIL").then(|| {
        let (sent, opened, clicked) = (get("sent"), get("opened"), get("clicked"));
        (sent, opened, pct(opened, sent), clicked, pct(clicked, sent))
    });
    let skip = ["entered", "sent", "opened", "clicked"];
    let outcomes = s
        .counts
        .iter()
        .filter(|(k, n)| **n > 0 && !(email.is_some() && skip.contains(&k.as_str())))
        .filter(|(k, _)| k.as_str() != "entered")
        .map(|(k, n)| format!("{} {n}", k.replace('_', " ")))
        .collect::<Vec<_>>()
        .join(" · ");
    StepLine {
        entered: get("entered"),
        id: s.id,
        kind: s.kind,
        outcomes,
        email,
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "workflow_edit.html")]
struct EditPage {
    nav: Nav,
    notice: &'static str,
    id: Option<String>,
    form: WorkflowForm,
    errors: Errors,
    /// Executions by status (lower case) and `total`.
    executions: Vec<(String, i64)>,
    steps: Vec<StepLine>,
    /// The project's templates a SEND_EMAIL step can name: (id, name, type).
    templates: Vec<(String, String, String)>,
}

async fn edit_page(
    state: &AppState,
    m: &Member,
    id: Option<String>,
    form: WorkflowForm,
    errors: Errors,
) -> PageResult<EditPage> {
    let templates = templates::list(&state.db, &m.project.id, None, 500)
        .await?
        .into_iter()
        .map(|t| (t.id, t.name, t.kind))
        .collect();
    Ok(EditPage {
        nav: Nav::new(m, "workflows"),
        notice: "",
        id,
        form,
        errors,
        executions: Vec::new(),
        steps: Vec::new(),
        templates,
    })
}

/// An action's refusal placed on the page: the name at its field, everything the definition
/// holds (trigger, steps, start) at the definition box.
fn form_errors(e: &ApiError) -> Errors {
    let mut errors = Errors::none();
    let field = match e.field() {
        Some("name") => "name",
        _ => "definition",
    };
    errors.add(field, &e.to_string());
    errors
}

/// A refusal shown on the form again (422), or the failure as an error page.
async fn refused(
    state: &AppState,
    m: &Member,
    id: Option<String>,
    f: WorkflowForm,
    e: ApiError,
) -> PageResult {
    match e {
        ApiError::Internal(_) | ApiError::NotFound(_) => Err(e.into()),
        e => Ok(with_status(
            e.status(),
            edit_page(state, m, id, f, form_errors(&e)).await?,
        )),
    }
}

pub async fn new_page(State(state): State<AppState>, m: Member) -> PageResult {
    let form = WorkflowForm {
        enabled: Some("on".into()),
        definition: EXAMPLE.into(),
        ..WorkflowForm::default()
    };
    Ok(edit_page(&state, &m, None, form, Errors::none())
        .await?
        .into_response())
}

pub async fn create(
    State(state): State<AppState>,
    m: Member,
    Form(f): Form<WorkflowForm>,
) -> PageResult {
    let def = match f.definition() {
        Ok(def) => def,
        Err(e) => return refused(&state, &m, None, f, e).await,
    };
    let new = NewWorkflow {
        name: f.name.clone(),
        trigger: def.trigger,
        start: def.start,
        steps: def.steps,
        enabled: f.enabled.is_some(),
        allow_reentry: f.reentry.is_some(),
    };
    match actions::create(&state.db, &m.project.id, new).await {
        Ok(w) => {
            Ok(Redirect::to(&m.url(&format!("/workflows/{}?notice=saved", w.id))).into_response())
        }
        Err(e) => refused(&state, &m, None, f, e).await,
    }
}

pub async fn show(
    State(state): State<AppState>,
    m: Member,
    Path(p): Path<WorkflowPath>,
    Query(q): Query<ListQuery>,
) -> PageResult {
    let w = actions::fetch(&state.db, &m.project.id, &p.wid).await?;
    let stats = actions::stats(&state.db, &w).await?;
    // Through the typed definition, so the box reads in its own order (trigger, then steps,
    // each step's type first), not a map's alphabetical one.
    let definition = serde_json::from_str::<Definition>(&w.definition)
        .and_then(|d| serde_json::to_string_pretty(&d))
        .map_err(|e| ApiError::Internal(e.into()))?;
    let form = WorkflowForm {
        name: w.name,
        enabled: (w.enabled != 0).then(|| "on".into()),
        reentry: (w.allow_reentry != 0).then(|| "on".into()),
        definition,
    };
    let mut page = edit_page(&state, &m, Some(w.id), form, Errors::none()).await?;
    page.notice = notice(q.notice.as_deref());
    page.executions = stats.executions.into_iter().collect();
    page.steps = stats.steps.into_iter().map(step_line).collect();
    Ok(page.into_response())
}

pub async fn update(
    State(state): State<AppState>,
    m: Member,
    Path(p): Path<WorkflowPath>,
    Form(f): Form<WorkflowForm>,
) -> PageResult {
    // Another project's id is a 404 whatever the form holds.
    let id = Some(actions::fetch(&state.db, &m.project.id, &p.wid).await?.id);
    let def = match f.definition() {
        Ok(def) => def,
        Err(e) => return refused(&state, &m, id, f, e).await,
    };
    let changes = Changes {
        name: Some(f.name.clone()),
        trigger: Some(def.trigger),
        start: def.start,
        steps: Some(def.steps),
        enabled: Some(f.enabled.is_some()),
        allow_reentry: Some(f.reentry.is_some()),
    };
    match actions::update(&state.db, &m.project.id, &p.wid, changes).await {
        Ok(w) => {
            Ok(Redirect::to(&m.url(&format!("/workflows/{}?notice=saved", w.id))).into_response())
        }
        Err(e) => refused(&state, &m, id, f, e).await,
    }
}

#[derive(Deserialize)]
pub struct SwitchForm {
    /// `on` or `off`.
    enabled: String,
}

/// Switches new entries on or off; executions under way go on either way.
pub async fn switch(
    State(state): State<AppState>,
    m: Member,
    Path(p): Path<WorkflowPath>,
    Form(f): Form<SwitchForm>,
) -> PageResult {
    let on = match f.enabled.as_str() {
        "on" => true,
        "off" => false,
        _ => return Err(ApiError::invalid("enabled", "enabled must be on or off").into()),
    };
    let changes = Changes {
        enabled: Some(on),
        ..Changes::default()
    };
    actions::update(&state.db, &m.project.id, &p.wid, changes).await?;
    let code = if on { "enabled" } else { "disabled" };
    Ok(Redirect::to(&m.url(&format!("/workflows/{}?notice={code}", p.wid))).into_response())
}

pub async fn delete(
    State(state): State<AppState>,
    m: Member,
    Path(p): Path<WorkflowPath>,
    Form(_): Form<Empty>,
) -> PageResult {
    actions::delete(&state.db, &m.project.id, &p.wid).await?;
    Ok(Redirect::to(&m.url("/workflows?notice=deleted")).into_response())
}

/// One execution as the list shows it.
struct RunLine {
    contact_id: String,
    /// `None` once the contact is deleted.
    email: Option<String>,
    status: String,
    step: String,
    started: String,
    /// The path: (step id or "", what happened, when).
    path: Vec<(String, String, String)>,
}

#[derive(Template, WebTemplate)]
#[template(path = "workflow_runs.html")]
struct RunsPage {
    nav: Nav,
    id: String,
    name: String,
    runs: Vec<RunLine>,
    next: Option<String>,
    first_page: bool,
}

pub async fn executions(
    State(state): State<AppState>,
    m: Member,
    Path(p): Path<WorkflowPath>,
    Query(q): Query<ListQuery>,
) -> PageResult {
    let w = actions::fetch(&state.db, &m.project.id, &p.wid).await?;
    let rows = actions::executions(&state.db, &w, q.cursor.as_deref(), PAGE).await?;
    let next = (rows.len() as i64 == PAGE)
        .then(|| rows.last().map(|(e, _, _)| e.id.clone()))
        .flatten();
    let runs = rows
        .into_iter()
        .map(|(e, email, lines)| RunLine {
            contact_id: e.contact_id,
            email,
            status: e.status,
            step: e.step_id.unwrap_or_default(),
            started: when(e.created_at),
            path: lines
                .into_iter()
                .map(|h| {
                    let kind = h.kind.replace('_', " ");
                    (h.step_id.unwrap_or_default(), kind, when(h.created_at))
                })
                .collect(),
        })
        .collect();
    let page = RunsPage {
        nav: Nav::new(&m, "workflows"),
        id: w.id,
        name: w.name,
        runs,
        next,
        first_page: q.cursor.is_none(),
    };
    Ok(page.into_response())
}
