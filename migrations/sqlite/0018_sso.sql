-- Single sign-on: the provider's subject an account signs in as, and the sign-ins under way
-- (kept by the SHA-256 of their state, each taken once).
-- Released migrations are never edited: add a new numbered file instead.

ALTER TABLE accounts ADD COLUMN sso_subject TEXT;
CREATE UNIQUE INDEX accounts_sso_subject ON accounts (sso_subject);

CREATE TABLE sso_logins (
    state_sha256 TEXT PRIMARY KEY,
    nonce        TEXT NOT NULL,
    verifier     TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    taken_at     TEXT
);
