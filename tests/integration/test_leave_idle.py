#!/usr/bin/env python3
"""A leaving worker waits for its runs in flight without spinning. With
no other worker to take its jobs they stay on its timers, already due;
the wait for the slow run must not turn into a busy loop (a worker that
burns a core while it stops slows down everything else on its host)."""

import os
import signal
import time

from harness import log, run_scenario

JOB = "slow"
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


def scenario(c):
    # Each run takes 6 s at the endpoint; the job is due every second.
    c.create_job(JOB, "@every 1s", c.hits.url("/slow?delay_ms=6000"), timeout="20s")
    c.wait_until(lambda: c.hits.count("/slow") >= 1, timeout=15, what="a slow run in flight")
    worker = c.workers["worker-1"]
    pid = worker.pid
    worker.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    before = cpu_seconds(pid)
    time.sleep(2.5)
    used = cpu_seconds(pid) - before
    log("leaving worker used %.2f s of CPU in 2.5 s while its run finished" % used)
    assert worker.running(), "the worker left before its run in flight finished"
    assert used < 0.5, "the leaving worker spun: %.2f s of CPU in 2.5 s of waiting" % used
    rc = worker.stop(signal.SIGTERM)
    assert rc == 0, "worker exited with %r after SIGTERM" % rc


if __name__ == "__main__":
    run_scenario(scenario, workers=1)
