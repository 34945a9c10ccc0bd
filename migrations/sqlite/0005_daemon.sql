-- The daemon: what ran (one row per job, plan and scheduled slot: the truth about exactly
-- once), who leads, and seed digits entered ahead of the draw job.
-- Released migrations are never edited: add a new numbered file instead.

CREATE TABLE job_runs (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    job          TEXT NOT NULL,
    plan_id      TEXT NOT NULL,
    slot         TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('running', 'done', 'failed', 'waiting')),
    owner        TEXT NOT NULL,
    attempts     BIGINT NOT NULL,
    next_attempt TEXT,
    started_at   TEXT NOT NULL,
    finished_at  TEXT,
    outcome      TEXT,
    error        TEXT,
    duration_ms  BIGINT
);
-- A slot is claimed by the one insert that wins.
CREATE UNIQUE INDEX job_runs_slot ON job_runs (job, plan_id, slot);

-- Which instance leads (informational: leadership itself is an OS file lock on SQLite and an
-- advisory lock on PostgreSQL).
CREATE TABLE leader (
    name   TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    since  TEXT NOT NULL,
    seen   TEXT NOT NULL
);

-- The public digits of a manual seed, entered once they are announced; the draw job takes them.
CREATE TABLE seed_entries (
    plan_id    TEXT NOT NULL,
    year       BIGINT NOT NULL,
    value      TEXT NOT NULL,
    entered_at TEXT NOT NULL,
    actor      TEXT NOT NULL,
    PRIMARY KEY (plan_id, year)
);
