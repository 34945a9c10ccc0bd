-- The console's accounts (roles admin, division, bureau, auditor; a division or bureau
-- account is scoped to its division code or municipal unit), their sessions (kept by the
-- SHA-256 of the token, so a copy of the database opens no session), failed logins (what
-- throttling counts), bureaus' acknowledgements of the 函告 they received, and the files
-- divisions attach to their tasks.
-- Released migrations are never edited: add a new numbered file instead.

CREATE TABLE accounts (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    login           TEXT NOT NULL UNIQUE,
    name            TEXT NOT NULL,
    role            TEXT NOT NULL CHECK (role IN ('admin', 'division', 'bureau', 'auditor')),
    scope           TEXT,
    password_hash   TEXT NOT NULL,
    password_set_at TEXT NOT NULL,
    disabled_at     TEXT,
    created_at      TEXT NOT NULL
);

CREATE TABLE sessions (
    token_sha256 TEXT PRIMARY KEY,
    account_id   BIGINT NOT NULL REFERENCES accounts (id),
    csrf         TEXT NOT NULL,
    address      TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    last_seen    TEXT NOT NULL,
    ended_at     TEXT
);
CREATE INDEX sessions_account ON sessions (account_id);

CREATE TABLE login_failures (
    id      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    login   TEXT NOT NULL,
    address TEXT NOT NULL,
    at      TEXT NOT NULL
);
CREATE INDEX login_failures_login ON login_failures (login, at);
CREATE INDEX login_failures_address ON login_failures (address, at);

CREATE TABLE notice_receipts (
    outbox_id       BIGINT PRIMARY KEY REFERENCES outbox (id),
    account_id      BIGINT NOT NULL REFERENCES accounts (id),
    acknowledged_at TEXT NOT NULL
);

-- Files a division attaches to a task (现场检查笔录, photos): stored content-addressed under
-- the data folder by their SHA-256, which the audit chain records; never public.
CREATE TABLE attachments (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    task_id      TEXT NOT NULL REFERENCES tasks (id),
    sha256       TEXT NOT NULL,
    name         TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size         BIGINT NOT NULL,
    actor        TEXT NOT NULL,
    at           TEXT NOT NULL
);
CREATE INDEX attachments_task ON attachments (task_id);

-- A division's list of its open tasks, soonest deadline first (the console's first page), and
-- a bureau's by municipal unit: ranges of an index instead of a scan of every task.
CREATE INDEX tasks_division_due ON tasks (division, next_due, id);
CREATE INDEX tasks_city_due ON tasks (city, next_due, id);
