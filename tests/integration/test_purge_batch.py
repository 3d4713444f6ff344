#!/usr/bin/env python3
"""A manual purge deletes in batches of retention.batch rows, as the
leader's own purges do (docs/observability.md, Retention): with
--retention-batch 100, POST /api/v1/runs:purge over 250 old runs deletes
them all in three statements (100, 100, 50) and says so ("batches"), and
leaves the runs after its cut alone. The leader's own rule is off here
(--retention-runs 0s), so that every row counted is the manual purge's."""

import time

from harness import log, run_scenario

OLD = 250
NEW = 20


def insert_runs(c, n, ms, status_every=10, first_seq=1):
    """n runs of a deleted job 'old', scheduled at ms, ids carrying that time."""
    c.sql("INSERT INTO runs (run_id, job_id, job_name, node, scheduled_at, started_at,"
          " finished_at, status)"
          " SELECT UNHEX(CONCAT(LPAD(HEX(%d), 12, '0'), '7000', LPAD(HEX(seq), 16, '0'))),"
          " 1, 'old', 'worker-x', FROM_UNIXTIME(%d / 1000), FROM_UNIXTIME(%d / 1000),"
          " FROM_UNIXTIME(%d / 1000), IF(seq %% %d = 0, 'failed', 'success')"
          " FROM seq_%d_to_%d" % (ms, ms, ms, ms, status_every, first_seq, first_seq + n - 1))
    c.sql("INSERT IGNORE INTO runs_by_status (run_id, status) SELECT run_id, status FROM runs"
          " WHERE job_name = 'old' AND status <> 'success'")


def count(c, where="1=1"):
    return int(c.sql("SELECT COUNT(*) FROM runs WHERE %s" % where)[0][0])


def scenario(c):
    now_ms = int(time.time() * 1000)
    insert_runs(c, OLD, now_ms - 40 * 86400 * 1000)
    insert_runs(c, NEW, now_ms - 3600 * 1000, first_seq=OLD + 1)
    assert count(c) == OLD + NEW, count(c)
    cut = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now_ms / 1000 - 30 * 86400))
    status, body = c.api("POST", "/api/v1/runs:purge", {"before": cut})
    assert status == 200, "purge: HTTP %s %s" % (status, body)
    log("POST /api/v1/runs:purge before %s: %s" % (cut, body))
    assert body["deleted"]["runs"] == OLD, body
    assert body["batches"] == 3, "%s batches, want 3 of at most 100 rows: %s" % (body["batches"], body)
    assert count(c) == NEW, "%d runs left, want the %d after the cut" % (count(c), NEW)
    left = int(c.sql("SELECT COUNT(*) FROM runs_by_status s LEFT JOIN runs r ON r.run_id = s.run_id"
                     " WHERE r.run_id IS NULL")[0][0])
    assert left == 0, "%d runs_by_status rows outlived their runs" % left
    # Nothing left before the cut: a second purge deletes nothing, in no batch.
    status, body = c.api("POST", "/api/v1/runs:purge", {"before": cut})
    assert status == 200 and body["deleted"]["runs"] == 0 and body["batches"] == 0, body


if __name__ == "__main__":
    run_scenario(scenario, workers=0,
                 master_args=["--retention-batch", "100", "--retention-runs", "0s"])
