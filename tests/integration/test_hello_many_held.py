#!/usr/bin/env python3
"""A worker that holds more jobs than one HELLO message can list re-joins a
restarted master: it reports everything it holds (the HELLO goes in parts),
the master adopts every job where it is (same epochs in the assignments
table, nothing placed again), and the worker keeps holding all of them."""

import signal

from harness import log, run_scenario

JOBS = 60000  # more than one HELLO part holds (HG_PROTO_MAX_HELD)
BATCH = 1000


def held(c):
    nodes = [n for n in c.nodes() if n.get("name") == "worker-1"]
    if not nodes or nodes[0].get("state") != "active":
        return (0, 0)
    return (int(nodes[0].get("held") or 0), int(nodes[0].get("jobs") or 0))


def epochs(c):
    return dict((int(a), (b, int(e))) for a, b, e in c.sql("SELECT job_id, node, epoch FROM assignments"))


def scenario(c):
    for lo in range(0, JOBS, BATCH):
        jobs = [{"name": "many-%d" % i, "schedule": "@daily", "http": {"url": c.hits.url("/never")}}
                for i in range(lo, lo + BATCH)]
        status, body = c.api("POST", "/api/v1/jobs:batch", {"jobs": jobs}, timeout=60)
        assert status == 201, "batch create: HTTP %s %s" % (status, str(body)[:200])
    c.wait_until(lambda: held(c) == (JOBS, JOBS), timeout=120, interval=0.5,
                 what="worker-1 holding all %d jobs" % JOBS)
    c.wait_until(lambda: len(epochs(c)) == JOBS, timeout=60, interval=0.5,
                 what="%d rows in assignments" % JOBS)
    before = epochs(c)

    took = c.restart_master(sig=signal.SIGKILL, down_s=0.5)
    log("master back with worker-1 after %.2f s" % took)
    c.wait_until(lambda: held(c) == (JOBS, JOBS), timeout=120, interval=0.5,
                 what="worker-1 holding all %d jobs after the restart" % JOBS)
    # Adopted where they were: no job moved or got a new epoch.
    after = epochs(c)
    changed = [j for j in before if after.get(j) != before[j]]
    assert not changed, "%d of %d assignments changed across the restart, e.g. job %d: %r -> %r" % (
        len(changed), JOBS, changed[0], before[changed[0]], after.get(changed[0]))
    log("all %d jobs adopted by the restarted master where they were" % JOBS)


if __name__ == "__main__":
    run_scenario(scenario, workers=1)
