#!/usr/bin/env python3
"""GET /metrics after a mixed load. What a user must see:

- the exposition passes `promtool check metrics` (format 0.0.4, # HELP and
  # TYPE for every metric);
- hourglass_runs_total{namespace,job,status} equals the run rows in MySQL
  per job and status, after a load of successes, failures (HTTP 500),
  timeouts and skips (an overloaded worker), and the skip reason is
  "overloaded" for exactly the rows whose error says so;
- the duration histogram counts every finished run that ran, the last
  success is the newest success row's end, the next fire of a job firing
  every second is a second or two away, and leader, epoch and nodes
  describe the cluster;
- without a token /metrics answers 401 (metrics.public is off), and an
  API request shows up in hourglass_api_requests_total.

Two workers with capacity 1 and an HTTP queue of 1. worker-1 runs "ok",
"bad" and "slow" (timeout 300 ms against a 1.5 s answer) once a second;
worker-2 runs "flood" every 100 ms against a 500 ms answer, so most of its
fires find the slot and the queue taken and are recorded as skipped."""

import re
import shutil
import subprocess
import time

from harness import log, parse_time, run_scenario

LOAD_S = 8
LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse(text):
    """{(name, frozenset of label pairs): value} of an exposition."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = LINE.match(line)
        assert m, "not a sample line: %r" % line
        labels = frozenset(LABEL.findall(m.group(3) or ""))
        out[(m.group(1), labels)] = float(m.group(4))
    return out


def value(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())), 0.0)


def scrape(c, token=True):
    status, text = c.api("GET", "/metrics", token=token)
    return status, text


def scenario(c):
    hits = c.hits
    pin1 = {"executor": {"nodes": ["worker-1"]}}
    pin2 = {"executor": {"nodes": ["worker-2"]}}
    c.create_job("ok", "@every 1s", hits.url("/ok"), **pin1)
    c.create_job("bad", "@every 1s", hits.url("/status/500"), **pin1)
    c.create_job("slow", "@every 1s", hits.url("/slow?delay_ms=1500"), timeout="300ms", **pin1)
    c.create_job("flood", "@every 100ms", hits.url("/flood?delay_ms=500"), timeout="5s", **pin2)
    jobs = ("ok", "bad", "slow", "flood")
    time.sleep(LOAD_S)
    # While "ok" fires every second its next fire time is within a second
    # or two from now (refreshed once its previous one has passed).
    def next_fire():
        status, text = scrape(c)
        v = value(parse(text), "hourglass_job_next_fire_timestamp_seconds", namespace="default",
                  job="ok") if status == 200 else 0
        return v if time.time() - 1.5 < v < time.time() + 2.5 else None

    c.wait_until(next_fire, timeout=10, what="a next fire time of job ok within 2 s from now")
    for j in jobs:
        status, body = c.api("DELETE", "/api/v1/jobs/" + j)
        assert status in (200, 204), "delete %s: HTTP %s %s" % (j, status, body)

    # Once the jobs are gone, the runs in flight end and their records
    # land; the counters must then match the rows exactly. A run still in
    # flight has no row until it ends or has run store.start_write_after
    # (1 s, issue 14), so "no row running" alone does not say all ended:
    # wait until the workers report none in flight.
    c.wait_until(lambda: all(n.get("running", 0) == 0 for n in c.nodes()), timeout=20,
                 what="no run in flight on the workers")
    def rows():
        got = c.sql("SELECT job_name, status, COUNT(*) FROM runs GROUP BY job_name, status")
        if any(r[1] == "running" for r in got):
            return None
        return {(r[0], r[1]): int(r[2]) for r in got}

    def settled():
        db = rows()
        if db is None:
            return None
        status, text = scrape(c)
        assert status == 200, "GET /metrics: HTTP %s %s" % (status, text)
        s = parse(text)
        for (job, st), n in db.items():
            if value(s, "hourglass_runs_total", namespace="default", job=job, status=st) != n:
                return None
        total = sum(v for (name, _), v in s.items() if name == "hourglass_runs_total")
        return (db, s, text) if total == sum(db.values()) else None

    db, s, text = c.wait_until(settled, timeout=30, what="/metrics counters equal to the run rows")
    log("run rows by job and status: %s" % sorted(db.items()))
    for st in ("success", "failed", "timeout", "skipped"):
        assert any(k[1] == st for k in db), "the load produced no %s run: %s" % (st, db)

    # promtool reads the exposition as Prometheus would.
    promtool = shutil.which("promtool")
    assert promtool, "promtool is missing (Debian package prometheus; scripts/install-deps)"
    r = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True,
                       timeout=60)
    # promtool exits 1 on lint findings too; an error in the format is "error while linting".
    assert "error while linting" not in (r.stdout + r.stderr), "promtool: %s" % (r.stdout + r.stderr)
    bad = [l for l in (r.stdout + r.stderr).splitlines()
           if l.strip() and "counter metrics should have \"_total\" suffix" not in l
           and "non-histogram and non-summary metrics should not have \"_sum\" suffix" not in l]
    assert r.returncode == 0 or not bad, "promtool check metrics: %s" % "\n".join(bad)
    log("promtool check metrics: exit %d, %d bytes checked" % (r.returncode, len(text)))

    # Skip reasons: "overloaded" for exactly the rows that say so.
    over = int(c.sql("SELECT COUNT(*) FROM runs WHERE status = 'skipped' AND error LIKE "
                     "'worker overloaded%'")[0][0])
    got = sum(v for (name, labels), v in s.items()
              if name == "hourglass_runs_skipped_total" and ("reason", "overloaded") in labels)
    assert got == over, "skipped for overload: %d in /metrics, %d rows" % (got, over)
    assert over > 0, "no run was skipped for overload"

    # Durations: one observation per finished run that ran (not skipped).
    for j in jobs:
        ran = sum(n for (job, st), n in db.items() if job == j and st != "skipped")
        cnt = value(s, "hourglass_run_duration_seconds_count", namespace="default", job=j)
        assert cnt == ran, "%s: %d durations, %d runs that ran" % (j, cnt, ran)
        inf = value(s, "hourglass_run_duration_seconds_bucket", namespace="default", job=j, le="+Inf")
        assert inf == cnt, "%s: +Inf bucket %d != count %d" % (j, inf, cnt)
    late = value(s, "hourglass_fire_lateness_seconds_count", namespace="default", job="ok")
    assert late >= db.get(("ok", "success"), 0), "ok: %d lateness observations" % late

    # Last success: the newest success row's end.
    newest = c.sql("SELECT MAX(finished_at) FROM runs WHERE job_name = 'ok' AND status = 'success'")
    want = parse_time(newest[0][0])
    last = value(s, "hourglass_job_last_success_timestamp_seconds", namespace="default", job="ok")
    assert abs(last - want) < 0.002, "last success %.3f, newest success row ends %.3f" % (last, want)

    assert value(s, "hourglass_leader") == 1, "the only master says it does not lead"
    assert value(s, "hourglass_epoch") >= 1, "no epoch"
    assert value(s, "hourglass_nodes", state="active") == 2, "nodes: %s" % [
        k for k in s if k[0] == "hourglass_nodes"]
    assert value(s, "process_resident_memory_bytes") > 0, "no process figures"
    # Exported, and nothing of the alert engine's dropped in a calm cluster.
    for name in ("hourglass_alert_record_batches_dropped_total", "hourglass_alerts_dropped_total"):
        assert (name, frozenset()) in s, "%s is not exported" % name
        assert value(s, name) == 0, "%s: %s" % (name, value(s, name))

    status, body = scrape(c, token=None)
    assert status == 401, "/metrics without a token: HTTP %s, want 401" % status
    status, text = scrape(c)
    s = parse(text)
    jobs_route = value(s, "hourglass_api_requests_total", route="/api/v1/jobs", code="201")
    assert jobs_route == 4, "POST /api/v1/jobs counted %d times, want 4" % jobs_route
    log("counters match %d run rows; skipped for overload %d" % (sum(db.values()), over))


if __name__ == "__main__":
    run_scenario(scenario, workers=2, worker_args=["--capacity", "1", "--http-queue", "1"])
