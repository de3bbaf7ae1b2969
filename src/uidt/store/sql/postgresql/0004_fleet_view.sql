-- uidt job store, PostgreSQL schema version 4: one view of the fleet (docs/fleet.md).
--
-- Notifications are each host's own: `host_id` names the host that shows one, and a restarted
-- daemon loads only its own. Rows written before this version belong to no host yet (''); the
-- first daemon to load its notifications takes them over.
ALTER TABLE uidt_notifications ADD COLUMN host_id TEXT NOT NULL DEFAULT '';
ALTER TABLE uidt_notifications DROP CONSTRAINT uidt_notifications_pkey;
ALTER TABLE uidt_notifications ADD PRIMARY KEY (host_id, app, notification_id);

-- The Task Manager's Stop of a job another host holds, on its way to that host. A request names
-- the job and the scheduling of it the user saw (`job_generation`, the core's generation kept in
-- the record); whichever host holds the job when it looks carries it out, or finds it stale (the
-- job was scheduled anew since, or ended) and says so. Done requests keep their outcome, so the
-- host that sent one can tell the user what became of it.
CREATE TABLE uidt_stop_requests (
    id BIGSERIAL PRIMARY KEY,
    app TEXT NOT NULL,
    namespace TEXT NOT NULL,
    job_id BIGINT NOT NULL,
    job_generation BIGINT NOT NULL,
    requested_by TEXT NOT NULL,
    requested_utc_ms BIGINT NOT NULL,
    sent_to TEXT,
    done_by TEXT,
    done_utc_ms BIGINT,
    outcome TEXT
);

CREATE INDEX uidt_stop_requests_open ON uidt_stop_requests (app, namespace, job_id)
    WHERE done_utc_ms IS NULL;

-- What each host runs, as it last told (every heartbeat): the keys of its running jobs, a JSON
-- list of [app, namespace, job_id], and when it said so. The fleet view tells "running on X"
-- from "waiting on X" by it.
CREATE TABLE uidt_host_runs (
    host_id TEXT NOT NULL PRIMARY KEY,
    running TEXT NOT NULL,
    seen_utc_ms BIGINT NOT NULL
);
