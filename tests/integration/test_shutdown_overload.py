#!/usr/bin/env python3
"""SIGTERM under HTTP overload: the master and the workers exit cleanly.

A scheduler's control plane must never abort, not even on its way out
(issue 15: the master aborted in zsock_set_sndtimeo while shutting down
under `scripts/bench http --jobs 20000`). Here two workers hold
OVERLOAD_JOBS HTTP jobs firing every second against the fast C endpoint
of the benchmarks (bench_endpoint), which is about twice what this kind
of machine sustains (2 cores shared with MariaDB and the endpoint: see
SUSTAINABLE_PER_S), so the workers' queues are full and they skip runs
for overload, the master is busy writing records and API calls wait.
Then the workers and the master get SIGTERM at the same moment.

What a user must see: every daemon exits with status 0 within its grace
(worker: its leave grace plus a margin; master: a few seconds), no core
file, no "Assertion" and no "dangling" socket report in any log."""

import glob
import os
import signal
import threading
import time
import unittest

from harness import BUILD_DIR, Proc, free_port, log, run_tests, wait_until

ENDPOINT_BIN = os.path.join(BUILD_DIR, "bench_endpoint")
# Measured on this kind of machine (2 cores, everything local, CURVE on,
# this test with HG_OVERLOAD_JOBS set): with 3,000 jobs every second two
# workers recorded about 3,200 runs/s, 90 % of them successes, the rest
# skipped for overload as their queues filled; with 8,000 they completed
# 360 to 1,400 successful runs/s (the machine shared with other loads) and
# skipped the rest. So about 3,000 runs/s is what they sustain, and 6,000
# jobs every second is twice that.
SUSTAINABLE_PER_S = 3000
OVERLOAD_JOBS = int(os.environ.get("HG_OVERLOAD_JOBS") or 2 * SUSTAINABLE_PER_S)
WORKER_GRACE_S = 3.0  # --leave-grace below
EXIT_MARGIN_S = 12.0  # what a loaded 2-core machine may add to a grace
WORKER_ARGS = ["--leave-grace", "%ds" % WORKER_GRACE_S]


class ShutdownOverload(unittest.TestCase):
    cluster = None  # set by run_tests

    def test_sigterm_under_overload(self):
        c = self.cluster
        port = free_port()
        endpoint = Proc("endpoint", [ENDPOINT_BIN, str(port)],
                        os.path.join(c.log_dir, "endpoint.log"))
        endpoint.start(c._daemon_env())
        try:
            self._run(c, port)
        finally:
            endpoint.stop(signal.SIGTERM)

    def _run(self, c, port):
        url = "http://127.0.0.1:%d/hit" % port
        for start in range(0, OVERLOAD_JOBS, 1000):
            jobs = [{"name": "load-%d" % i, "schedule": "@every 1s", "kind": "http",
                     "http": {"url": url}, "timeout": "5s"}
                    for i in range(start, min(start + 1000, OVERLOAD_JOBS))]
            status, body = c.api("POST", "/api/v1/jobs:batch", {"jobs": jobs}, timeout=60)
            self.assertEqual(status, 201, body)
        log("%d HTTP jobs @every 1s created" % OVERLOAD_JOBS)

        def runs(where=""):
            rows = c.sql("SELECT COUNT(*) FROM runs" + where)
            return int(rows[0][0]) if rows else 0

        c.wait_until(lambda: runs() > OVERLOAD_JOBS, timeout=40, what="the jobs to fire")
        # Let the overload settle, and measure what the cluster completes.
        ok = " WHERE status = 'success'"
        t0, n0 = time.time(), runs(ok)
        time.sleep(8)
        t1, n1 = time.time(), runs(ok)
        done = c.sql("SELECT status, COUNT(*) FROM runs GROUP BY status")
        why = c.sql("SELECT LEFT(error, 60), COUNT(*) FROM runs WHERE status = 'skipped' "
                    "GROUP BY LEFT(error, 60)")
        log("completed %.0f successful runs/s while %d are offered per second; by status: %s; "
            "skipped: %s" % ((n1 - n0) / (t1 - t0), OVERLOAD_JOBS, done, why))
        c.check_alive()

        procs = list(c.workers.values()) + [c.master]
        exits = {}

        def stop(p):
            t = time.monotonic()
            grace = WORKER_GRACE_S + EXIT_MARGIN_S if p is not c.master else EXIT_MARGIN_S
            rc = p.stop(signal.SIGTERM, timeout=grace)
            exits[p.name] = (rc, time.monotonic() - t)

        threads = [threading.Thread(target=stop, args=(p,)) for p in procs]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        log("exit status and seconds after SIGTERM: %s" % exits)
        for p in procs:
            rc, took = exits[p.name]
            self.assertEqual(rc, 0, "%s exited with %s after SIGTERM (see %s)"
                             % (p.name, rc, p.log_path))
        for p in procs:
            with open(p.log_path, errors="replace") as f:
                text = f.read()
            for mark in ("Assertion", "dangling", "core dumped"):
                self.assertNotIn(mark, text, "%s's log: %s" % (p.name, p.tail(40)))
        cores = glob.glob(os.path.join(c.data_dir, "**", "core*"), recursive=True)
        cores += glob.glob(os.path.join(os.getcwd(), "core*"))
        self.assertEqual(cores, [])


if __name__ == "__main__":
    run_tests(ShutdownOverload, workers=2, worker_args=WORKER_ARGS)
