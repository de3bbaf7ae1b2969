-- uidt job store, PostgreSQL schema version 1 (many hosts may share it; docs/fleet.md).
-- Table names carry the uidt_ prefix: the database may hold other things too.
-- The default namespace is stored as '' (Android forbids empty namespaces, so '' is free).
-- Records are JSON texts (see uidt.store.codec); key columns are repeated for lookups.
-- A job's lease: the host holding it (lease_owner, NULL when free), until when
-- (lease_expires_utc_ms, milliseconds since the epoch) and its generation, which every claim
-- raises by one and every write of the job must name (fencing).

CREATE TABLE uidt_jobs (
    app TEXT NOT NULL,
    namespace TEXT NOT NULL,
    job_id BIGINT NOT NULL,
    record TEXT NOT NULL,
    enqueue_time_utc_ms BIGINT NOT NULL DEFAULT 0,
    lease_owner TEXT,
    lease_expires_utc_ms BIGINT NOT NULL DEFAULT 0,
    lease_generation BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (app, namespace, job_id)
);

CREATE INDEX uidt_jobs_by_lease ON uidt_jobs (lease_owner, lease_expires_utc_ms);

-- Claims take the oldest claimable jobs first: this order lets a claim stop at the first rows
-- instead of sorting the whole queue.
CREATE INDEX uidt_jobs_by_enqueue ON uidt_jobs (enqueue_time_utc_ms, app, namespace, job_id);

CREATE TABLE uidt_apps (
    package TEXT NOT NULL PRIMARY KEY,
    record TEXT NOT NULL
);

CREATE TABLE uidt_notifications (
    app TEXT NOT NULL,
    notification_id BIGINT NOT NULL,
    record TEXT NOT NULL,
    PRIMARY KEY (app, notification_id)
);

CREATE TABLE uidt_meta (
    key TEXT NOT NULL PRIMARY KEY,
    value TEXT NOT NULL
);

-- Lease generations come from one sequence: a job removed and scheduled again can never hand
-- out a generation an old holder still names.
CREATE SEQUENCE uidt_lease_generation;
