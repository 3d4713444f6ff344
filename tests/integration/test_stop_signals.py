#!/usr/bin/env python3
"""A stop signal sent more than once (a second Ctrl-C, a supervisor that
repeats SIGTERM) does not cut a graceful stop short. The master and the
worker each get a burst of SIGTERMs while they are busy stopping (the
worker hands 20,000 jobs back); both still stop in order and exit 0, the
master writes nothing after its threads are gone (no "dangling socket"
from czmq's exit handler, no abort), and the harness fails the test on any
sanitizer report."""

import signal
import time

from harness import log, run_scenario

JOBS = 20000
BATCH = 1000
BURST = 12


def held(c):
    nodes = [n for n in c.nodes() if n.get("name") == "worker-1"]
    return int(nodes[0].get("held") or 0) if nodes else 0


def scenario(c):
    for lo in range(0, JOBS, BATCH):
        jobs = [{"name": "stop-%d" % i, "schedule": "@daily", "http": {"url": c.hits.url("/never")}}
                for i in range(lo, lo + BATCH)]
        status, body = c.api("POST", "/api/v1/jobs:batch", {"jobs": jobs}, timeout=60)
        assert status == 201, "batch create: HTTP %s %s" % (status, str(body)[:200])
    c.wait_until(lambda: held(c) == JOBS, timeout=120, interval=0.5,
                 what="worker-1 holding all %d jobs" % JOBS)

    worker, master = c.workers["worker-1"], c.master
    log("SIGTERM x%d to the worker and the master, 20 ms apart" % BURST)
    for _ in range(BURST):
        worker.send_signal(signal.SIGTERM)
        master.send_signal(signal.SIGTERM)
        time.sleep(0.02)
    for p in (worker, master):
        t0 = time.monotonic()
        p.popen.wait(60)
        log("%s exited with %s after %.1f s" % (p.name, p.popen.returncode, time.monotonic() - t0))
    assert worker.popen.returncode == 0, "worker exited with %r" % worker.popen.returncode
    assert master.popen.returncode == 0, "master exited with %r" % master.popen.returncode
    with open(master.log_path, "rb") as f:
        text = f.read().decode("utf-8", "replace")
    assert "shutting down" in text, "the master did not log its orderly stop"
    assert "dangling" not in text, "the master exited with sockets still open under a thread"


if __name__ == "__main__":
    run_scenario(scenario, workers=1)
