-- Hourglass schema, migration 011: alert rules and their deliveries
-- (issue 12, docs/observability.md "Alerts").
--
-- alert_rules: what to watch (namespace, job glob, events) and where to
-- send it (a webhook or e-mail channel). The channel's secret (the
-- webhook's HMAC key, the SMTP password) is kept in its own column so that
-- reads can leave it out; it must be kept in clear, since the master signs
-- and logs in with it.
--
-- alert_events: the outbox. One row per (rule, run) that was an event for
-- the rule, written by the leader after the run record was committed, with
-- what became of it (send, dedup, threshold, silenced). Its unique key
-- makes the evaluation idempotent: a new leader that evaluates the last
-- runs again (or a resent record) inserts nothing twice, so no alert is
-- doubled across a failover. A "missed" event has no run: run_key is then
-- derived from the job and the scheduled fire (alerts.h).
--
-- alert_deliveries: one per event sent (and per "alert test"), delivered
-- by the leader's sender from this table, so a new leader finishes what
-- the old one left: status pending | sent | failed | dropped, attempts,
-- last error and the next attempt's time (back-off).
--
-- alert_state: per (rule, job, event), the dedup flag, the threshold
-- window and the silence; for "missed", the time from which a success is
-- awaited.
--
-- alert_cursor: the newest run end the leader has evaluated; a new leader
-- evaluates the runs that ended shortly before it again (alerts.catchup).

CREATE TABLE IF NOT EXISTS alert_rules (
    id            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    name          VARCHAR(128) NOT NULL,
    namespace     VARCHAR(64)  NULL,                      -- NULL = every namespace
    job           VARCHAR(190) NOT NULL DEFAULT '*',      -- name or glob
    events        VARCHAR(128) NOT NULL,                  -- comma-separated event names
    channel       VARCHAR(16)  NOT NULL,                  -- webhook | email
    config        TEXT         NOT NULL,                  -- JSON, without the secret
    secret        VARBINARY(512) NULL,                    -- HMAC key / SMTP password
    threshold     INT UNSIGNED NOT NULL DEFAULT 1,
    window_ms     BIGINT       NOT NULL DEFAULT 0,
    silence_ms    BIGINT       NOT NULL DEFAULT 0,
    dedup         TINYINT      NOT NULL DEFAULT 1,
    late_ms       BIGINT       NOT NULL DEFAULT 0,
    missed_ms     BIGINT       NOT NULL DEFAULT 0,
    created_by    VARCHAR(128) NOT NULL,
    created_at    DATETIME(3)  NOT NULL,
    PRIMARY KEY (id),
    UNIQUE KEY uq_alert_rules_name (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
;
CREATE TABLE IF NOT EXISTS alert_events (
    id            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    rule_id       BIGINT UNSIGNED NOT NULL,
    run_key       BINARY(16)   NOT NULL,                  -- runs.run_id, or synthetic (missed)
    job_id        BIGINT UNSIGNED NOT NULL,
    event         VARCHAR(16)  NOT NULL,
    outcome       VARCHAR(16)  NOT NULL,                  -- send | dedup | threshold | silenced
    at            DATETIME(3)  NOT NULL,
    PRIMARY KEY (id),
    UNIQUE KEY uq_alert_events_rule_run (rule_id, run_key),
    KEY ix_alert_events_at (at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
;
CREATE TABLE IF NOT EXISTS alert_deliveries (
    id              BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    event_id        BIGINT UNSIGNED NULL,                 -- alert_events.id; NULL for a test
    rule_id         BIGINT UNSIGNED NOT NULL,
    event           VARCHAR(16)  NOT NULL,
    job             VARCHAR(260) NOT NULL,                -- namespace/name
    status          VARCHAR(16)  NOT NULL,                -- pending | sent | failed | dropped
    attempts        INT UNSIGNED NOT NULL DEFAULT 0,
    last_error      VARCHAR(1024) NULL,
    payload         MEDIUMTEXT   NOT NULL,                -- the event document (JSON)
    created_at      DATETIME(3)  NOT NULL,
    next_attempt_at DATETIME(3)  NOT NULL,
    sent_at         DATETIME(3)  NULL,
    PRIMARY KEY (id),
    UNIQUE KEY uq_alert_deliveries_event (event_id),
    KEY ix_alert_deliveries_due (status, next_attempt_at),
    KEY ix_alert_deliveries_rule (rule_id, id),
    KEY ix_alert_deliveries_created (created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
;
CREATE TABLE IF NOT EXISTS alert_state (
    rule_id          BIGINT UNSIGNED NOT NULL,
    job_id           BIGINT UNSIGNED NOT NULL,
    event            VARCHAR(16)  NOT NULL,
    alerted          TINYINT      NOT NULL DEFAULT 0,
    window_start_ms  BIGINT       NOT NULL DEFAULT 0,
    window_count     INT UNSIGNED NOT NULL DEFAULT 0,
    silenced_until_ms BIGINT      NOT NULL DEFAULT 0,
    watch_from_ms    BIGINT       NOT NULL DEFAULT 0,     -- missed: a success awaited after this
    updated_at       DATETIME(3)  NOT NULL,
    PRIMARY KEY (rule_id, job_id, event)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
;
CREATE TABLE IF NOT EXISTS alert_cursor (
    id            TINYINT UNSIGNED NOT NULL,              -- always 1
    finished_ms   BIGINT       NOT NULL,                  -- newest run end evaluated
    PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
;
