-- Hourglass schema, migration 015: a job whose remaining_runs are used up
-- is stored as status 'completed' (issue 11; docs/jobs.md "remaining_runs").
--
-- The leader's housekeeping actor looks every few seconds for active jobs
-- whose end (end_at: the remaining_runs cut-off, or the job's own end when
-- earlier) has passed. Without an index that starts with status and then
-- end_at, that look would read every active job each time (a million, at
-- scale); with it, it reads only the few that have ended.

ALTER TABLE jobs ADD INDEX ix_jobs_status_end (status, end_at)
;
