-- Hourglass schema, migration 014: every master's heartbeat (issue 13).
--
-- The leadership row names the leader only; the dashboard's Overview and
-- GET /api/v1/masters also list the standbys. Each master's election actor
-- (master/leader.c, master/masters.c) writes its own row every couple of
-- seconds on its lock connection: its name, API URL, workers endpoint,
-- role as it sees it, and the epoch (its own while leading, the leader's it
-- follows while standing by). A row whose heartbeat is old is shown as
-- down; rows silent for a day are deleted by the leader, so the table stays
-- as small as the set of masters.
CREATE TABLE IF NOT EXISTS masters (
    name        VARCHAR(190) NOT NULL,
    api_url     VARCHAR(255) NOT NULL,
    endpoint    VARCHAR(255) NOT NULL,
    role        VARCHAR(16)  NOT NULL,                    -- leader | standby
    epoch       BIGINT UNSIGNED NULL,                     -- NULL: no leader known yet
    started_at  DATETIME(3)  NOT NULL,
    beat_at     DATETIME(3)  NOT NULL,
    PRIMARY KEY (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
