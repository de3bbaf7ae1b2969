-- uidt job store, PostgreSQL schema version 3: host requirements (docs/fleet.md).
-- required_labels: the labels a host must have to run the job (JobInfo.required_host_labels,
-- sorted, each once; '{}' for a job any host may run). A claim takes only jobs whose labels are
-- all among the claiming host's own (required_labels <@ the host's labels).
-- A job written by a host lacking its labels is stored free to claim (lease_owner NULL).

ALTER TABLE uidt_jobs ADD COLUMN required_labels TEXT[] NOT NULL DEFAULT '{}';

-- The jobs any host may run, in claim order: a host without labels claims through this index
-- (its condition is required_labels = '{}'), so jobs piling up while they wait for a label no
-- host offers never slow its claims down. Hosts with labels walk uidt_jobs_by_enqueue.
CREATE INDEX uidt_jobs_unlabelled_by_enqueue ON uidt_jobs
    (enqueue_time_utc_ms, app, namespace, job_id) WHERE required_labels = '{}';
