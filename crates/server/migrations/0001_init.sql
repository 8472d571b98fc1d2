-- Beacon schema. One text for SQLite and PostgreSQL (store/mod.rs swaps BLOB for BYTEA), so one
-- set of queries serves both: ids are TEXT (UUIDv7, time-ordered so inserts stay append-mostly),
-- times are BIGINT milliseconds since the epoch, booleans are 0/1 integers, JSON is TEXT.

CREATE TABLE projects (
    id            TEXT PRIMARY KEY,
    name          TEXT    NOT NULL,
    secret_key    TEXT    NOT NULL UNIQUE,
    public_key    TEXT    NOT NULL UNIQUE,
    tracking_mode TEXT    NOT NULL DEFAULT 'ENABLED',
    created_at    BIGINT  NOT NULL
);

CREATE TABLE signing_keys (
    id         BIGINT PRIMARY KEY,
    secret     TEXT   NOT NULL,
    active     BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);

CREATE TABLE contacts (
    id         TEXT PRIMARY KEY,
    project_id TEXT   NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    email      TEXT   NOT NULL,
    subscribed BIGINT NOT NULL DEFAULT 0,
    data       TEXT   NOT NULL DEFAULT '{}',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (project_id, email)
);

CREATE TABLE templates (
    id         TEXT PRIMARY KEY,
    project_id TEXT   NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    name       TEXT   NOT NULL,
    subject    TEXT   NOT NULL,
    body       TEXT   NOT NULL,
    type       TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX templates_project ON templates (project_id, id);

CREATE TABLE emails (
    id                  TEXT PRIMARY KEY,
    project_id          TEXT   NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    contact_id          TEXT   NOT NULL,
    source_type         TEXT   NOT NULL,
    template_id         TEXT,
    campaign_id         TEXT,
    subject             TEXT   NOT NULL,
    from_email          TEXT   NOT NULL,
    from_name           TEXT,
    reply_to            TEXT,
    to_email            TEXT   NOT NULL,
    to_name             TEXT,
    headers             TEXT   NOT NULL DEFAULT '{}',
    attachments         TEXT   NOT NULL DEFAULT '[]',
    html                TEXT,
    text                TEXT,
    tracked             BIGINT NOT NULL DEFAULT 0,
    status              TEXT   NOT NULL,
    attempts            BIGINT NOT NULL DEFAULT 0,
    next_attempt_at     BIGINT NOT NULL,
    lease_until         BIGINT,
    handoff_at          BIGINT,
    last_error          TEXT,
    provider_message_id TEXT,
    created_at          BIGINT NOT NULL,
    sent_at             BIGINT,
    delivered_at        BIGINT,
    opened_at           BIGINT,
    open_inferred       BIGINT NOT NULL DEFAULT 0,
    clicked_at          BIGINT,
    opens               BIGINT NOT NULL DEFAULT 0,
    opens_machine       BIGINT NOT NULL DEFAULT 0,
    clicks              BIGINT NOT NULL DEFAULT 0,
    clicks_machine      BIGINT NOT NULL DEFAULT 0
);
-- The delivery queue: workers claim the oldest due PENDING rows.
CREATE INDEX emails_queue ON emails (status, next_attempt_at);
CREATE INDEX emails_project ON emails (project_id, created_at);
CREATE INDEX emails_contact ON emails (contact_id);

-- The outbox transport keeps the full RFC 5322 message, as handed over.
CREATE TABLE outbox (
    email_id   TEXT PRIMARY KEY,
    project_id TEXT   NOT NULL,
    raw        BLOB   NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE events (
    id         TEXT PRIMARY KEY,
    project_id TEXT   NOT NULL,
    contact_id TEXT   NOT NULL,
    email_id   TEXT,
    name       TEXT   NOT NULL,
    data       TEXT   NOT NULL DEFAULT '{}',
    created_at BIGINT NOT NULL,
    -- Copied out of `data` for email.* events so statistics and segments filter with plain,
    -- portable SQL (no JSON functions, which differ between the two databases).
    machine     TEXT,
    campaign_id TEXT,
    template_id TEXT,
    link_url    TEXT,
    link_index  BIGINT,
    link_tag    TEXT
);
CREATE INDEX events_contact ON events (contact_id, created_at);
CREATE INDEX events_project_name ON events (project_id, name, created_at);

CREATE TABLE idempotency_keys (
    project_id   TEXT   NOT NULL,
    key          TEXT   NOT NULL,
    request_hash TEXT   NOT NULL,
    response     TEXT   NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (project_id, key)
);
