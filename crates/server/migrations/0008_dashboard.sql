-- The dashboard's people: users, their memberships in projects, their sessions, and failed
-- sign-ins (kept in the database, like the sessions, so any node of several can serve any
-- request and the sign-in throttle counts across nodes).

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    -- Lower-cased at the edge (domain::EmailAddress), so one person has one account.
    email         TEXT   NOT NULL UNIQUE,
    -- argon2id in PHC string form; NULL while an invitation has not been accepted.
    password_hash TEXT,
    created_at    BIGINT NOT NULL
);

CREATE TABLE memberships (
    project_id TEXT   NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    user_id    TEXT   NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    -- OWNER | ADMIN | MEMBER
    role       TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (project_id, user_id)
);
CREATE INDEX memberships_user ON memberships (user_id);

-- A session is found by the SHA-256 of its cookie's token: the database never holds a value
-- that would sign anyone in.
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id    TEXT   NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    -- The synchronizer token every state-changing form carries.
    csrf       TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

-- An invitation to set a password, by the SHA-256 of its link's token.
CREATE TABLE invitations (
    token_hash TEXT PRIMARY KEY,
    user_id    TEXT   NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE TABLE login_failures (
    email TEXT   NOT NULL,
    at    BIGINT NOT NULL
);
CREATE INDEX login_failures_email ON login_failures (email, at);

-- The activity feed reads a project's newest events of every kind; the other indexes start
-- with the contact or the event's name. Times only grow, so inserts append to this index.
CREATE INDEX events_project_time ON events (project_id, created_at);
