-- `entities_sector_status` was used by no query; every import paid for it (2.3 s of a
-- million-row import). SQLite's side of this migration also adds a covering index for the
-- sampling frame; PostgreSQL reads the frame from the table as fast as from such an index
-- (measured), so it has none.
-- Released migrations are never edited: add a new numbered file instead.

DROP INDEX entities_sector_status;
