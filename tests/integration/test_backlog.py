#!/usr/bin/env python3
"""Offered more than the cluster records, a worker skips fires instead of
piling up run records without bound, and says so (issue 14). The test
stalls the master's store twice (a MariaDB session holds the runs table
locked for a few seconds: a slow disk, a long backup); with store.queue_max
20 the master soon answers finished-record batches with EBUSY; the worker
keeps them (at most a send window in flight) and, from report.backlog_max
(here 40) records held, skips its fires until fewer than half wait. What a
user must see:

- the worker logs when the backlog starts and ends;
- each job's fires that were not run are recorded: one `skipped` row per
  job and episode, its error naming the count and the scheduled times;
- no fire is silently lost: on each job's 200 ms grid, every scheduled
  time of the window has a run row or lies in a backlog row's range, and
  the counts of the backlog rows add up to exactly those times;
- every call the endpoint received has its run row, status success;
- /metrics counts every fire skipped for the backlog
  (hourglass_runs_skipped_total{reason="backlog"}), not one per row.
"""

import collections
import datetime
import os
import re
import subprocess

from harness import log, norm_run_id, run_scenario

JOBS = ["bl%d" % i for i in range(8)]
PERIOD_MS = 200
BACKLOG_RE = re.compile(r"^backlog: (\d+) fire\(s\) scheduled from (\S+) to (\S+) not run: "
                        r"(\d+) run records were waiting for the master")


def text(path):
    with open(path, "rb") as f:
        return f.read().decode("utf-8", errors="replace")


def ms(value):
    """A DATETIME(3) from MySQL or an ISO time of an error text -> unix ms."""
    if isinstance(value, str):
        value = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.timezone.utc)
    return round(value.timestamp() * 1000)


def stall_store(c, seconds):
    """Hold the runs table locked for a while from a session of our own."""
    m = c.mysql
    argv = ["mariadb", "--no-defaults", "--protocol=tcp", "-h", m["host"], "-P", str(m["port"]),
            "-u", m["user"], c.db_name, "-e",
            "LOCK TABLES runs WRITE, runs_by_status WRITE; SELECT SLEEP(%d); UNLOCK TABLES;" % seconds]
    return subprocess.Popen(argv, env=dict(os.environ, MYSQL_PWD=m["password"]),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def scenario(c):
    for j in JOBS:
        c.create_job(j, "@every 200ms", c.hits.url("/" + j), misfire="fire_all")
    wlog = c.workers["worker-1"].log_path
    c.wait_until(lambda: c.hits.count() >= 40, timeout=30, what="40 calls")
    for episode in (1, 2):
        lock = stall_store(c, 5)
        c.wait_until(lambda: text(wlog).count("fires are skipped") >= episode, timeout=20,
                     what="the worker to skip fires for its backlog (episode %d)" % episode)
        assert lock.wait(30) == 0, "the session holding the lock failed: %s" % lock.stderr.read()
        c.wait_until(lambda: text(wlog).count("backlog over after") >= episode, timeout=30,
                     what="backlog episode %d to end" % episode)
    # Stop the worker: it records the fires not run so far and waits until
    # the master has acknowledged every record.
    rc = c.workers["worker-1"].stop()
    assert rc == 0, "worker exit status %s" % rc
    names = ",".join("'%s'" % j for j in JOBS)

    def rows():
        return c.sql("SELECT LOWER(HEX(run_id)), job_name, scheduled_at, status, error"
                     " FROM runs WHERE job_name IN (%s)" % names)

    rows_now = c.wait_until(lambda: [r for r in rows()] if not any(r[3] == "running" for r in rows()) else None,
                            timeout=30, what="no run left running")
    ran = collections.defaultdict(set)
    ranges = collections.defaultdict(list)
    fires_total = 0
    for rid, job, sched, status, error in rows_now:
        m = BACKLOG_RE.match(error or "")
        if status == "skipped" and m:
            n, first, last = int(m.group(1)), ms(m.group(2)), ms(m.group(3))
            assert first == ms(sched), "backlog row's scheduled_at %s is not its first fire %s" % (sched, m.group(2))
            assert n >= 1 and first <= last, "bad backlog row: %r" % error
            ranges[job].append((first, last, n))
            fires_total += n
        else:
            assert status == "success", "run %s of %s: %s (%s)" % (rid, job, status, error)
            ran[job].add(ms(sched))
    assert fires_total > 0, "no backlog row recorded"
    log("%d backlog rows stand for %d fires not run; %d runs ran" %
        (sum(len(v) for v in ranges.values()), fires_total, sum(len(v) for v in ran.values())))
    for job in JOBS:
        times = sorted(ran[job] | {f for f, _, _ in ranges[job]} | {l for _, l, _ in ranges[job]})
        assert times, "job %s has no rows" % job
        lo, hi = times[0] + 2000, times[-1] - 2000
        grid = range(lo - (lo - times[0]) % PERIOD_MS, hi, PERIOD_MS)
        for t in grid:
            inside = [r for r in ranges[job] if r[0] <= t <= r[1]]
            assert t in ran[job] or inside, "job %s: fire at %d neither run nor counted" % (job, t)
            assert not (t in ran[job] and inside), "job %s: fire at %d both run and counted" % (job, t)
        for first, last, n in ranges[job]:
            covered = sum(1 for t in range(first, last + 1, PERIOD_MS) if t not in ran[job])
            assert covered == n, "job %s: backlog row %d..%d says %d fires, grid has %d" % (
                job, first, last, n, covered)
    hits = {norm_run_id(h["run_id"]) for h in c.hits.hits() if h["run_id"]}
    have = {r[0] for r in rows_now if r[3] == "success"}
    missing = hits - have
    assert not missing, "%d calls without a success row: %r" % (len(missing), sorted(missing)[:3])
    episodes = sum(int(x) for x in re.findall(r"backlog over after \d+ ms: (\d+) fires skipped", text(wlog)))
    log("worker log: %d fires skipped in ended episodes" % episodes)
    assert episodes <= fires_total, "log says %d fires skipped, rows %d" % (episodes, fires_total)

    def metric():
        status, body = c.api("GET", "/metrics")
        assert status == 200, "GET /metrics: %s" % status
        n = 0
        for line in body.splitlines():
            if line.startswith("hourglass_runs_skipped_total{") and 'reason="backlog"' in line:
                n += int(float(line.rsplit(" ", 1)[1]))
        return n if n == fires_total else None
    c.wait_until(metric, timeout=10, what="/metrics to count %d fires skipped for the backlog" % fires_total)


if __name__ == "__main__":
    run_scenario(scenario, workers=1, master_args=("--store-queue-max", "20"),
                 worker_args=("--report-backlog-max", "40"))
