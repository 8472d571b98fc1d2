-- An email's bodies live beside its row, not in it. The row changes several times in its life
-- (claim → SENDING, outcome → SENT, tracking counters); the bodies never change after they are
-- queued. On SQLite every change to a row rewrites all of it, overflow pages included, so with a
-- newsletter's ~130 KB of HTML and text inside, each state change cost ~64 WAL frames and bound
-- delivery (bench/README.md). Here the row stays small and the bodies are written once.
--
-- Deleting an email (or its project, which deletes its emails) deletes its bodies.
CREATE TABLE email_bodies (
    email_id TEXT PRIMARY KEY REFERENCES emails(id) ON DELETE CASCADE,
    html     TEXT,
    text     TEXT
);

-- Every email gets its bodies' row, even one with neither (as new emails do).
INSERT INTO email_bodies (email_id, html, text) SELECT id, html, text FROM emails;

-- SQLite (≥ 3.35) rewrites each row once to drop a column: a one-off cost proportional to the
-- stored emails. The freed pages are reused by later writes (VACUUM gives them back to the disk).
ALTER TABLE emails DROP COLUMN html;
ALTER TABLE emails DROP COLUMN text;
