-- The mail relay's health as the deliverers last saw it, for `status`, `/metrics` and the
-- administrators: the last failure's cause and sentence, since when delivery has been failing
-- (cleared by the next delivery), and when a notice last went out. One row, id 1.
-- Released migrations are never edited: add a new numbered file instead.

CREATE TABLE relay_state (
    id BIGINT PRIMARY KEY,
    cause TEXT,
    last_error TEXT,
    last_error_at TEXT,
    failing_since TEXT,
    last_sent_at TEXT
);
