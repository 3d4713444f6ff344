#!/usr/bin/env python3
"""An operator's drain outlives the master that received it. Drain
worker-1, kill the master with -9 and start it again: worker-1 re-joins
as draining (the new leader read the drain from MySQL), gets no job back,
and a new job goes to worker-2. `node activate` then makes it take jobs
again, and that too survives a restart."""

import signal

from harness import log, run_scenario

JOBS = ("d-a", "d-b", "d-c", "d-d")


def node_of(c, name):
    return next((n for n in c.nodes() if n["name"] == name), None)


def scenario(c):
    for j in JOBS:
        c.create_job(j, "@every 1s", c.hits.url("/" + j))
    c.wait_until(lambda: all(c.job_node(j) for j in JOBS), timeout=15, what="every job placed")

    rc, out, err = c.cli("node", "drain", "worker-1", "--wait", "--timeout", "30s")
    assert rc == 0, "hourglass node drain: exit %d: %s" % (rc, err.strip())
    assert node_of(c, "worker-1")["drained"] is True, "node list should say worker-1 is drained"
    rows = c.sql("SELECT drained FROM nodes WHERE name = 'worker-1'")
    assert rows and int(rows[0][0]) == 1, "the drain is not recorded in MySQL: %r" % rows

    c.restart_master(sig=signal.SIGKILL, down_s=0.5, wait_workers=False)
    node = c.wait_until(lambda: (lambda n: n if n and n["state"] != "lost" else None)(node_of(c, "worker-1")),
                        timeout=20, what="worker-1 to re-join the restarted master")
    assert node["state"] == "draining", "worker-1 should re-join as draining: %r" % node
    assert node["drained"] is True, "worker-1 should still be drained: %r" % node
    c.create_job("after", "@every 1s", c.hits.url("/after"))
    c.wait_until(lambda: c.job_node("after"), timeout=15, what="the new job placed")
    holders = {j: c.job_node(j) for j in JOBS + ("after",)}
    log("holders after the restart: %r" % holders)
    assert all(h == "worker-2" for h in holders.values()), \
        "jobs on a drained worker after the master restart: %r" % holders
    assert node_of(c, "worker-1")["jobs"] == 0, "worker-1 holds jobs while drained"

    rc, out, err = c.cli("node", "activate", "worker-1")
    assert rc == 0, "hourglass node activate: exit %d: %s" % (rc, err.strip())
    rows = c.sql("SELECT drained FROM nodes WHERE name = 'worker-1'")
    assert rows and int(rows[0][0]) == 0, "the activation is not recorded in MySQL: %r" % rows
    c.restart_master(sig=signal.SIGKILL, down_s=0.5, wait_workers=False)
    node = c.wait_until(lambda: (lambda n: n if n and n["state"] != "lost" else None)(node_of(c, "worker-1")),
                        timeout=20, what="worker-1 to re-join the restarted master")
    assert node["state"] == "active" and node["drained"] is False, \
        "worker-1 should be active after activate and a restart: %r" % node


if __name__ == "__main__":
    run_scenario(scenario, workers=2)
