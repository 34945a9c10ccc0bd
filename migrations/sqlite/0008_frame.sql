-- The draw steps read the sampling frame (USCC, sector, city, risk, status, tags of every
-- entity, in USCC order) a chunk at a time. They read it from one covering index whose entries
-- already hold each row packed as the population query wants it, so that SQLite neither looks
-- each row up in the table nor joins its fields again on every read: `frame` is generated from
-- the row's own columns by SQLite itself, so it can never disagree with them.
-- `entities_sector_status` was used by no query; every import paid for it.
-- Released migrations are never edited: add a new numbered file instead.

DROP INDEX entities_sector_status;

ALTER TABLE entities ADD COLUMN frame TEXT GENERATED ALWAYS AS (
    uscc || char(31) || sector || char(31) || city || char(31) || risk || char(31) || status
    || char(31) || tags
) VIRTUAL;

CREATE INDEX entities_frame ON entities (uscc, frame);
