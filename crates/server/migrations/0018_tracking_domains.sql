-- Custom tracking domains (issue 17): a project's own host for its links, pixel and
-- unsubscribe page, used once a DNS check proved it points at Beacon (or carries its token).
--
-- Removing a domain sets `removed_at`, and the row keeps serving the project's links already
-- sent under that host (only the project's own emails' tokens are honoured on it), until
-- another project verifies the hostname, which deletes the removed rows for it. A hostname
-- another project merely added (PENDING) can still be added: it belongs to the project that
-- verifies it first.
CREATE TABLE tracking_domains (
    id            TEXT   PRIMARY KEY,
    project_id    TEXT   NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    -- Lower case, no trailing dot, no port (actions/domains.rs parses it).
    hostname      TEXT   NOT NULL,
    -- `https` or `http`: the scheme of the URLs put in emails.
    scheme        TEXT   NOT NULL,
    -- The value of the TXT record that proves control without a CNAME.
    token         TEXT   NOT NULL,
    -- PENDING (never verified), VERIFIED (the last check passed), FAILING (verified once, the
    -- last check failed: not put in new emails, still served).
    status        TEXT   NOT NULL,
    created_at    BIGINT NOT NULL,
    checked_at    BIGINT,
    verified_at   BIGINT,
    failing_since BIGINT,
    last_error    TEXT,
    removed_at    BIGINT
);

-- One live verified domain per hostname, one live domain per project; removed rows keep
-- serving old links.
CREATE UNIQUE INDEX tracking_domains_live_host ON tracking_domains (hostname)
    WHERE removed_at IS NULL AND verified_at IS NOT NULL;
CREATE UNIQUE INDEX tracking_domains_live_project ON tracking_domains (project_id) WHERE removed_at IS NULL;
CREATE INDEX tracking_domains_host ON tracking_domains (hostname);
