-- The inspection task lifecycle: facts as they happen, deadlines in working days, and the
-- earliest deadline still owed (next_due), indexed so the nightly check is one range query.

ALTER TABLE draws ADD COLUMN deadline_rules TEXT NOT NULL DEFAULT '{}';

ALTER TABLE tasks ADD COLUMN drawn_on TEXT NOT NULL DEFAULT '';
ALTER TABLE tasks ADD COLUMN planned_date TEXT;
ALTER TABLE tasks ADD COLUMN completed_date TEXT;
ALTER TABLE tasks ADD COLUMN outcome TEXT;
ALTER TABLE tasks ADD COLUMN published_date TEXT;
ALTER TABLE tasks ADD COLUMN published_url TEXT;
ALTER TABLE tasks ADD COLUMN penalty_decision_date TEXT;
ALTER TABLE tasks ADD COLUMN penalty_published_date TEXT;
ALTER TABLE tasks ADD COLUMN referred_date TEXT;
ALTER TABLE tasks ADD COLUMN replaced_by TEXT;
ALTER TABLE tasks ADD COLUMN replace_reason TEXT;
ALTER TABLE tasks ADD COLUMN deadlines TEXT NOT NULL DEFAULT '{}';
ALTER TABLE tasks ADD COLUMN next_due TEXT;
CREATE INDEX tasks_next_due ON tasks (next_due);
