#!/usr/bin/env python3
"""strategy consistent_hash (issue 11): 10,000 jobs over 3 workers; when a
4th worker joins, only the jobs whose ring owner it now is move, all of
them to it, and no more than 1.5/n of them (n = 4 nodes after the join;
about 1/n is the ideal). When it is killed, each of its jobs goes back to
the worker that held it before: placement is a function of the job and
the set of live workers, not of history."""

import time

from harness import log, run_scenario

N = 10000
BATCH = 1000


def assignments(c):
    return {int(r[0]): r[1] for r in c.sql("SELECT job_id, node FROM assignments")}


def settled(c, want_nodes):
    """The assignments once every job is held and nothing moved for 1 s."""
    last, since = None, time.time()

    def stable():
        nonlocal last, since
        now = assignments(c)
        if len(now) != N or set(now.values()) != set(want_nodes):
            last = None
            return None
        if now != last:
            last, since = now, time.time()
            return None
        return now if time.time() - since >= 1.0 else None
    return c.wait_until(stable, timeout=60, interval=0.25,
                        what="%d jobs held by %s and stable" % (N, sorted(want_nodes)))


def scenario(c):
    t0 = time.time()
    for b in range(0, N, BATCH):
        jobs = [{"name": "ch-%05d" % i, "schedule": "@yearly",
                 "http": {"url": c.hits.url("/ch")},
                 "executor": {"strategy": "consistent_hash"}} for i in range(b, b + BATCH)]
        status, body = c.api("POST", "/api/v1/jobs:batch", {"jobs": jobs}, timeout=60)
        assert status == 201, "batch %d: HTTP %s %s" % (b, status, str(body)[:300])
    three = sorted(c.workers)
    before = settled(c, three)
    spread = {n: list(before.values()).count(n) for n in three}
    log("%d consistent_hash jobs created and placed in %.1f s: %r" % (N, time.time() - t0, spread))
    assert min(spread.values()) > N / 3 / 2, "the ring spreads the jobs unevenly: %r" % spread

    c.start_worker("worker-4")
    after = settled(c, three + ["worker-4"])
    moved = [j for j in before if after[j] != before[j]]
    wrong = [j for j in moved if after[j] != "worker-4"]
    n = 4
    log("worker-4 joined: %d of %d jobs moved (%.3f; ideal 1/%d = %.3f, bound 1.5/%d = %.3f)"
        % (len(moved), N, len(moved) / N, n, 1 / n, n, 1.5 / n))
    assert not wrong, "%d jobs moved between old workers, e.g. %r" % (len(wrong), wrong[:5])
    assert len(moved) <= 1.5 * N / n, "%d jobs moved, more than 1.5/%d of %d" % (len(moved), n, N)
    assert len(moved) >= 0.5 * N / n, "only %d jobs moved to the new worker" % len(moved)
    # The API agrees with the catalogue for a sample of the moved jobs.
    for j in moved[:3]:
        status, body = c.api("GET", "/api/v1/jobs/ch-%05d" % (j - 1))
        assert status == 200 and body["placement"]["nodes"] == ["worker-4"], body["placement"]

    c.kill_worker("worker-4")
    back = settled(c, three)
    differ = [j for j in before if back[j] != before[j]]
    assert not differ, "%d jobs did not go back to their first holder, e.g. %r" \
        % (len(differ), [(j, before[j], back[j]) for j in differ[:5]])
    log("worker-4 killed: its %d jobs went back to their first holders" % len(moved))
    assert c.hits.count("/ch") == 0, "an @yearly job fired"


if __name__ == "__main__":
    run_scenario(scenario, workers=3)
