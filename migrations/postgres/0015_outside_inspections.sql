-- Inspections done outside suiji (重点检查, 专项检查, a complaint's follow-up…), imported so that
-- a plan's yearly caps on inspections per enterprise (国办发〔2024〕54号) count them. A row is a
-- fact keyed by entity, day, kind and body: importing the same file again adds nothing.
-- Released migrations are never edited: add a new numbered file instead.

CREATE TABLE inspections (
    uscc         TEXT NOT NULL REFERENCES entities (uscc),
    inspected_on TEXT NOT NULL,
    kind         TEXT NOT NULL,
    body         TEXT NOT NULL,
    reference    TEXT,
    updated_at   TEXT NOT NULL,
    PRIMARY KEY (uscc, inspected_on, kind, body)
);
