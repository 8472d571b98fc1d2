//! Workflows: the rules `/v1/workflows` and the dashboard's workflow pages share — checking and
//! saving a definition, switching a workflow on and off, and reading its executions and its
//! per-step statistics.

use std::collections::BTreeMap;

use rand::Rng;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{ApiError, ApiResult};
use crate::store::workflows::{self, Execution, Workflow, history};
use crate::store::{self, Db, flag, templates};
use crate::workflows::definition::{Definition, Step, Trigger};

/// Checks the definition, and that each SEND_EMAIL template is one of this project's.
async fn check(db: &Db, project_id: &str, def: &Definition) -> ApiResult<()> {
    def.check()?;
    for (i, template) in def.templates() {
        if templates::get(db, project_id, template).await?.is_none() {
            let field = format!("steps[{i}].template");
            return Err(ApiError::invalid(
                &field,
                format!("{field}: no template with id {template:?} in this project"),
            ));
        }
    }
    Ok(())
}

fn stored(def: &Definition) -> ApiResult<String> {
    serde_json::to_string(def).map_err(|e| ApiError::Internal(e.into()))
}

/// The project's workflow, or a 404.
pub async fn fetch(db: &Db, project_id: &str, id: &str) -> ApiResult<Workflow> {
    workflows::get(db, project_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("workflow", id))
}

/// A new workflow as the API and the dashboard's editor give it.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = WorkflowCreate)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NewWorkflow {
    /// 1 to 200 characters.
    pub name: String,
    pub trigger: Trigger,
    /// The first step's id; default the first step.
    pub start: Option<String>,
    pub steps: Vec<Step>,
    /// `false` stops new entries only. Default `true`.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Whether a contact may enter more than once (at most BEACON_WORKFLOW_ENTRY_LIMIT times
    /// a period). Default `false`.
    #[serde(default)]
    pub allow_reentry: bool,
}

fn yes() -> bool {
    true
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub async fn create(db: &Db, project_id: &str, req: NewWorkflow) -> ApiResult<Workflow> {
    super::check_name(&req.name)?;
    let def = Definition {
        trigger: req.trigger,
        start: req.start,
        steps: req.steps,
    };
    check(db, project_id, &def).await?;
    let secret: [u8; 24] = rand::rng().random();
    let now = store::now_ms();
    let w = Workflow {
        id: store::new_id(),
        project_id: project_id.to_string(),
        name: req.name.trim().to_string(),
        trigger_event: def.trigger.event.clone(),
        definition: stored(&def)?,
        enabled: flag(req.enabled),
        allow_reentry: flag(req.allow_reentry),
        secret: format!("whsec_{}", hex(&secret)),
        created_at: now,
        updated_at: now,
    };
    let used: Vec<&str> = def.templates().into_iter().map(|(_, t)| t).collect();
    workflows::insert(db, &w, &used).await?;
    Ok(w)
}

/// Every field optional; `steps` replaces all steps (give `start` again if it is not
/// `steps[0]`). Executions already under way go on from their current step id.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[schema(as = WorkflowPatch)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Changes {
    pub name: Option<String>,
    pub trigger: Option<Trigger>,
    pub start: Option<String>,
    pub steps: Option<Vec<Step>>,
    pub enabled: Option<bool>,
    pub allow_reentry: Option<bool>,
}

pub async fn update(db: &Db, project_id: &str, id: &str, req: Changes) -> ApiResult<Workflow> {
    let mut w = fetch(db, project_id, id).await?;
    let mut def: Definition =
        serde_json::from_str(&w.definition).map_err(|e| ApiError::Internal(e.into()))?;
    if let Some(name) = req.name {
        super::check_name(&name)?;
        w.name = name.trim().to_string();
    }
    if let Some(trigger) = req.trigger {
        def.trigger = trigger;
    }
    if let Some(steps) = req.steps {
        def.steps = steps;
        def.start = None;
    }
    if let Some(start) = req.start {
        def.start = Some(start);
    }
    check(db, project_id, &def).await?;
    w.trigger_event = def.trigger.event.clone();
    w.definition = stored(&def)?;
    if let Some(e) = req.enabled {
        w.enabled = flag(e);
    }
    if let Some(r) = req.allow_reentry {
        w.allow_reentry = flag(r);
    }
    w.updated_at = store::now_ms();
    let used: Vec<&str> = def.templates().into_iter().map(|(_, t)| t).collect();
    if !workflows::update(db, &w, &used).await? {
        return Err(ApiError::not_found("workflow", id));
    }
    Ok(w)
}

pub async fn delete(db: &Db, project_id: &str, id: &str) -> ApiResult<()> {
    if !workflows::delete(db, project_id, id).await? {
        return Err(ApiError::not_found("workflow", id));
    }
    Ok(())
}

/// One step's statistics: `entered` and a count per outcome (`sent`, `skipped`, `yes`, `no`,
/// `timed_out`, `retry`, …); SEND_EMAIL steps add `opened` and `clicked`.
#[derive(Debug, Serialize, ToSchema)]
pub struct StepStats {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(flatten)]
    pub counts: BTreeMap<String, i64>,
}

/// `GET /v1/workflows/{id}/stats`.
#[derive(Debug, Serialize, ToSchema)]
pub struct WorkflowStats {
    /// Executions by status (lower case) and `total`.
    pub executions: BTreeMap<String, i64>,
    pub steps: Vec<StepStats>,
}

/// Executions by status, and per step: how many executions entered it, and each outcome
/// (`sent`, `skipped`, `yes`, `no`, `timed_out`, …); SEND_EMAIL steps add `opened` and
/// `clicked` (by a person) of the emails they sent.
pub async fn stats(db: &Db, w: &Workflow) -> ApiResult<WorkflowStats> {
    let def: Definition =
        serde_json::from_str(&w.definition).map_err(|e| ApiError::Internal(e.into()))?;
    let mut executions = BTreeMap::new();
    let mut total = 0;
    for (status, n) in history::status_counts(db, &w.id).await? {
        total += n;
        executions.insert(status.to_ascii_lowercase(), n);
    }
    executions.insert("total".to_string(), total);
    let counts = history::step_counts(db, &w.id).await?;
    let emails = history::email_counts(db, &w.id).await?;
    let steps: Vec<StepStats> = def
        .steps
        .iter()
        .map(|s| {
            let mut counts_of = BTreeMap::from([("entered".to_string(), 0)]);
            for (step, kind, n) in &counts {
                if step.as_deref() == Some(s.id()) {
                    counts_of.insert(kind.clone(), *n);
                }
            }
            if matches!(s, Step::SendEmail { .. }) {
                let (opened, clicked) = emails
                    .iter()
                    .find(|(step, _, _)| step.as_deref() == Some(s.id()))
                    .map_or((0, 0), |(_, o, c)| (*o, *c));
                counts_of.entry("sent".to_string()).or_insert(0);
                counts_of.insert("opened".to_string(), opened);
                counts_of.insert("clicked".to_string(), clicked);
            }
            StepStats {
                id: s.id().to_string(),
                kind: s.kind().to_string(),
                counts: counts_of,
            }
        })
        .collect();
    Ok(WorkflowStats { executions, steps })
}

/// A page of the workflow's executions, oldest first, each with its contact's address (`None`
/// once deleted) and its history.
pub async fn executions(
    db: &Db,
    w: &Workflow,
    cursor: Option<&str>,
    limit: i64,
) -> ApiResult<Vec<(Execution, Option<String>, Vec<history::Entry>)>> {
    let rows = workflows::executions(db, &w.id, cursor, limit).await?;
    let ids: Vec<String> = rows.iter().map(|e| e.id.clone()).collect();
    let mut lines: BTreeMap<String, Vec<history::Entry>> = BTreeMap::new();
    for h in history::for_executions(db, &ids).await? {
        lines.entry(h.execution_id.clone()).or_default().push(h);
    }
    let mut out = Vec::with_capacity(rows.len());
    for e in rows {
        let email = store::contacts::get(db, &w.project_id, &e.contact_id)
            .await?
            .map(|c| c.email);
        let history = lines.remove(&e.id).unwrap_or_default();
        out.push((e, email, history));
    }
    Ok(out)
}
