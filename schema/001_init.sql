-- Hourglass schema, migration 001: catalogue, cluster and run history.
-- Times are DATETIME(3) in UTC (the master sets time_zone = '+00:00' on
-- every connection). Applied by hourglass-master at start-up; recorded in
-- schema_version. Statements are separated by lines holding only ";".

CREATE TABLE IF NOT EXISTS jobs (
    id            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    namespace     VARCHAR(64)  NOT NULL DEFAULT 'default',
    name          VARCHAR(190) NOT NULL,
    kind          VARCHAR(16)  NOT NULL,                 -- http | plugin
    schedule      VARCHAR(255) NOT NULL,
    timezone      VARCHAR(64)  NOT NULL DEFAULT 'UTC',
    status        VARCHAR(16)  NOT NULL DEFAULT 'active', -- active | paused | completed
    start_at      DATETIME(3)  NULL,
    end_at        DATETIME(3)  NULL,
    misfire       VARCHAR(16)  NOT NULL DEFAULT 'fire_once',
    timeout_ms    INT UNSIGNED NOT NULL DEFAULT 30000,
    spec          MEDIUMTEXT   NOT NULL,                  -- JSON: http/plugin task, params, executor
    version       BIGINT UNSIGNED NOT NULL DEFAULT 1,
    last_fire_at  DATETIME(3)  NULL,                      -- last scheduled time known fired
    created_at    DATETIME(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    updated_at    DATETIME(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    PRIMARY KEY (id),
    UNIQUE KEY uq_jobs_name (namespace, name),
    KEY ix_jobs_status (status)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
;
CREATE TABLE IF NOT EXISTS nodes (
    name           VARCHAR(190) NOT NULL,
    state          VARCHAR(16)  NOT NULL,                 -- active | draining | lost | left
    labels         TEXT         NOT NULL,                 -- JSON object
    capacity       INT UNSIGNED NOT NULL DEFAULT 0,
    version        VARCHAR(32)  NOT NULL DEFAULT '',
    first_seen_at  DATETIME(3)  NOT NULL,
    last_seen_at   DATETIME(3)  NOT NULL,
    PRIMARY KEY (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
;
CREATE TABLE IF NOT EXISTS assignments (
    job_id       BIGINT UNSIGNED NOT NULL,
    node         VARCHAR(190) NOT NULL,
    epoch        BIGINT UNSIGNED NOT NULL,
    assigned_at  DATETIME(3)  NOT NULL,
    PRIMARY KEY (job_id),
    KEY ix_assignments_node (node)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
;
CREATE TABLE IF NOT EXISTS runs (
    run_id         BINARY(16)   NOT NULL,                 -- UUIDv7, time-ordered
    job_id         BIGINT UNSIGNED NOT NULL,
    job_name       VARCHAR(190) NOT NULL,
    node           VARCHAR(190) NOT NULL,
    epoch          BIGINT UNSIGNED NOT NULL DEFAULT 0,
    scheduled_at   DATETIME(3)  NOT NULL,
    started_at     DATETIME(3)  NULL,
    finished_at    DATETIME(3)  NULL,
    status         VARCHAR(16)  NOT NULL,                 -- running | success | failed | timeout | crashed | lost | skipped
    http_status    SMALLINT     NULL,
    exit_code      INT          NULL,
    error          TEXT         NULL,
    output         BLOB         NULL,                     -- bounded excerpt (4 KiB)
    attempt        INT UNSIGNED NOT NULL DEFAULT 1,
    trigger_reason VARCHAR(16)  NOT NULL DEFAULT 'schedule',
    PRIMARY KEY (run_id),
    KEY ix_runs_job_time (job_id, scheduled_at),
    KEY ix_runs_time (scheduled_at),
    KEY ix_runs_status (status, scheduled_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
;
CREATE TABLE IF NOT EXISTS leadership (
    id          TINYINT UNSIGNED NOT NULL,                -- always 1
    master      VARCHAR(190) NOT NULL,
    endpoint    VARCHAR(255) NOT NULL,
    api_url     VARCHAR(255) NOT NULL,
    epoch       BIGINT UNSIGNED NOT NULL,
    since       DATETIME(3)  NOT NULL,
    PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
;
