#!/usr/bin/env python3
"""SIGTERM on a worker is a graceful leave: it stops firing, finishes what
is running, tells the master, and the master moves its jobs at once (not
after the lease window). No scheduled time is missed or hit twice, and the
node shows as "left"."""

import collections
import signal
import time

from harness import log, parse_time, run_scenario

JOB = "leave"


def scenario(c):
    c.create_job(JOB, "@every 1s", c.hits.url("/leave"), misfire="fire_all")
    c.wait_until(lambda: c.hits.count("/leave") >= 3, timeout=15, what="3 hits before the leave")
    holder = c.wait_until(lambda: c.job_node(JOB), timeout=10, what="the job's node")
    survivor = [n for n in c.workers if n != holder][0]
    log("%s holds %s; sending it SIGTERM" % (holder, JOB))
    rc = c.workers[holder].stop(signal.SIGTERM)  # waits for a clean exit
    assert rc == 0, "worker exited with %r after SIGTERM" % rc

    state = c.wait_until(
        lambda: next((n["state"] for n in c.nodes() if n["name"] == holder and n["state"] != "active"), None),
        timeout=15, interval=0.1, what="%s to leave the cluster" % holder)
    assert state == "left", "a worker stopped with SIGTERM should be 'left', not %r" % state
    moved_at = time.time()
    c.wait_until(lambda: c.job_node(JOB) == survivor, timeout=10, what="%s to hold the job" % survivor)
    c.wait_until(lambda: len([h for h in c.hits.hits("/leave") if h["time"] > moved_at]) >= 3,
                 timeout=15, what="3 hits after the leave")
    time.sleep(1.0)

    hits = c.hits.hits("/leave")
    counts = collections.Counter(h["scheduled_at"] for h in hits)
    dups = {k: v for k, v in counts.items() if v > 1}
    assert not dups, "scheduled times hit more than once: %r" % dups
    sched = sorted(parse_time(k) for k in counts)
    gaps = [round(b - a, 3) for a, b in zip(sched, sched[1:])]
    missing = [g for g in gaps if g > 1.0]
    log("%d hits over %d scheduled times; gaps between scheduled times: max %.1f s"
        % (len(hits), len(counts), max(gaps)))
    assert not missing, "scheduled times skipped around the leave (gaps %r)" % missing
    rows = c.sql("SELECT COUNT(*) FROM runs WHERE job_name = '%s' AND status = 'running'" % JOB)
    assert int(rows[0][0]) == 0, "runs left 'running' after the leave: %r" % rows


if __name__ == "__main__":
    run_scenario(scenario, workers=2)
