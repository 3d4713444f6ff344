-- Hourglass schema, migration 009: job dependencies (issue 11).
--
-- job_deps: one row per edge "child depends on parent", mirrored from the
-- child's depends_on in the same transaction that writes the job, so that
-- "who depends on X" (delete refusal, the tree route, cycle checks) is an
-- index lookup instead of a scan of every job's spec. Jobs are named, not
-- numbered, because a dependency names its parent; both live in the same
-- namespace. created_at bounds which parent runs count: a run that
-- finished before the edge existed never fires the child.
--
-- dep_inbox: the parent runs that count for a child (their status matched
-- the edge's "on"), one row per (child, parent run), written by the
-- leader's dependency engine from the committed run records. fire_at is
-- the dependency fire that consumed the run, NULL while it waits (fan-in
-- with trigger_rule "all"). The primary key makes a resent or re-scanned
-- run count once, whichever master leads.
--
-- dep_fires: the child fires the engine decided, written with the inbox
-- rows they consume before the TRIGGER is sent. fire_at is the scheduled
-- time the child's run is recorded with, so a new leader can tell a fire
-- that reached a worker (a run of the child with that scheduled time and
-- reason "dependency") from one to send again.

CREATE TABLE IF NOT EXISTS job_deps (
    namespace     VARCHAR(64)  NOT NULL,
    child_name    VARCHAR(190) NOT NULL,
    parent_name   VARCHAR(190) NOT NULL,
    on_status     VARCHAR(8)   NOT NULL,                  -- success | failure | always
    trigger_rule  VARCHAR(8)   NOT NULL,                  -- all | any (the child's)
    created_at    DATETIME(3)  NOT NULL,
    PRIMARY KEY (namespace, child_name, parent_name),
    KEY ix_job_deps_parent (namespace, parent_name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
;
CREATE TABLE IF NOT EXISTS dep_inbox (
    child_id      BIGINT UNSIGNED NOT NULL,
    parent_run_id BINARY(16)   NOT NULL,
    parent_id     BIGINT UNSIGNED NOT NULL,
    parent_name   VARCHAR(190) NOT NULL,
    status        VARCHAR(16)  NOT NULL,
    finished_at   DATETIME(3)  NOT NULL,
    result        BLOB         NULL,                      -- bounded excerpt passed to the child
    fire_at       DATETIME(3)  NULL,                      -- dep_fires.fire_at that consumed it
    PRIMARY KEY (child_id, parent_run_id),
    KEY ix_dep_inbox_wait (child_id, fire_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
;
CREATE TABLE IF NOT EXISTS dep_fires (
    child_id      BIGINT UNSIGNED NOT NULL,
    fire_at       DATETIME(3)  NOT NULL,
    params        MEDIUMTEXT   NOT NULL,                  -- JSON object: parent.<job>.result
    state         VARCHAR(8)   NOT NULL DEFAULT 'pending', -- pending | sent | done | dropped
    PRIMARY KEY (child_id, fire_at),
    KEY ix_dep_fires_state (state)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
;
