-- Registry (一单两库), import bookkeeping, and the hash-chained audit log.
-- Released migrations are never edited: add a new numbered file instead.

CREATE TABLE divisions (
    code  TEXT PRIMARY KEY,
    label TEXT NOT NULL
);

CREATE TABLE bureaus (
    unit       TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    email      TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE items (
    code       TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    basis      TEXT NOT NULL,
    object     TEXT NOT NULL,
    body       TEXT NOT NULL,
    method     TEXT NOT NULL,
    frequency  TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE entities (
    uscc       TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    sector     TEXT NOT NULL,
    city       TEXT NOT NULL,
    county     TEXT,
    risk       TEXT NOT NULL,
    scale      TEXT,
    status     TEXT NOT NULL,
    tags       TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX entities_sector_status ON entities (sector, status);

CREATE TABLE officers (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    agency      TEXT NOT NULL,
    division    TEXT,
    cadre       BIGINT NOT NULL CHECK (cadre IN (0, 1)),
    home_city   TEXT,
    expertise   TEXT NOT NULL,
    status      TEXT NOT NULL,
    valid_until TEXT,
    updated_at  TEXT NOT NULL
);

CREATE TABLE conflicts (
    officer_id TEXT NOT NULL REFERENCES officers (id),
    uscc       TEXT NOT NULL REFERENCES entities (uscc),
    reason     TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (officer_id, uscc)
);

CREATE TABLE imports (
    id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind      TEXT NOT NULL,
    file      TEXT NOT NULL,
    sha256    TEXT NOT NULL,
    encoding  TEXT NOT NULL,
    rows      BIGINT NOT NULL,
    inserted  BIGINT NOT NULL,
    updated   BIGINT NOT NULL,
    unchanged BIGINT NOT NULL,
    actor     TEXT NOT NULL,
    at        TEXT NOT NULL
);

-- The previous version of every registry row an import changed: history is never lost.
CREATE TABLE history (
    id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind      TEXT NOT NULL,
    key       TEXT NOT NULL,
    import_id BIGINT NOT NULL REFERENCES imports (id),
    old       TEXT NOT NULL
);
CREATE INDEX history_kind_key ON history (kind, key);

-- Append-only. Each row's hash covers its content and the previous row's hash.
CREATE TABLE audit_log (
    seq       BIGINT PRIMARY KEY,
    at        TEXT NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    subject   TEXT NOT NULL,
    detail    TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
);
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
