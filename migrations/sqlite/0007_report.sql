-- Today's progress report is added up by the database from one covering index: the task's
-- publication deadline is kept in a column of its own (a copy of `deadlines.publish`, written
-- with it; NULL while it is pending or owed by no rule), so that no row's JSON is parsed.
-- Released migrations are never edited: add a new numbered file instead.

ALTER TABLE tasks ADD COLUMN publish_due TEXT;
UPDATE tasks SET publish_due = json_extract(deadlines, '$.publish')
 WHERE json_extract(deadlines, '$.publish') GLOB '[0-9]*';

-- In (division, status) order, so that the report's GROUP BY walks it without sorting.
CREATE INDEX tasks_report ON tasks (
    division, status, drawn_on, planned_date, completed_date, published_date, publish_due,
    penalty_decision_date, referred_date, next_due
);
