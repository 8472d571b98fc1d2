-- 0004_workflows: workflows, their executions (which are also the timer queue) and history.
-- One text for SQLite and PostgreSQL, like every migration here.

-- Events are picked up by the workflow engine from the store, so the hot insert paths (track,
-- delivery, tracking ingest) do no workflow work: 0 = not yet seen by the engine, 1 = done.
-- Events recorded before workflows existed can trigger nothing, so they start as done.
ALTER TABLE events ADD COLUMN workflow_state BIGINT NOT NULL DEFAULT 0;
UPDATE events SET workflow_state = 1;
CREATE INDEX events_workflow_pending ON events (created_at) WHERE workflow_state = 0;

CREATE TABLE workflows (
    id            TEXT PRIMARY KEY,
    project_id    TEXT   NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    name          TEXT   NOT NULL,
    -- The trigger's event name, copied out of `definition` so the engine finds candidates by index.
    trigger_event TEXT   NOT NULL,
    -- {"trigger": …, "start": …, "steps": […]} as validated at create/patch time.
    definition    TEXT   NOT NULL,
    enabled       BIGINT NOT NULL,
    allow_reentry BIGINT NOT NULL,
    -- Signs WEBHOOK requests (HMAC-SHA256).
    secret        TEXT   NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
CREATE INDEX workflows_project ON workflows (project_id, id);

-- Which templates a workflow's SEND_EMAIL steps use: deleting one of them is refused.
CREATE TABLE workflow_templates (
    workflow_id TEXT NOT NULL REFERENCES workflows(id) ON DELETE CASCADE,
    project_id  TEXT NOT NULL,
    template_id TEXT NOT NULL,
    PRIMARY KEY (workflow_id, template_id)
);
CREATE INDEX workflow_templates_template ON workflow_templates (project_id, template_id);

-- One contact's way through one workflow. Live ones (RUNNING, DELAYED, WAITING) are due at
-- `due_at` and claimed under a lease like the delivery queue; finished ones (COMPLETED,
-- EXITED, FAILED) have no `due_at`.
CREATE TABLE workflow_executions (
    id          TEXT PRIMARY KEY,
    workflow_id TEXT   NOT NULL REFERENCES workflows(id) ON DELETE CASCADE,
    project_id  TEXT   NOT NULL,
    contact_id  TEXT   NOT NULL,
    -- contact_id when the workflow refuses re-entry, else the execution id: the unique index
    -- makes "at most one execution per contact" hold even with several nodes.
    entry_key   TEXT   NOT NULL,
    status      TEXT   NOT NULL,
    step_id     TEXT,
    due_at      BIGINT,
    wait_event  TEXT,
    wait_since  BIGINT,
    attempts    BIGINT NOT NULL DEFAULT 0,
    lease       TEXT,
    lease_until BIGINT,
    -- The triggering event ({"id", "name", "data", "createdAt"}), for webhooks.
    context     TEXT   NOT NULL DEFAULT '{}',
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    UNIQUE (workflow_id, entry_key)
);
CREATE INDEX workflow_executions_due ON workflow_executions (due_at) WHERE due_at IS NOT NULL;
CREATE INDEX workflow_executions_waiting ON workflow_executions (contact_id, wait_event)
    WHERE status = 'WAITING';
CREATE INDEX workflow_executions_contact ON workflow_executions (workflow_id, contact_id);

-- What happened to an execution, step by step (also the source of per-step statistics).
CREATE TABLE workflow_history (
    id           TEXT PRIMARY KEY,
    execution_id TEXT   NOT NULL REFERENCES workflow_executions(id) ON DELETE CASCADE,
    workflow_id  TEXT   NOT NULL,
    step_id      TEXT,
    kind         TEXT   NOT NULL,
    detail       TEXT,
    email_id     TEXT,
    created_at   BIGINT NOT NULL
);
CREATE INDEX workflow_history_execution ON workflow_history (execution_id, id);
CREATE INDEX workflow_history_workflow ON workflow_history (workflow_id, step_id);
