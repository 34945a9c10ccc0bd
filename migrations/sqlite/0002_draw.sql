-- Frozen manifests, official draws and the inspection tasks they create.

CREATE TABLE manifests (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    plan_id       TEXT NOT NULL,
    year          BIGINT NOT NULL,
    digest        TEXT NOT NULL,
    script_sha256 TEXT NOT NULL,
    content       TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('active', 'superseded')),
    frozen_at     TEXT NOT NULL,
    actor         TEXT NOT NULL
);
-- One active manifest per plan and year: a re-freeze supersedes it explicitly.
CREATE UNIQUE INDEX manifests_active ON manifests (plan_id, year) WHERE status = 'active';

CREATE TABLE draws (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    plan_id         TEXT NOT NULL,
    year            BIGINT NOT NULL,
    manifest_id     BIGINT NOT NULL REFERENCES manifests (id),
    manifest_digest TEXT NOT NULL,
    seed_kind       TEXT NOT NULL,
    seed_value      TEXT NOT NULL,
    seed            TEXT NOT NULL,
    digest          TEXT NOT NULL,
    content         TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('official', 'voided')),
    drawn_at        TEXT NOT NULL,
    actor           TEXT NOT NULL,
    void_reason     TEXT,
    voided_at       TEXT,
    voided_by       TEXT
);
-- The one official draw per plan and year, enforced by the database itself.
CREATE UNIQUE INDEX draws_official ON draws (plan_id, year) WHERE status = 'official';

CREATE TABLE tasks (
    id           TEXT PRIMARY KEY,
    draw_id      BIGINT NOT NULL REFERENCES draws (id),
    plan_id      TEXT NOT NULL,
    year         BIGINT NOT NULL,
    task_rule    TEXT NOT NULL,
    stratum      TEXT NOT NULL,
    position     BIGINT NOT NULL,
    uscc         TEXT NOT NULL,
    entity_name  TEXT NOT NULL,
    city         TEXT NOT NULL,
    division     TEXT NOT NULL,
    cadre        TEXT NOT NULL,
    members      TEXT NOT NULL,
    partners     TEXT NOT NULL,
    items        TEXT NOT NULL,
    window_start TEXT NOT NULL,
    window_end   TEXT NOT NULL,
    status       TEXT NOT NULL,
    created_at   TEXT NOT NULL
);
CREATE INDEX tasks_draw ON tasks (draw_id);
CREATE INDEX tasks_status ON tasks (status);
