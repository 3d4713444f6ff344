#!/usr/bin/env python3
"""Retention and the manual purge. What a user must see:

- the leader purges by itself: runs older than retention.runs (here old
  rows written 40 days back) and audit rows as old go, recent ones stay;
  a namespace with its own rule (retention.namespaces short=3s) loses its
  runs older than 3 s while the default namespace keeps its recent runs;
- `hourglass runs purge --before T --job a` removes exactly the runs of a
  scheduled before T (the run scheduled at T stays), and nothing of
  another job;
- POST /api/v1/runs:purge without a job removes exactly the runs of every
  job scheduled before T, with their runs_by_status rows, is refused to
  a viewer (403), is audited as runs.purge, and /metrics counts what it
  deleted."""

import re
import time

from harness import log, parse_time, run_scenario

OLD_DAYS = 40


def iso(t):
    """RFC 3339 with milliseconds of Unix time t."""
    ms = int(round(t * 1000))
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + ".%03dZ" % (ms % 1000)


def runs(c, job):
    """{run id hex: scheduled Unix s} of job's rows."""
    rows = c.sql("SELECT LOWER(HEX(run_id)), scheduled_at FROM runs WHERE job_name = '%s'" % job)
    return {r[0]: parse_time(r[1]) for r in rows}


def no_running(c):
    return not c.sql("SELECT 1 FROM runs WHERE status = 'running' LIMIT 1")


def insert_old(c, job_id, n):
    """n runs of job_id scheduled OLD_DAYS ago, ids carrying that time (UUIDv7)."""
    ms = int((time.time() - OLD_DAYS * 86400) * 1000)
    values = []
    for i in range(n):
        rid = "%012x7000800000000000%04x" % (ms + i, i)
        values.append("(x'%s', %d, 'old', 'worker-x', FROM_UNIXTIME(%.3f), FROM_UNIXTIME(%.3f), "
                      "FROM_UNIXTIME(%.3f), 'failed')" % (rid, job_id, (ms + i) / 1000.0,
                                                          (ms + i) / 1000.0, (ms + i) / 1000.0))
    c.sql("INSERT INTO runs (run_id, job_id, job_name, node, scheduled_at, started_at, finished_at,"
          " status) VALUES " + ",".join(values))
    c.sql("INSERT INTO runs_by_status (run_id, status) SELECT run_id, status FROM runs"
          " WHERE job_name = 'old'")


def scenario(c):
    hits = c.hits
    a = c.create_job("a", "@every 200ms", hits.url("/a"))
    c.create_job("b", "@every 300ms", hits.url("/status/500"))
    c.create_job("s", "@every 200ms", hits.url("/s"), namespace="short")
    insert_old(c, a["id"], 25)
    c.sql("INSERT INTO audit (at, token_name, role, action, object, address, status) VALUES"
          " (NOW(3) - INTERVAL %d DAY, 'old', 'admin', 'job.create', 'default/x', '127.0.0.1', 201)"
          % OLD_DAYS)

    # The rule: the old rows and the old audit row go, the short namespace
    # keeps no run older than its 3 s (plus a pass interval), the default
    # namespace keeps its recent runs.
    def purged_by_rule():
        old = int(c.sql("SELECT COUNT(*) FROM runs WHERE job_name = 'old'")[0][0])
        old_audit = int(c.sql("SELECT COUNT(*) FROM audit WHERE token_name = 'old'")[0][0])
        s_old = int(c.sql("SELECT COUNT(*) FROM runs WHERE job_name = 's' AND scheduled_at <"
                          " NOW(3) - INTERVAL 5 SECOND")[0][0])
        s_all = int(c.sql("SELECT COUNT(*) FROM runs WHERE job_name = 's'")[0][0])
        a_old = int(c.sql("SELECT COUNT(*) FROM runs WHERE job_name = 'a' AND scheduled_at <"
                          " NOW(3) - INTERVAL 5 SECOND")[0][0])
        ok = old == 0 and old_audit == 0 and s_old == 0 and s_all > 0 and a_old > 0
        return (s_all, a_old) if ok else None

    c.wait_until(purged_by_rule, timeout=30, what="the retention rule to purge the old rows")
    left = int(c.sql("SELECT COUNT(*) FROM runs_by_status s LEFT JOIN runs r ON r.run_id = s.run_id"
                     " WHERE r.run_id IS NULL")[0][0])
    assert left == 0, "%d runs_by_status rows outlived their runs" % left
    assert int(c.sql("SELECT COUNT(*) FROM audit WHERE token_name <> 'old'")[0][0]) > 0, \
        "recent audit rows were purged too"
    log("the rule purged the 40-day-old runs and audit row and the short namespace's old runs")

    # Stop the load: a and b are paused (their rows stay in the
    # catalogue), s is deleted.
    for j in ("a", "b"):
        status, body = c.api("POST", "/api/v1/jobs/%s/pause" % j)
        assert status == 200, "pause %s: HTTP %s %s" % (j, status, body)
    status, body = c.api("DELETE", "/api/v1/jobs/s?namespace=short")
    assert status in (200, 204), "delete s: HTTP %s %s" % (status, body)

    # hourglass_jobs follows the catalogue (counted each retention pass here).
    def jobs_counted():
        status, text = c.api("GET", "/metrics")
        lines = set(text.splitlines()) if status == 200 else set()
        return ('hourglass_jobs{namespace="default",status="paused"} 2' in lines
                and not any(l.startswith('hourglass_jobs{namespace="short"') for l in lines))

    c.wait_until(jobs_counted, timeout=15, what="hourglass_jobs to count 2 paused jobs, none in short")
    c.wait_until(lambda: no_running(c), timeout=20, what="every run finished")

    # Manual purge of one job, by the CLI: exactly the rows before the cut.
    before_a, before_b = runs(c, "a"), runs(c, "b")
    times = sorted(before_a.values())
    assert len(times) >= 6, "only %d runs of a" % len(times)
    cut = times[len(times) // 2]
    rc, out, err = c.cli("runs", "purge", "--before", iso(cut), "--job", "a")
    assert rc == 0, "hourglass runs purge: exit %d: %s %s" % (rc, out, err)
    after_a = runs(c, "a")
    want = {rid for rid, t in before_a.items() if t >= cut - 0.0005}
    assert set(after_a) == want, "runs of a left: %d, want %d (cut %s)" % (len(after_a), len(want), iso(cut))
    assert runs(c, "b") == before_b, "purging a's runs touched b's"
    said = re.search(r"purged (\d+) runs scheduled before \S+ in (\d+) batch(es)?$", out.strip())
    assert said and int(said.group(1)) == len(before_a) - len(after_a) and int(said.group(2)) >= 1, \
        "hourglass runs purge said %r; %d runs went" % (out, len(before_a) - len(after_a))
    log("hourglass runs purge --job a: %d of %d runs removed (%s)" % (len(before_a) - len(after_a),
                                                                       len(before_a), out.strip()))

    # Manual purge of every job, by the API; a viewer may not.
    times_b = sorted(before_b.values())
    cut_b = times_b[len(times_b) // 2]
    status, body = c.api("POST", "/api/v1/tokens", {"name": "watcher", "role": "viewer"})
    assert status == 201, "token create: HTTP %s %s" % (status, body)
    status, body = c.api("POST", "/api/v1/runs:purge", {"before": iso(cut_b)}, token=body["token"])
    assert status == 403, "a viewer's purge: HTTP %s, want 403" % status
    status, body = c.api("POST", "/api/v1/runs:purge", {"before": "yesterday"})
    assert status == 400 and body["error"].get("field") == "before", "bad before: %s %s" % (status, body)
    status, body = c.api("POST", "/api/v1/runs:purge", {"before": iso(cut_b)})
    assert status == 200, "purge: HTTP %s %s" % (status, body)
    after_b = runs(c, "b")
    want_b = {rid for rid, t in before_b.items() if t >= cut_b - 0.0005}
    assert set(after_b) == want_b, "runs of b left: %d, want %d" % (len(after_b), len(want_b))
    assert all(t >= cut_b - 0.0005 for t in runs(c, "a").values()), "a run of a before the cut is left"
    gone_b = len(before_b) - len(after_b)
    assert body["deleted"]["runs"] >= gone_b, "reply says %s deleted" % body
    left = int(c.sql("SELECT COUNT(*) FROM runs_by_status s LEFT JOIN runs r ON r.run_id = s.run_id"
                     " WHERE r.run_id IS NULL")[0][0])
    assert left == 0, "%d runs_by_status rows outlived their runs" % left
    failed_b = int(c.sql("SELECT COUNT(*) FROM runs_by_status s JOIN runs r ON r.run_id = s.run_id"
                         " WHERE r.job_name = 'b'")[0][0])
    assert failed_b == len(after_b), "b's failed runs left %d, in runs_by_status %d" % (len(after_b), failed_b)
    audited = c.sql("SELECT COUNT(*) FROM audit WHERE action = 'runs.purge' AND status = 200")
    assert int(audited[0][0]) == 2, "runs.purge audited %s times, want 2" % audited[0][0]

    status, text = c.api("GET", "/metrics")
    assert status == 200, "GET /metrics: HTTP %s" % status
    purged = [l for l in text.splitlines() if l.startswith('hourglass_purged_rows_total{table="runs"}')]
    assert purged and float(purged[0].split()[-1]) >= 25 + gone_b, "purged rows: %s" % purged
    log("POST /api/v1/runs:purge: %s; /metrics %s" % (body["deleted"], purged[0]))


if __name__ == "__main__":
    run_scenario(scenario, workers=1,
                 master_args=["--retention-namespaces", "short=3s", "--retention-interval", "1s"])
