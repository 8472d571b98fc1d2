-- Campaigns: one message to an audience. `cursor` is the last contact id queued: the fan-out
-- walks contacts in id order and moves the cursor in the same transaction as the emails it
-- queues, so a restart resumes exactly after the last committed page.
CREATE TABLE campaigns (
    id           TEXT PRIMARY KEY,
    project_id   TEXT   NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    name         TEXT   NOT NULL,
    subject      TEXT   NOT NULL,
    body         TEXT   NOT NULL,
    from_email   TEXT   NOT NULL,
    from_name    TEXT,
    reply_to     TEXT,
    type         TEXT   NOT NULL,
    audience     TEXT   NOT NULL,
    status       TEXT   NOT NULL,
    scheduled_at BIGINT,
    started_at   BIGINT,
    finished_at  BIGINT,
    cursor       TEXT   NOT NULL DEFAULT '',
    recipients   BIGINT NOT NULL DEFAULT 0,
    lease_until  BIGINT,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);
CREATE INDEX campaigns_project ON campaigns (project_id, id);
CREATE INDEX campaigns_due ON campaigns (status, scheduled_at);
-- A contact gets a campaign once, whatever happens to the fan-out.
CREATE UNIQUE INDEX emails_campaign_contact ON emails (campaign_id, contact_id) WHERE campaign_id IS NOT NULL;
