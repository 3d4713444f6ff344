#!/usr/bin/env python3
"""Runs in flight across a leader change (issue 15): no row stays
`running` because the worker that ran it never came back.

Two masters, slow HTTP jobs (each run lasts DELAY_MS at the hit server),
one without and one with recover: true.

1. Leader and worker die together (kill -9 both) while a run of each job
   is in flight and its RUN_STARTED is committed. The standby leads; no
   worker ever tells it about those runs. It must close both rows `lost`
   within the lease window (+ a generous margin), and the recover job's run
   is re-run (trigger `recover`, same scheduled time, attempt 2) once a
   worker is there. Before the fix the rows stayed `running` for good.
2. The leader dies alone while a run of the recover job is in flight on a
   live worker: the worker lists the run in its HELLO to the new leader,
   which keeps it in flight; the worker's own record completes the row
   (`success`), and nothing re-runs it (no `recover` row, no attempt 2 at
   the endpoint for that scheduled time).
3. A worker is killed and restarted at once, without a leader change and
   inside its lease: its HELLO lists no runs, so the run it had in flight
   is closed `lost` within the lease window (it used to stay `running`,
   the node never having been lost)."""

import re
import time

from harness import log, norm_run_id, parse_time, run_scenario

PLAIN, REC = "orphan-plain", "orphan-recover"
DELAY_MS = 6000
LEASE_S = 2.5  # the masters' default lease + margin
BOUND_S = 20  # generous: a loaded machine, not a measurement


def row(c, run_id):
    rows = c.sql("SELECT status, node, trigger_reason, attempt, error FROM runs WHERE run_id = UNHEX('%s')"
                 % norm_run_id(run_id))
    return dict(zip(("status", "node", "trigger", "attempt", "error"), rows[0])) if rows else None


def in_flight(c, job, node=None):
    """A first attempt of job at the endpoint, the only hit of its
    scheduled time, whose row is committed `running` (on node, when given)
    with 2 s or more left to run: (hit, row), or None."""
    hits = c.hits.hits("/" + job)
    for h in reversed(hits):
        if h["attempt"] not in (None, "1") or \
                len([o for o in hits if o["scheduled_at"] == h["scheduled_at"]]) != 1:
            continue
        r = row(c, h["run_id"])
        if r and r["status"] == "running" and (node is None or r["node"] == node) \
                and time.time() - h["time"] < DELAY_MS / 1000.0 - 2:
            return h, r
    return None


def both_dead(c):
    # worker-2 joins only once the leader and worker-1 are dead.
    assert c.workers["worker-2"].stop() == 0
    c.wait_until(lambda: "worker-2" not in c.active_nodes(), timeout=BOUND_S, what="worker-2 to leave")
    url = lambda j: c.hits.url("/%s?delay_ms=%d" % (j, DELAY_MS))
    c.create_job(PLAIN, "@every 3s", url(PLAIN), timeout="30s")
    c.create_job(REC, "@every 3s", url(REC), timeout="30s", recover=True)
    flights = {}
    for job in (PLAIN, REC):
        flights[job] = c.wait_until(lambda: in_flight(c, job), timeout=BOUND_S, interval=0.1,
                                    what="a committed run of %s in flight" % job)[0]
    c.kill_master(0)
    c.kill_worker("worker-1")
    killed = time.monotonic()
    log("killed the leader master-1 and worker-1 with runs %s in flight"
        % ", ".join(norm_run_id(h["run_id"]) for h in flights.values()))
    c.wait_until(lambda: (c.health(1, timeout=1) or {}).get("role") == "leader", timeout=BOUND_S,
                 interval=0.1, what="master-2 to lead")
    c.use_master(1)
    for job, hit in flights.items():
        r = c.wait_until(lambda: (row(c, hit["run_id"]) or {}).get("status") != "running" and row(c, hit["run_id"]),
                         timeout=BOUND_S, interval=0.1, what="the run of %s closed" % job)
        assert r["status"] == "lost", "the orphaned run of %s is %r, want lost" % (job, r)
        assert "worker-1" in (r["error"] or "") and "did not claim" in r["error"], r
        assert ("run again once (recover)" in r["error"]) == (job == REC), r
    closed_s = time.monotonic() - killed
    log("both orphaned runs closed lost %.1f s after the kill (lease window %.1f s)" % (closed_s, LEASE_S))
    # The recover job's run is re-run once a worker is there.
    c.start_worker("worker-2")
    sched = flights[REC]["scheduled_at"]
    rec = c.wait_until(
        lambda: [h for h in c.hits.hits("/" + REC) if h["scheduled_at"] == sched and h["attempt"] == "2"],
        timeout=BOUND_S, what="the recover re-run of the orphaned run at the endpoint")
    assert len(rec) == 1, rec
    again = [h for h in c.hits.hits("/" + PLAIN) if h["scheduled_at"] == flights[PLAIN]["scheduled_at"]]
    assert len(again) == 1, "the run without recover was run again: %r" % again
    return closed_s


def leader_dies_alone(c):
    c.start_master_n(0, wait=False)  # master-1 back, standing by behind master-2
    c.wait_until(lambda: (c.health(0) or {}).get("role") == "standby", timeout=BOUND_S,
                 what="master-1 to stand by")
    hit, _ = c.wait_until(lambda: in_flight(c, REC, node="worker-2"), timeout=BOUND_S, interval=0.1,
                          what="a committed run of %s in flight on worker-2" % REC)
    c.kill_master(1)
    log("killed the leader master-2 alone; run %s in flight on worker-2" % norm_run_id(hit["run_id"]))
    c.use_master(0)
    r = c.wait_until(lambda: (row(c, hit["run_id"]) or {}).get("status") != "running" and row(c, hit["run_id"]),
                     timeout=BOUND_S, interval=0.1, what="the run on worker-2 to end")
    assert r["status"] == "success", "the run the live worker finished is %r, want success" % r
    # It was never thought lost: no re-run reached the endpoint.
    time.sleep(LEASE_S + 1)
    twice = [h for h in c.hits.hits("/" + REC) if h["scheduled_at"] == hit["scheduled_at"]]
    assert len(twice) == 1, "the run the worker kept was re-run: %r" % twice
    text = open(c.master.log_path, encoding="utf-8", errors="replace").read()
    assert re.search(r"worker worker-2 runs [1-9][0-9]* of the runs in flight we had for it", text), \
        c.master.tail(30)


def worker_restarts(c):
    hit, _ = c.wait_until(lambda: in_flight(c, PLAIN, node="worker-2"), timeout=BOUND_S, interval=0.1,
                          what="a committed run of %s in flight on worker-2" % PLAIN)
    c.kill_worker("worker-2")
    c.start_worker("worker-2", wait=False)
    t0 = time.monotonic()
    r = c.wait_until(lambda: (row(c, hit["run_id"]) or {}).get("status") != "running" and row(c, hit["run_id"]),
                     timeout=BOUND_S, interval=0.1, what="the run the restarted worker lost to close")
    # Closed by its HELLO listing no runs, or (a restart slower than the
    # lease window on a loaded machine) by the worker's lease: lost either way.
    assert r["status"] == "lost" and "worker-2" in (r["error"] or ""), r
    log("the run of the restarted worker closed lost %.1f s after its restart (%s)"
        % (time.monotonic() - t0, "not claimed" if "did not claim" in r["error"] else "lease"))


def scenario(c):
    closed_s = both_dead(c)
    leader_dies_alone(c)
    worker_restarts(c)
    left = c.sql("SELECT COUNT(*) FROM runs WHERE status = 'running' AND node = 'worker-1'")[0][0]
    assert left == "0", "%s rows of worker-1 left running" % left
    log("RUNLOST: orphaned runs closed lost %.1f s after the leader and worker died" % closed_s)


if __name__ == "__main__":
    run_scenario(scenario, workers=2, masters=2)
