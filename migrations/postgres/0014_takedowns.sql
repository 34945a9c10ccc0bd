-- Results taken down when their retention ran out (public.retention_years): each a published
-- event of its plan's history, recorded once per task (the key), with the day the retention
-- ran out as the rule states it, the real time it was recorded, and its audit row.
-- Released migrations are never edited: add a new numbered file instead.

CREATE TABLE takedowns (
    task_id    TEXT PRIMARY KEY,
    plan_id    TEXT NOT NULL,
    year       BIGINT NOT NULL,
    draw_id    BIGINT NOT NULL REFERENCES draws (id),
    uscc       TEXT NOT NULL,
    rule       TEXT NOT NULL,
    due_on     TEXT NOT NULL,
    at         TEXT NOT NULL,
    actor      TEXT NOT NULL,
    audit_seq  BIGINT NOT NULL,
    audit_hash TEXT NOT NULL
);
CREATE INDEX takedowns_plan ON takedowns (plan_id, year);
