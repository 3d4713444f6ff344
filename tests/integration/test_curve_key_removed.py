#!/usr/bin/env python3
"""A worker key an admin removes ends the session opened with it
(issue 10: a stolen worker key is revoked by removing it).

1. worker-2's certificate is taken out of keys.workers (then SIGHUP),
   while worker-2 runs and stays connected: its session ends at once,
   its jobs move to worker-1 by the lease rule and keep firing there, the
   master says why; worker-2 does not get back in.
2. worker-3, admitted through the worker_keys table only, loses its
   session when its row is deleted (no restart, no SIGHUP).
Before this, a removed key refused new connections only: a thief already
connected kept the node's session, its ASSIGNs and its secrets until the
connection dropped."""

import os
import signal

from harness import log, run_scenario

JOBS = ["kr-%d" % i for i in range(4)]


def jobs_on(c, node):
    return [j for j in JOBS if c.job_node(j) == node]


def firing(c, jobs, extra=2, timeout=10, what=""):
    base = {j: c.hits.count("/" + j) for j in jobs}
    c.wait_until(lambda: all(c.hits.count("/" + j) >= base[j] + extra for j in jobs),
                 timeout=timeout, what=what or "jobs %s to fire" % jobs)


def master_log(c):
    with open(c.master.log_path) as f:
        return f.read()


def scenario(c):
    for j in JOBS:
        c.create_job(j, "@every 1s", c.hits.url("/" + j))
    c.wait_until(lambda: jobs_on(c, "worker-1") and jobs_on(c, "worker-2"), timeout=15,
                 what="jobs on both workers")

    # 1. Out of keys.workers, worker-2 still connected.
    os.remove(os.path.join(c.workers_keys_dir, "worker-2.key"))
    c.master.send_signal(signal.SIGHUP)
    c.wait_until(lambda: "worker-2" not in c.active_nodes(), timeout=10,
                 what="worker-2's session to end after its key was removed")
    assert c.workers["worker-2"].running(), "the test wants worker-2 still running"
    assert "worker worker-2 is connected with a key that was removed" in master_log(c)
    c.wait_until(lambda: len(jobs_on(c, "worker-1")) == len(JOBS), timeout=10,
                 what="worker-2's jobs to move to worker-1")
    firing(c, JOBS, what="every job to fire on worker-1")
    log("worker-2 lost its session once its key was removed; its jobs fire on worker-1")

    # 2. A key of worker_keys, deleted by SQL.
    pub3, _ = c.worker_key("worker-3", register=False)
    c.sql("INSERT INTO worker_keys (public_key, node, created_at, created_by) "
          "VALUES ('%s', 'worker-3', NOW(3), 'test')" % pub3)
    c.start_worker("worker-3", register_key=False)
    c.sql("DELETE FROM worker_keys WHERE node = 'worker-3'")
    c.wait_until(lambda: "worker-3" not in c.active_nodes(), timeout=15,
                 what="worker-3's session to end after its worker_keys row was deleted")
    assert c.workers["worker-3"].running()
    assert "worker worker-3 is connected with a key that was removed" in master_log(c)
    assert "worker-2" not in c.active_nodes(), "worker-2 got back in with its removed key"
    assert c.master.running()


if __name__ == "__main__":
    run_scenario(scenario, workers=2)
