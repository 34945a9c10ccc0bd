-- `entities_sector_status` was used by no query; every import paid for it (2.3 s of a
-- million-row import). SQLite's side of this migration also adds a covering index for the
-- sampling frame; PostgreSQL reads the frame from the table as fast as from such an index
-- (measured), so it has none.
-- A manifest or draw of a million-entity frame is a 20 MB JSON text. PostgreSQL compressed it
-- with pglz on every write: storing one manifest took 0.50-0.60 s in a freeze, and 0.24-0.25 s
-- uncompressed, half its size saved on a few texts a year. They are kept uncompressed, as
-- SQLite keeps them. Rows written before keep their compression; they read the same.
-- Released migrations are never edited: add a new numbered file instead.

DROP INDEX entities_sector_status;
ALTER TABLE manifests ALTER COLUMN content SET STORAGE EXTERNAL;
ALTER TABLE draws ALTER COLUMN content SET STORAGE EXTERNAL;
