-- The private record behind a v3 manifest's published eligibility (who is inactive, whose
-- certificate expired, home cities, declared conflicts, last year's pairs, and the salt of its
-- hash). Never published: `suiji audit eligibility` hands it to an auditor.
-- Released migrations are never edited: add a new numbered file instead.

CREATE TABLE eligibility (
    manifest_id BIGINT PRIMARY KEY REFERENCES manifests (id),
    record      TEXT NOT NULL
);

-- RFC 3161 tokens of a history's heads (`timestamp-<n>.tsr`): kept before they are published,
-- so a token once obtained is the one published, whoever writes the folder.
CREATE TABLE timestamps (
    plan_id TEXT NOT NULL,
    year    BIGINT NOT NULL,
    n       BIGINT NOT NULL,
    head    TEXT NOT NULL,
    token   TEXT NOT NULL,
    at      TEXT NOT NULL,
    PRIMARY KEY (plan_id, year, n, head)
);
