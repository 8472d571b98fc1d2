-- Segments: a named condition over a project's contacts. The condition is the validated JSON
-- as given; it is compiled to SQL when evaluated, so a segment is always current.
CREATE TABLE segments (
    id         TEXT PRIMARY KEY,
    project_id TEXT   NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    name       TEXT   NOT NULL,
    condition  TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX segments_project ON segments (project_id, id);
