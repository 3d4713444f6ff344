#!/usr/bin/env python3
"""Placing many jobs at once, in slices (master/cluster_placement.c): jobs
created while no worker is up wait unplaced; when a worker joins, the
master hands them all out, a slice of at most S_PLACE_SLICE_MS at a time
with the workers' messages read in between, so that their heartbeats are
answered meanwhile. What a user must see:

- every job ends up held by the worker, each once (the assignments table
  and the worker's count agree), also jobs created while the placement
  goes on (between its slices);
- the master's log accounts for every job placed ("placed N jobs" lines
  add up to the number created) and says when every job is assigned;
- once they are all placed, the master is idle: a pass cut short must not
  walk the whole table again and again."""

import os
import time

from harness import log, run_scenario

JOBS = 80000  # more than HG_CLUSTER_ASSIGN_WINDOW (50,000): several passes
BATCH = 1000
LATE = 1000  # created while the placement goes on


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def held(c):
    nodes = [n for n in c.nodes() if n.get("name") == "worker-1"]
    return int(nodes[0].get("held") or 0) if nodes and nodes[0].get("state") == "active" else 0


def placed_lines(c):
    with open(c.master.log_path, errors="replace") as f:
        return [line for line in f if "cluster: placed " in line]


def scenario(c):
    for lo in range(0, JOBS, BATCH):
        jobs = [{"name": "slice-%d" % i, "schedule": "@daily", "http": {"url": c.hits.url("/never")}}
                for i in range(lo, lo + BATCH)]
        status, body = c.api("POST", "/api/v1/jobs:batch", {"jobs": jobs}, timeout=60)
        assert status == 201, "batch create: HTTP %s %s" % (status, str(body)[:200])
    assert c.sql("SELECT COUNT(*) FROM assignments")[0][0] in ("0", 0), "placed with no worker up"
    assert not placed_lines(c), placed_lines(c)

    t0 = time.monotonic()
    c.start_worker("worker-1", wait=False)
    # More jobs while the placement goes on: created between its slices,
    # perhaps where a pass already walked, they are placed too.
    c.wait_until(lambda: held(c) > 0, timeout=60, interval=0.05, what="the placement under way")
    jobs = [{"name": "late-%d" % i, "schedule": "@daily", "http": {"url": c.hits.url("/never")}}
            for i in range(LATE)]
    status, body = c.api("POST", "/api/v1/jobs:batch", {"jobs": jobs}, timeout=60)
    assert status == 201, "batch create: HTTP %s %s" % (status, str(body)[:200])
    total = JOBS + LATE
    c.wait_until(lambda: held(c) == total, timeout=180, interval=0.5,
                 what="worker-1 holding all %d jobs" % total)
    log("%d jobs placed and held %.1f s after the worker started" % (total, time.monotonic() - t0))
    c.wait_until(lambda: int(c.sql("SELECT COUNT(*) FROM assignments")[0][0]) == total,
                 timeout=60, interval=0.5, what="%d rows in assignments" % total)
    nodes = c.sql("SELECT DISTINCT node FROM assignments")
    assert [r[0] for r in nodes] == ["worker-1"], nodes

    def all_assigned():
        lines = placed_lines(c)
        return lines if any("every job is assigned" in l for l in lines) else None
    lines = c.wait_until(all_assigned, timeout=20, what="the master saying every job is assigned")
    logged = sum(int(l.split("cluster: placed ")[1].split()[0]) for l in lines)
    assert logged == total, "the log's placed lines add up to %d, not %d: %s" % (logged, total, lines)
    assert "every job is assigned" in lines[-1], lines[-1]
    log("the master's log: %d placement passes, %d jobs" % (len(lines), logged))

    # Idle once placed: a tick every 50 ms and nothing else to do. A pass
    # re-walking 80,000 slots every millisecond would take most of a core.
    time.sleep(1.0)
    pid = c.master.pid
    a, t = cpu_seconds(pid), time.monotonic()
    time.sleep(3.0)
    used = (cpu_seconds(pid) - a) / (time.monotonic() - t)
    log("master CPU once everything was placed: %.2f of a core" % used)
    assert used < 0.3, "the master is busy (%.2f of a core) with nothing left to place" % used


if __name__ == "__main__":
    run_scenario(scenario, workers=0)
