-- uidt job store, PostgreSQL schema version 3: host requirements (docs/fleet.md).
-- required_labels: the labels a host must have to run the job (JobInfo.required_host_labels,
-- sorted, each once; '{}' for a job any host may run). A claim takes only jobs whose labels are
-- all among the claiming host's own (required_labels <@ the host's labels).
-- A job written by a host lacking its labels is stored free to claim (lease_owner NULL).

ALTER TABLE uidt_jobs ADD COLUMN required_labels TEXT[] NOT NULL DEFAULT '{}';

-- The claim walks uidt_jobs_by_enqueue and tests the labels of each free row; where labelled
-- jobs pile up (no host with their labels is up), this lets the planner find the ones a host
-- may take without walking past the others.
CREATE INDEX uidt_jobs_by_labels ON uidt_jobs USING gin (required_labels);
