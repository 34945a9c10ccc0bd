-- What the leading daemon runs (its rule file and plan, the department's schedules), written
-- with its heartbeat: `status` shows it, even when the rule file on disk no longer checks.
-- Released migrations are never edited: add a new numbered file instead.

ALTER TABLE leader ADD COLUMN runs TEXT;
