#!/usr/bin/env python3
"""Times GET /api/v1/jobs with the node and last-run filters (issue 13) on
a catalogue of N jobs (default 1,000,000), not a ctest: run by hand, e.g.

    HG_TEST_DB_PORT=... scripts/test -R nothing   # builds, starts MariaDB
    python3 tests/bench/jobs_filters.py [N]

with the environment scripts/test sets (HOURGLASS_MYSQL_PORT and the build
directory), like any integration test. The catalogue is written straight
into MariaDB: N paused copies of one job (every tenth active), every third
held by "bulk-node" and every 1,000th of those by "rare-node", every 7th
with a successful run and every 500th with a later failed one. Prints, per
query, the median of 5 HTTP round trips (3 for the walks) to the first
answer, first page and deep in the list, and (issue 13: a filter checked
job by job answers "partial" after api.scan_budget) the time to a full page
of 50 (or to the end of the list) following `next` as a client does, with
the number of requests it took.
"""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "integration"))
from harness import log, run_scenario  # noqa: E402

N = int(sys.argv[1]) if len(sys.argv) > 1 else 1000000
NUM = "CAST(SUBSTRING(name, 6) AS UNSIGNED)"


def fill(c):
    c.create_job("template", "0 0 3 * * ?", c.hits.url("/t"), namespace="bulk", status="paused")
    t0 = time.monotonic()
    c.sql("INSERT INTO jobs (namespace, name, kind, schedule, timezone, status, misfire,"
          " timeout_ms, spec, version, created_at, updated_at)"
          " SELECT 'bulk', CONCAT('bulk-', LPAD(seq, 7, '0')), kind, schedule, timezone,"
          " IF(seq %% 10 = 0, 'active', 'paused'), misfire, timeout_ms, spec, 1,"
          " UTC_TIMESTAMP(3), UTC_TIMESTAMP(3)"
          " FROM seq_1_to_%d JOIN jobs t ON t.name = 'template'" % (N - 1))
    c.sql("INSERT INTO assignments (job_id, node, epoch, assigned_at)"
          " SELECT id, IF(%s %% 1000 = 0, 'rare-node', 'bulk-node'), 1, UTC_TIMESTAMP(3)"
          " FROM jobs WHERE name LIKE 'bulk-%%' AND %s %% 3 = 0" % (NUM, NUM))
    run = ("INSERT INTO runs (run_id, job_id, job_name, node, scheduled_at, started_at,"
           " finished_at, status) SELECT UNHEX(LPAD(CONV(id * 4 + %d, 10, 16), 32, '0')), id,"
           " name, 'bulk-node', UTC_TIMESTAMP(3) - INTERVAL %d MINUTE - INTERVAL 2 DAY,"
           " UTC_TIMESTAMP(3) - INTERVAL %d MINUTE - INTERVAL 2 DAY,"
           " UTC_TIMESTAMP(3) - INTERVAL %d MINUTE - INTERVAL 2 DAY, '%s' FROM jobs"
           " WHERE name LIKE 'bulk-%%' AND " + NUM + " %% %d = 0")
    c.sql(run % (1, 20, 20, 20, "success", 7))
    c.sql(run % (2, 10, 10, 10, "failed", 500))
    c.sql("INSERT INTO runs_by_status (run_id, status) SELECT run_id, status FROM runs"
          " WHERE status = 'failed'")
    c.sql("ANALYZE TABLE jobs, assignments, runs, runs_by_status")
    log("catalogue of %d jobs written in %.1f s" % (N, time.monotonic() - t0))


def scenario(c):
    fill(c)
    mid = "bulk/bulk-%07d" % (N * 6 // 10)
    queries = ("after=", "node=bulk-node&after=", "node=bulk-node&after=" + mid,
               "node=rare-node&after=", "last_run=failed&after=", "last_run=failed&after=" + mid,
               "last_run=success&after=", "last_run=success&after=" + mid,
               "last_run=success&status=active&after=", "node=bulk-node&last_run=failed&after=",
               "node=no-such-node&after=", "last_run=timeout&after=",
               # The worst cases: a walk of the whole index finding nothing,
               # without the new filters and with them.
               "kind=plugin&after=", "last_run=success&kind=plugin&after=",
               "node=bulk-node&kind=plugin&after=")
    for q in queries:
        took = []
        for _ in range(5 if "kind=" not in q else 3):  # the walks take seconds
            t0 = time.monotonic()
            st, b = c.api("GET", "/api/v1/jobs?limit=50&" + q, timeout=60)
            took.append(time.monotonic() - t0)
            assert st == 200, (q, st, b)
        full_s, calls, found = full_page(c, q)
        log("%-55s first %6.0f ms (%d jobs%s)  full page %7.0f ms (%d jobs, %d requests)"
            % (q, sorted(took)[len(took) // 2] * 1000, len(b["jobs"]),
               ", partial" if b.get("partial") else "", full_s * 1000, found, calls))


def full_page(c, q, limit=50):
    """Follow next while the answers are partial, as the dashboard's Search
    further or the CLI does, until 50 jobs or the end: (seconds, requests,
    jobs)."""
    base, _, after = q.rpartition("after=")
    found, calls, t0 = 0, 0, time.monotonic()
    while True:
        st, b = c.api("GET", "/api/v1/jobs?limit=%d&%safter=%s" % (limit - found, base, after),
                      timeout=60)
        assert st == 200, (q, st, b)
        calls += 1
        found += len(b["jobs"])
        if not b.get("partial") or found >= limit:
            return time.monotonic() - t0, calls, found
        after = b["next"]


if __name__ == "__main__":
    run_scenario(scenario, workers=1)
