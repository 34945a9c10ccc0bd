-- Notices: the outbox (written in the transaction of the event that causes each notice,
-- unique by idempotency key), their attachments, and the items each covers (so nothing is
-- notified twice). Officers may have an address for the reminders of inspections they lead.
-- Released migrations are never edited: add a new numbered file instead.

ALTER TABLE officers ADD COLUMN email TEXT;

CREATE TABLE outbox (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    key          TEXT NOT NULL,
    kind         TEXT NOT NULL,
    recipients   TEXT NOT NULL,
    cc           TEXT NOT NULL,
    subject      TEXT NOT NULL,
    body_text    TEXT NOT NULL,
    body_html    TEXT NOT NULL,
    late         BIGINT NOT NULL CHECK (late IN (0, 1)),
    status       TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
    attempts     BIGINT NOT NULL,
    next_attempt TEXT NOT NULL,
    last_error   TEXT,
    created_at   TEXT NOT NULL,
    sent_at      TEXT
);
CREATE UNIQUE INDEX outbox_key ON outbox (key);
CREATE INDEX outbox_due ON outbox (status, next_attempt);

CREATE TABLE outbox_attachments (
    outbox_id    BIGINT NOT NULL REFERENCES outbox (id),
    n            BIGINT NOT NULL,
    name         TEXT NOT NULL,
    ascii_name   TEXT NOT NULL,
    content_type TEXT NOT NULL,
    data         BLOB NOT NULL,
    PRIMARY KEY (outbox_id, n)
);

CREATE TABLE notice_items (
    item      TEXT PRIMARY KEY,
    outbox_id BIGINT NOT NULL REFERENCES outbox (id)
);
