-- Bodies at campaign scale (docs/ARCHITECTURE.md, "How bodies are stored"). Every statement
-- here is cheap on a large database: columns are added without rewriting rows, and the bodies
-- an older Beacon stored in plain text are compressed afterwards, in the background, in small
-- batches (src/bodies/repack.rs), not by this migration.

-- The content an email's bodies are compressed against, shared by the emails of a campaign,
-- a workflow step, a template or a multi-recipient send; itself compressed alone. The id is a
-- hash of the project and the content. Emails name it without a foreign key: a project's
-- deletion removes its emails and its dictionaries in whatever order the cascade takes.
-- Retention removes a dictionary once nothing names it.
CREATE TABLE body_dictionaries (
    id         TEXT PRIMARY KEY,
    project_id TEXT   NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    content    BLOB   NOT NULL,
    created_at BIGINT NOT NULL
);

-- `packed`: one zstd frame of the HTML and the text (src/bodies/codec.rs); `html` and `text`
-- stay for rows not yet repacked. `purged_at`: when retention removed the bodies.
ALTER TABLE email_bodies ADD COLUMN dictionary_id TEXT;
ALTER TABLE email_bodies ADD COLUMN packed BLOB NULL;
ALTER TABLE email_bodies ADD COLUMN purged_at BIGINT;
-- Retention removes a dictionary once no row names it.
CREATE INDEX email_bodies_dictionary ON email_bodies (dictionary_id) WHERE dictionary_id IS NOT NULL;

-- The outbox transport's message, compressed against its email's dictionary; `raw` stays for
-- messages not yet repacked (new rows leave it empty).
ALTER TABLE outbox ADD COLUMN dictionary_id TEXT;
ALTER TABLE outbox ADD COLUMN packed BLOB NULL;
CREATE INDEX outbox_dictionary ON outbox (dictionary_id) WHERE dictionary_id IS NOT NULL;

-- A send request's attachments, stored once for all its recipients (they were a copy in each
-- email's row, rewritten with every status change), compressed alone.
CREATE TABLE attachment_sets (
    id         TEXT PRIMARY KEY,
    project_id TEXT   NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    packed     BLOB   NOT NULL,
    created_at BIGINT NOT NULL
);
ALTER TABLE emails ADD COLUMN attachment_set_id TEXT;
-- Retention keeps a set while an email of it is still queued.
CREATE INDEX emails_attachment_set ON emails (attachment_set_id) WHERE attachment_set_id IS NOT NULL;

-- Retention walks emails by age, across projects.
CREATE INDEX emails_created ON emails (created_at, id);

-- Where each background job (repacking, retention) got to, so a restart resumes there.
CREATE TABLE maintenance_cursors (
    name     TEXT PRIMARY KEY,
    position TEXT NOT NULL
);
