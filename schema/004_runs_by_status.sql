-- Hourglass schema, migration 004: fewer index entries per run row.
--
-- Every secondary index on runs costs each of the (up to 100,000 a second)
-- rows written an insert into one more B-tree; on a 2-core machine each one
-- cost about a tenth of the rows recorded per second. Two go:
--
-- * ix_runs_status (status, scheduled_at) served one question, "which runs
--   failed (timed out, crashed, were lost, are running)?", and answered it
--   badly: the API lists newest first by run id, so it sorted every row of
--   that status. runs_by_status answers it instead. It holds only the runs
--   whose status is not success (the store adds a run when such a record
--   lands and removes it when the run ends in success), so it stays small,
--   and its (status, run_id) order is the listing's order.
-- * ix_runs_time (scheduled_at): the API lists by run id, which is
--   time-ordered (UUIDv7, the run's start), and bounds the run id by the
--   time window it is given.

CREATE TABLE IF NOT EXISTS runs_by_status (
    run_id  BINARY(16)  NOT NULL,    -- runs.run_id
    status  VARCHAR(16) NOT NULL,    -- runs.status, never 'success'
    PRIMARY KEY (run_id),
    KEY ix_runs_by_status (status, run_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
;
INSERT IGNORE INTO runs_by_status (run_id, status)
    SELECT run_id, status FROM runs WHERE status <> 'success'
;
ALTER TABLE runs DROP INDEX ix_runs_status, DROP INDEX ix_runs_time
;
