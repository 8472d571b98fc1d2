//! Running one execution: each step's effect (queued email, contact change, history line) and
//! the execution's move are one transaction, guarded by the lease, so a step never takes effect
//! twice. The exception is WEBHOOK, whose POST cannot join a transaction: a crash between the
//! POST and its record repeats the POST once (the `X-Beacon-Delivery` header tells them apart).

use std::collections::BTreeMap;

use beacon_tracking::policy::SourceType;
use serde_json::{Map, Value, json};

use super::definition::{Definition, Span, Step};
use super::webhook;
use crate::domain::{EmailAddress, Mailbox};
use crate::error::ApiError;
use crate::render::{BodyType, Content};
use crate::segments::{self, Condition};
use crate::sending::{self, Compose, Sender};
use crate::startup::AppState;
use crate::store::workflows::{self, Execution, Move, Workflow, history};
use crate::store::{self, Tx, contacts, projects, templates};

/// Steps run back to back at most (the graph has no cycles, so this is only a fuse).
const MAX_CHAIN: usize = 256;

struct Run<'a> {
    state: &'a AppState,
    http: &'a reqwest::Client,
    wf: Workflow,
    exec: Execution,
    lease: String,
}

pub async fn run(state: &AppState, http: &reqwest::Client, exec: Execution) -> anyhow::Result<()> {
    let Some(lease) = exec.lease.clone() else {
        return Ok(());
    };
    let Some(wf) = workflows::by_id(&state.db, &exec.workflow_id).await? else {
        return Ok(()); // deleted with its executions
    };
    let def: Definition = serde_json::from_str(&wf.definition)?;
    let mut run = Run {
        state,
        http,
        wf,
        exec,
        lease,
    };
    for _ in 0..MAX_CHAIN {
        match run.one(&def).await? {
            Some(next) => run.exec = next,
            None => break,
        }
    }
    Ok(())
}

fn now() -> i64 {
    store::now_ms()
}

impl Run<'_> {
    fn step_id(&self) -> &str {
        self.exec.step_id.as_deref().unwrap_or_default()
    }

    async fn history(
        &self,
        tx: &mut Tx,
        kind: &str,
        detail: Option<Value>,
        email: Option<&str>,
    ) -> Result<(), sqlx::Error> {
        let (ex, wf) = (&self.exec.id, &self.wf.id);
        history::add(tx, ex, wf, Some(self.step_id()), kind, detail, email).await
    }

    /// Moves the execution and commits; `Some` when the runner goes straight on.
    async fn commit(&self, mut tx: Tx, m: Move) -> anyhow::Result<Option<Execution>> {
        if !workflows::advance(&mut tx, &self.exec.id, &self.lease, &m).await? {
            tracing::warn!(execution = %self.exec.id, "lease lost; step left to its new holder");
            return Ok(None);
        }
        tx.commit().await?;
        Ok(m.keep_lease.then(|| Execution {
            status: m.status.to_string(),
            step_id: m.step_id,
            attempts: m.attempts,
            ..self.exec.clone()
        }))
    }

    /// Goes on to `next`, or completes when there is none.
    async fn goto(&self, mut tx: Tx, next: Option<&String>) -> anyhow::Result<Option<Execution>> {
        let m = match next {
            Some(next) => {
                let (ex, wf) = (&self.exec.id, &self.wf.id);
                history::add(&mut tx, ex, wf, Some(next), "entered", None, None).await?;
                Move {
                    status: "RUNNING",
                    step_id: Some(next.clone()),
                    due_at: Some(now()),
                    keep_lease: true,
                    ..Move::default()
                }
            }
            None => {
                self.history(&mut tx, "completed", None, None).await?;
                self.stay("COMPLETED", None)
            }
        };
        self.commit(tx, m).await
    }

    fn stay(&self, status: &'static str, due_at: Option<i64>) -> Move {
        Move {
            status,
            step_id: self.exec.step_id.clone(),
            due_at,
            ..Move::default()
        }
    }

    /// The execution ends FAILED, the history saying why.
    async fn fail(&self, reason: String) -> anyhow::Result<Option<Execution>> {
        tracing::warn!(execution = %self.exec.id, step = self.step_id(), %reason, "workflow execution failed");
        let mut tx = self.state.db.begin().await?;
        self.history(&mut tx, "failed", Some(json!({ "reason": reason })), None)
            .await?;
        self.commit(tx, self.stay("FAILED", None)).await
    }

    async fn one(&self, def: &Definition) -> anyhow::Result<Option<Execution>> {
        let Some(step) = def.step(self.step_id()) else {
            let id = self.step_id();
            return self
                .fail(format!("step {id:?} no longer exists in the workflow"))
                .await;
        };
        let db = &self.state.db;
        match (self.exec.status.as_str(), step) {
            ("RESUMED", Step::WaitForEvent { next, .. })
            | ("DELAYED", Step::Delay { next, .. }) => {
                self.goto(db.begin().await?, next.as_ref()).await
            }
            ("WAITING", Step::WaitForEvent { on_timeout, .. }) => {
                if self.awaited_event_pending().await? {
                    // Give the intake a moment to resume it instead of timing out.
                    let tx = db.begin().await?;
                    let m = Move {
                        wait_event: self.exec.wait_event.clone(),
                        wait_since: self.exec.wait_since,
                        ..self.stay("WAITING", Some(now() + 250))
                    };
                    return self.commit(tx, m).await;
                }
                let mut tx = db.begin().await?;
                self.history(&mut tx, "timed_out", None, None).await?;
                self.goto(tx, on_timeout.as_ref()).await
            }
            ("RUNNING", step) => self.start(step).await,
            (status, step) => {
                let kind = step.kind();
                self.fail(format!(
                    "the execution was {status} at a {kind} step (the workflow changed)"
                ))
                .await
            }
        }
    }

    /// Runs a step the execution has just reached.
    async fn start(&self, step: &Step) -> anyhow::Result<Option<Execution>> {
        let db = &self.state.db;
        match step {
            Step::SendEmail { template, next, .. } => self.send(template, next.as_ref()).await,
            Step::Delay { amount, unit, .. } => {
                let until = now()
                    + Span {
                        amount: *amount,
                        unit: *unit,
                    }
                    .millis();
                let mut tx = db.begin().await?;
                let detail = json!({ "until": crate::time::iso(until) });
                self.history(&mut tx, "delayed", Some(detail), None).await?;
                self.commit(tx, self.stay("DELAYED", Some(until))).await
            }
            Step::WaitForEvent { event, timeout, .. } => {
                let at = now();
                let until = at + timeout.millis();
                let mut tx = db.begin().await?;
                let detail = json!({ "event": event, "until": crate::time::iso(until) });
                self.history(&mut tx, "waiting", Some(detail), None).await?;
                let m = Move {
                    wait_event: Some(event.clone()),
                    wait_since: Some(at),
                    ..self.stay("WAITING", Some(until))
                };
                self.commit(tx, m).await
            }
            Step::Condition { rule, yes, no, .. } => {
                let cond = match Condition::parse(rule) {
                    Ok(c) => c,
                    Err(e) => return self.fail(format!("the rule is not valid: {e}")).await,
                };
                let (project, contact) = (&self.exec.project_id, &self.exec.contact_id);
                let matched = segments::matches(db, project, contact, &cond).await?;
                let mut tx = db.begin().await?;
                let kind = if matched { "yes" } else { "no" };
                self.history(&mut tx, kind, None, None).await?;
                self.goto(tx, if matched { yes } else { no }.as_ref()).await
            }
            Step::UpdateContact {
                data,
                subscribed,
                next,
                ..
            } => {
                let mut tx = db.begin().await?;
                let contact = &self.exec.contact_id;
                if !workflows::update_contact(&mut tx, contact, data, *subscribed).await? {
                    drop(tx);
                    return self.fail("the contact was deleted".into()).await;
                }
                let detail = json!({ "data": data, "subscribed": subscribed });
                self.history(&mut tx, "updated", Some(detail), None).await?;
                self.goto(tx, next.as_ref()).await
            }
            Step::Webhook { url, next, .. } => self.webhook(url, next.as_ref()).await,
            Step::Exit { .. } => {
                let mut tx = db.begin().await?;
                self.history(&mut tx, "exited", None, None).await?;
                self.commit(tx, self.stay("EXITED", None)).await
            }
        }
    }

    async fn awaited_event_pending(&self) -> anyhow::Result<bool> {
        let (Some(name), Some(since)) = (&self.exec.wait_event, self.exec.wait_since) else {
            return Ok(false);
        };
        let until = self.exec.due_at.unwrap_or_else(now);
        let contact = &self.exec.contact_id;
        Ok(workflows::event_pending(&self.state.db, contact, name, since, until).await?)
    }

    fn trigger_data(&self) -> Map<String, Value> {
        let context: Value = serde_json::from_str(&self.exec.context).unwrap_or_default();
        match &context["event"]["data"] {
            Value::Object(m) => m.clone(),
            _ => Map::new(),
        }
    }

    async fn send(
        &self,
        template_id: &str,
        next: Option<&String>,
    ) -> anyhow::Result<Option<Execution>> {
        let (db, project_id) = (&self.state.db, &self.exec.project_id);
        let Some(project) = projects::get(db, project_id).await? else {
            return Ok(None);
        };
        let Some(contact) = contacts::get(db, project_id, &self.exec.contact_id).await? else {
            return self.fail("the contact was deleted".into()).await;
        };
        let Some(template) = templates::get(db, project_id, template_id).await? else {
            return self
                .fail(format!("template {template_id:?} no longer exists"))
                .await;
        };
        let mut tx = db.begin().await?;
        if template.kind == "MARKETING" && contact.subscribed == 0 {
            let reason = "the contact is unsubscribed, and MARKETING templates only go to subscribed contacts";
            let detail = json!({ "template": template.id, "reason": reason });
            self.history(&mut tx, "skipped", Some(detail), None).await?;
            return self.goto(tx, next).await;
        }
        // A TRANSACTIONAL template keeps its kind of send (and tracking) inside a workflow.
        let source = if template.kind == "TRANSACTIONAL" {
            SourceType::Transactional
        } else {
            SourceType::Workflow
        };
        let tracking = match sending::decide(
            self.state,
            &project.tracking_mode,
            source,
            Some(&template),
            None,
            None,
        ) {
            Ok(t) => t,
            // Refused rather than tracked against the mode (see `crate::engine`).
            Err(e) => {
                drop(tx);
                return self.fail(format!("the email was not sent: {e}")).await;
            }
        };
        let tracked = tracking.tracked;
        let from = EmailAddress::parse(&self.state.settings.default_from)
            .map_err(|e| anyhow::anyhow!("BEACON_DEFAULT_FROM: {e}"))?;
        let sender = Sender {
            from: Mailbox {
                name: None,
                email: from,
            },
            reply_to: None,
        };
        let content = Content {
            subject: template.subject.clone(),
            body: template.body.clone(),
            kind: BodyType::Html,
        };
        let vars = self.trigger_data();
        let compose = Compose {
            content: &content,
            vars: &vars,
            source,
            template: Some(&template),
            campaign: None,
            sender: &sender,
            headers: &BTreeMap::new(),
            attachment_set: None,
            // Every run of this step sends the same content.
            shared: true,
            tracking,
            unsubscribe: template.kind != "TRANSACTIONAL" && contact.subscribed != 0,
            links: crate::links::for_send(&project, None),
            due_at: now(),
        };
        let email = match sending::queue(&mut tx, self.state, &contact, None, &compose).await {
            Ok(email) => email,
            Err(ApiError::Internal(e)) => return Err(e),
            Err(e) => {
                drop(tx);
                return self
                    .fail(format!("the email could not be rendered: {e}"))
                    .await;
            }
        };
        let detail = json!({ "template": template.id, "tracked": tracked });
        self.history(&mut tx, "sent", Some(detail), Some(&email.id))
            .await?;
        let after = self.goto(tx, next).await?;
        self.state.queue_wake.notify_waiters();
        Ok(after)
    }

    async fn webhook(&self, url: &str, next: Option<&String>) -> anyhow::Result<Option<Execution>> {
        let db = &self.state.db;
        let contact = contacts::get(db, &self.exec.project_id, &self.exec.contact_id).await?;
        let context: Value = serde_json::from_str(&self.exec.context).unwrap_or_default();
        let body = json!({
            "workflow": { "id": self.wf.id, "name": self.wf.name },
            "execution": { "id": self.exec.id, "step": self.step_id() },
            "contact": contact.as_ref().map(|c| json!({
                "id": c.id, "email": c.email, "subscribed": c.subscribed != 0,
                "data": Value::Object(c.data_map()),
            })),
            "event": context["event"],
        });
        let delivery = format!("{}:{}", self.exec.id, self.step_id());
        let attempt = self.exec.attempts + 1;
        let body = serde_json::to_vec(&body)?;
        let allow = &self.state.settings.webhook_allow;
        match webhook::post(self.http, allow, url, &self.wf.secret, &delivery, body).await {
            Ok(status) => {
                let mut tx = db.begin().await?;
                let detail = json!({ "status": status, "attempt": attempt });
                self.history(&mut tx, "webhook", Some(detail), None).await?;
                self.goto(tx, next).await
            }
            // Not an address a webhook may reach: retrying would not change that.
            Err(webhook::Failure::Refused(reason)) => self.fail(reason).await,
            Err(webhook::Failure::Failed(error)) if attempt >= webhook::MAX_ATTEMPTS => {
                self.fail(format!("the webhook failed {attempt} times; last: {error}"))
                    .await
            }
            Err(webhook::Failure::Failed(error)) => {
                let base = self.state.settings.retry_base_ms.max(0);
                let retry_at = now() + base.saturating_mul(1 << (attempt - 1).clamp(0, 16));
                let mut tx = db.begin().await?;
                let detail = json!({ "attempt": attempt, "error": error, "retryAt": crate::time::iso(retry_at) });
                self.history(&mut tx, "retry", Some(detail), None).await?;
                let m = Move {
                    status: "RUNNING",
                    attempts: attempt,
                    ..self.stay("RUNNING", Some(retry_at))
                };
                self.commit(tx, m).await
            }
        }
    }
}
