-- Trust: numbered, append-only publication history; facts recorded, never overwritten.
-- Released migrations are never edited: add a new numbered file instead.

-- Each manifest and draw gets its number within its plan and year (manifest-N.json,
-- draw-N.json), when its seed becomes public, why it replaced the one before, and the audit
-- rows that recorded it (published as anchors of the audit chain).
ALTER TABLE manifests ADD COLUMN seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE manifests ADD COLUMN available_at TEXT;
ALTER TABLE manifests ADD COLUMN reason TEXT;
ALTER TABLE manifests ADD COLUMN audit_seq BIGINT;
ALTER TABLE manifests ADD COLUMN audit_hash TEXT;
UPDATE manifests SET seq = (SELECT COUNT(*) FROM manifests m
    WHERE m.plan_id = manifests.plan_id AND m.year = manifests.year AND m.id <= manifests.id);
CREATE UNIQUE INDEX manifests_seq ON manifests (plan_id, year, seq);

ALTER TABLE draws ADD COLUMN seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE draws ADD COLUMN audit_seq BIGINT;
ALTER TABLE draws ADD COLUMN audit_hash TEXT;
ALTER TABLE draws ADD COLUMN void_forced BIGINT NOT NULL DEFAULT 0 CHECK (void_forced IN (0, 1));
ALTER TABLE draws ADD COLUMN void_audit_seq BIGINT;
ALTER TABLE draws ADD COLUMN void_audit_hash TEXT;
UPDATE draws SET seq = (SELECT COUNT(*) FROM draws d
    WHERE d.plan_id = draws.plan_id AND d.year = draws.year AND d.id <= draws.id);
CREATE UNIQUE INDEX draws_seq ON draws (plan_id, year, seq);

-- The task projection gains the days of the facts that had none.
ALTER TABLE tasks ADD COLUMN scheduled_on TEXT;
ALTER TABLE tasks ADD COLUMN archived_on TEXT;
ALTER TABLE tasks ADD COLUMN replaced_on TEXT;
ALTER TABLE tasks ADD COLUMN voided_on TEXT;

-- Every fact of a task's life, in the order recorded: the day it took effect and the time it
-- was recorded, so any day's state can be folded back (monthly reports as they stood).
-- Append-only, like the audit log.
CREATE TABLE task_facts (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id     TEXT NOT NULL REFERENCES tasks (id),
    kind        TEXT NOT NULL,
    effective   TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    actor       TEXT NOT NULL,
    event       TEXT NOT NULL
);
CREATE INDEX task_facts_task ON task_facts (task_id, id);
CREATE INDEX task_facts_recorded ON task_facts (recorded_at);
CREATE TRIGGER task_facts_no_update BEFORE UPDATE ON task_facts
BEGIN SELECT RAISE(ABORT, 'task_facts is append-only'); END;
CREATE TRIGGER task_facts_no_delete BEFORE DELETE ON task_facts
BEGIN SELECT RAISE(ABORT, 'task_facts is append-only'); END;

-- Facts of tasks recorded before this version, rebuilt from their columns (recorded when the
-- task was created: the best that is known).
UPDATE tasks SET scheduled_on = drawn_on WHERE planned_date IS NOT NULL;
UPDATE tasks SET archived_on = COALESCE(penalty_published_date, published_date)
    WHERE status = 'archived';
INSERT INTO task_facts (task_id, kind, effective, recorded_at, actor, event)
    SELECT id, 'schedule', drawn_on, created_at, 'migration',
           '{"schedule":"' || planned_date || '"}'
    FROM tasks WHERE planned_date IS NOT NULL;
INSERT INTO task_facts (task_id, kind, effective, recorded_at, actor, event)
    SELECT id, 'complete', completed_date, created_at, 'migration',
           '{"complete":["' || completed_date || '","' || outcome || '"]}'
    FROM tasks WHERE completed_date IS NOT NULL AND outcome IS NOT NULL;
INSERT INTO task_facts (task_id, kind, effective, recorded_at, actor, event)
    SELECT id, 'publish', published_date, created_at, 'migration',
           '{"publish":["' || published_date || '",null]}'
    FROM tasks WHERE published_date IS NOT NULL;
INSERT INTO task_facts (task_id, kind, effective, recorded_at, actor, event)
    SELECT id, 'penalty', penalty_decision_date, created_at, 'migration',
           '{"penalty_decided":"' || penalty_decision_date || '"}'
    FROM tasks WHERE penalty_decision_date IS NOT NULL;
INSERT INTO task_facts (task_id, kind, effective, recorded_at, actor, event)
    SELECT id, 'penalty-published', penalty_published_date, created_at, 'migration',
           '{"penalty_published":"' || penalty_published_date || '"}'
    FROM tasks WHERE penalty_published_date IS NOT NULL;
INSERT INTO task_facts (task_id, kind, effective, recorded_at, actor, event)
    SELECT id, 'refer', referred_date, created_at, 'migration',
           '{"refer":"' || referred_date || '"}'
    FROM tasks WHERE referred_date IS NOT NULL;
INSERT INTO task_facts (task_id, kind, effective, recorded_at, actor, event)
    SELECT id, 'archive', archived_on, created_at, 'migration', '"archive"'
    FROM tasks WHERE archived_on IS NOT NULL;
