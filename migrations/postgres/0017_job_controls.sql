-- What administrators told the daemon about its jobs: pause a job, resume it, run one of its
-- slots now. Facts: never updated or deleted (the latest pause or resume of a job is in
-- force); each is also in the audit chain.
-- Released migrations are never edited: add a new numbered file instead.

CREATE TABLE job_controls (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job         TEXT NOT NULL,
    owner       TEXT NOT NULL,
    action      TEXT NOT NULL CHECK (action IN ('pause', 'resume', 'run')),
    slot        TEXT,
    reason      TEXT NOT NULL,
    actor       TEXT NOT NULL,
    recorded_at TEXT NOT NULL
);
CREATE INDEX job_controls_job ON job_controls (job, owner, id);
