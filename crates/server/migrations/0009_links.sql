-- Link fidelity (issue 14).
--
-- The starts of tracked destinations too long to seal into a click token (the token carries
-- the rest), stored once each: the id is the first 128 bits of SHA-256 over the start and the
-- link's tag (hex), so every email, recipient and campaign carrying the same start shares one
-- row, and the sealed token names the row. Rows are never deleted, and reference no project or
-- campaign: a link keeps redirecting after its campaign, template or project settings are gone,
-- on any node.
CREATE TABLE link_destinations (
    id         TEXT   PRIMARY KEY,
    url        TEXT   NOT NULL,
    tag        TEXT,
    created_at BIGINT NOT NULL
);

-- A project's campaign parameters for tracked links (JSON object name → value; NULL: none),
-- and whether the plain-text part's links are tracked too (0/1).
ALTER TABLE projects ADD COLUMN utm TEXT;
ALTER TABLE projects ADD COLUMN track_text_links BIGINT NOT NULL DEFAULT 0;

-- A campaign's changes to its project's parameters (JSON object name → value, or null to drop
-- one; NULL: the project's as they are).
ALTER TABLE campaigns ADD COLUMN utm TEXT;
