-- A store is production or rehearsal, fixed when it is created. The mode is not a column
-- anyone could update: it is the audit chain itself. A store is a rehearsal store exactly when
-- its chain holds a `store.rehearsal` row (appended when a rehearsal store is created, or when
-- a copy of a production store becomes a rehearsal); a chain without one is production. The
-- index finds those rows without reading the chain.
-- Released migrations are never edited: add a new numbered file instead.

CREATE INDEX audit_log_action ON audit_log (action);

-- Announced seed digits belong to the manifest whose seed they are, not to the plan's year: a
-- redraw after a void needs a new manifest with a seed that did not exist then, and its own
-- digits. An entry made before is the seed of the manifest in force when it was entered.
CREATE TABLE seed_entries_by_manifest (
    manifest_id BIGINT PRIMARY KEY REFERENCES manifests (id),
    plan_id     TEXT NOT NULL,
    year        BIGINT NOT NULL,
    value       TEXT NOT NULL,
    entered_at  TEXT NOT NULL,
    actor       TEXT NOT NULL
);
INSERT INTO seed_entries_by_manifest (manifest_id, plan_id, year, value, entered_at, actor)
SELECT m.id, s.plan_id, s.year, s.value, s.entered_at, s.actor
FROM seed_entries s
JOIN manifests m ON m.id = (
    SELECT MAX(f.id) FROM manifests f
    WHERE f.plan_id = s.plan_id AND f.year = s.year AND f.frozen_at <= s.entered_at
);
DROP TABLE seed_entries;
ALTER TABLE seed_entries_by_manifest RENAME TO seed_entries;
