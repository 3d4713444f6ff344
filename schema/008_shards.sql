-- Hourglass schema, migration 008: routing, broadcast and sharding (issue 11).
--
-- A sharded job runs each fire as N shard runs, one row each: the row says
-- which shard it was (shard_index, 0 .. shard_total - 1) and of how many.
-- Both are NULL for every other run (plain and broadcast jobs: a broadcast
-- run is told apart by its node). A fire of a sharded job is a success when
-- all shard_total rows of its scheduled time are; GET /api/v1/jobs/{name}
-- shows that in "last_fire". No index: the rows are found by
-- ix_runs_job_time (job_id, scheduled_at), as every run of a job is.

ALTER TABLE runs
    ADD COLUMN shard_index SMALLINT UNSIGNED NULL,
    ADD COLUMN shard_total SMALLINT UNSIGNED NULL
;
