-- Hourglass schema, migration 007: retries and run cancel (issue 11;
-- docs/jobs.md "Retries").
--
-- Each attempt of a fire is its own runs row: the same job and scheduled
-- time, attempt 1..n. first_run_id links the attempts of a chain to its
-- first (NULL for a run that is in no chain: most runs). A record that
-- will be followed by another attempt carries next_attempt_at, the due
-- time of that attempt, and retry_reason, the class that made it
-- retryable (http_5xx, http_429, connect, timeout, plugin_retry, crashed,
-- lost); next_attempt_at NULL means the row is its fire's final outcome,
-- which is what alerting looks at. No index: a chain is found through
-- ix_runs_job_time (same job, same scheduled time), and every secondary
-- index costs each of the runs written (see 004_runs_by_status.sql).
--
-- The status column gains the value 'cancelled' (VARCHAR, no DDL needed):
-- a run cancelled through the API, or replaced under overlap "replace".
-- The retry, overlap, max_concurrent and queue_max fields of a job live in
-- its spec JSON, like recover.

ALTER TABLE runs
    ADD COLUMN first_run_id    BINARY(16)  NULL,
    ADD COLUMN next_attempt_at DATETIME(3) NULL,
    ADD COLUMN retry_reason    VARCHAR(16) NULL
;
