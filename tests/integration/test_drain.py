#!/usr/bin/env python3
"""`hourglass node drain` and a graceful SIGTERM hand jobs over without a
missed or a doubled firing.

Five "@every 1s" jobs spread over two workers: two with the default
misfire policy (fire_once), two with fire_all, and one whose runs take
2.5 s (so the worker has runs in flight when it is stopped). Then:

1. `hourglass node drain worker-1 --wait`: worker-1 shows "draining" and
   holds no job; every job runs on worker-2.
2. `hourglass node activate worker-1`, then SIGTERM to worker-2: its jobs
   move to worker-1 at once, while its slow runs finish; it ends "left".

Throughout, every scheduled time of every job between its first and its
last hit reaches the hit server exactly once (the hits carry the
scheduled time), whatever the misfire policy, and no run is "lost"."""

import signal
import time

from exactly_once import summary, tally
from harness import log, run_scenario

JOBS = {
    # name: (path, misfire)
    "once-a": ("/once-a", None),
    "once-b": ("/once-b", None),
    "all-a": ("/all-a", "fire_all"),
    "all-b": ("/all-b", "fire_all"),
    "slow": ("/slow?delay_ms=2500", "fire_all"),
}
HITS_PER_PHASE = 3


def path_of(name):
    return JOBS[name][0].split("?")[0]


def node_of(c, name):
    return next((n for n in c.nodes() if n["name"] == name), None)


def wait_hits_after(c, t, n, what):
    def enough():
        return all(len([h for h in c.hits.hits(path_of(j)) if h["time"] > t]) >= n for j in JOBS)
    c.wait_until(enough, timeout=30, what="%d hits of every job %s" % (n, what))


def scenario(c):
    for name, (path, misfire) in JOBS.items():
        extra = {"misfire": misfire} if misfire else {}
        c.create_job(name, "@every 1s", c.hits.url(path), timeout="30s", **extra)
    wait_hits_after(c, 0, HITS_PER_PHASE, "before the drain")
    holders = {j: c.job_node(j) for j in JOBS}
    log("holders before the drain: %r" % holders)
    assert set(holders.values()) == {"worker-1", "worker-2"}, \
        "jobs should be spread over both workers: %r" % holders

    # 1. Drain worker-1 with the CLI; --wait returns once it holds no job.
    rc, out, err = c.cli("node", "drain", "worker-1", "--wait", "--timeout", "30s")
    assert rc == 0, "hourglass node drain: exit %d: %s" % (rc, err.strip())
    drained_at = time.time()
    log("drain: %s" % out.strip())
    node = node_of(c, "worker-1")
    assert node["state"] == "draining", "worker-1 should be draining: %r" % node
    assert node["jobs"] == 0, "a drained worker should hold no job: %r" % node
    for j in JOBS:
        assert c.job_node(j) == "worker-2", "job %s is on %s after the drain" % (j, c.job_node(j))
    rc, out, err = c.cli("node", "list")
    assert rc == 0 and any(line.split()[:2] == ["worker-1", "draining"] for line in out.splitlines()), \
        "hourglass node list should show worker-1 draining:\n%s%s" % (out, err)
    wait_hits_after(c, drained_at, HITS_PER_PHASE, "after the drain")
    # A draining node stays out of placement: a new job goes to worker-2.
    c.create_job("placed", "@every 1h", c.hits.url("/placed"))
    c.wait_until(lambda: c.job_node("placed"), timeout=10, what="the new job to be placed")
    assert c.job_node("placed") == "worker-2", "a new job went to %s while worker-1 drains" \
        % c.job_node("placed")
    assert node_of(c, "worker-1")["jobs"] == 0, "worker-1 got a job while draining"

    # 2. worker-1 takes jobs again; worker-2 leaves with runs in flight.
    rc, out, err = c.cli("node", "activate", "worker-1")
    assert rc == 0, "hourglass node activate: exit %d: %s" % (rc, err.strip())
    assert node_of(c, "worker-1")["state"] == "active", "worker-1 should be active again"
    busy = c.wait_until(lambda: (node_of(c, "worker-2") or {}).get("running", 0) > 0, timeout=10,
                        interval=0.05, what="worker-2 to have runs in flight")
    log("SIGTERM to worker-2 with runs in flight (%r)" % busy)
    stop_at = time.time()
    rc = c.workers["worker-2"].stop(signal.SIGTERM)
    assert rc == 0, "worker-2 exited with %r after SIGTERM" % rc
    log("worker-2 exited %.2f s after SIGTERM" % (time.time() - stop_at))
    c.wait_until(lambda: all(c.job_node(j) == "worker-1" for j in JOBS), timeout=10,
                 what="every job on worker-1 after the leave")
    state = c.wait_until(lambda: node_of(c, "worker-2")["state"] == "left" and "left", timeout=10,
                         what="worker-2 to show as left")
    assert state == "left"
    wait_hits_after(c, time.time(), HITS_PER_PHASE, "after the leave")
    time.sleep(1.0)  # hits of runs fired just now

    failures = []
    for j in JOBS:
        t = tally(c.hits.hits(path_of(j)))
        log(summary(j, t))
        if t["doubles"] or t["losses"]:
            failures.append("%s: doubled %r, lost %r" % (j, t["doubles"], t["losses"]))
    assert not failures, "not exactly once:\n" + "\n".join(failures)
    lost = c.sql("SELECT job_name, COUNT(*) FROM runs WHERE status = 'lost' GROUP BY job_name")
    assert not lost, "runs closed as lost during a drain or a graceful leave: %r" % lost


if __name__ == "__main__":
    run_scenario(scenario, workers=2)
