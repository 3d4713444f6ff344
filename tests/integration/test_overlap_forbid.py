#!/usr/bin/env python3
"""Overlap "forbid" (issue 11) across a worker kill -9 and a master
failover: a run of 3 s every 1 s, never two at once at the endpoint
(Dkron #349, #655, #1569; Nomad #11052: forbid that breaks after a restart
or a leader change).

First the holder is drained while a run is in flight: the job moves at
once, and its new holder counts that run as running until it has ended
(the assignment carries the count; test_forbid_move.py looks closer).

Two masters, two workers. The job holds one run at a time: the fires that
find it running are recorded as skipped, error "overlap: ...". The worker
holding it is killed with a run in flight: that run counts as running
until the master closes it as lost, which is also when the job moves, so
the new holder starts from an empty slot; the endpoint sees the killed
run's connection close. Then the leading master is killed: the workers
follow the standby, and the holder keeps its count of runs in flight. The
endpoint's intervals [arrival, answer or hang-up] never overlap."""

import time

from harness import log, run_scenario
from overlap_util import max_concurrent, overlaps

JOB = "forbid"


def hits(c):
    return [h for h in c.hits.hits("/slow/3000") if h["job"] == JOB]


def finished_after(c, t, n):
    return len([h for h in hits(c) if h["time"] > t and h.get("end")]) >= n


def scenario(c):
    c.create_job(JOB, "@every 1s", c.hits.url("/slow/3000"), overlap="forbid")
    c.wait_until(lambda: len(hits(c)) >= 2, timeout=20, what="2 runs")
    # A graceful hand-over (drain) with a run in flight: the job moves, and
    # the run goes on counting as running on the new holder.
    first = c.job_node(JOB)
    draining = c.wait_until(lambda: next((h for h in hits(c) if not h.get("end")), None),
                            timeout=10, interval=0.05, what="a run in flight")
    status, body = c.api("POST", "/api/v1/nodes/%s/drain" % first)
    assert status == 200, (status, body)
    holder = c.wait_until(lambda: (lambda n: n and n != first and n)(c.job_node(JOB)), timeout=20,
                          what="the job to move off the drained %s" % first)
    status, body = c.api("POST", "/api/v1/nodes/%s/activate" % first)
    assert status == 200, (status, body)
    survivor = first
    # Kill while a run of the new holder is in flight: one started after
    # the drained node's run ended.
    ended = c.wait_until(
        lambda: next((h.get("end") for h in hits(c) if h["run_id"] == draining["run_id"]), None),
        timeout=10, interval=0.05, what="the drained node's run to end")
    c.wait_until(lambda: any(not h.get("end") and h["time"] >= ended for h in hits(c)),
                 timeout=10, interval=0.05, what="a run in flight on %s" % holder)
    killed = c.kill_worker(holder)
    c.wait_until(lambda: finished_after(c, killed, 1), timeout=30,
                 what="a run by %s after the kill" % survivor)
    log("%s took over the job; killing the leading master" % survivor)

    failover = c.kill_master(0)
    c.use_master(1)
    c.wait_until(lambda: (c.health(1) or {}).get("role") == "leader", timeout=30,
                 what="master-2 to lead")
    c.wait_until(lambda: finished_after(c, failover, 1), timeout=30,
                 what="a run after the master failover")

    now = time.time()
    all_hits = hits(c)
    bad = overlaps(all_hits, now)
    log("%d runs at the endpoint, at most %d at once; overlaps: %r"
        % (len(all_hits), max_concurrent(all_hits, now), bad))
    assert not bad, "runs of a forbid job overlapped: %r" % bad
    assert any(h.get("aborted") for h in all_hits), "the killed worker's run should have hung up"
    rows = c.wait_until(
        lambda: (lambda r: len(r) >= 4 and r)(c.sql(
            "SELECT status, error FROM runs WHERE job_name = '%s' AND status = 'skipped'" % JOB)),
        timeout=10, what="skipped runs in the history")
    assert all(r[1].startswith("overlap: ") for r in rows), rows
    lost = c.sql("SELECT COUNT(*) FROM runs WHERE job_name = '%s' AND status = 'lost'" % JOB)
    log("%d fires skipped for overlap, %s run(s) closed as lost" % (len(rows), lost[0][0]))


if __name__ == "__main__":
    run_scenario(scenario, workers=2, masters=2)
