#!/usr/bin/env python3
"""A master that is shutting down judges no worker lost.

A master's shutdown can take seconds: here an alert webhook that answers
only after 6 s holds its sender, which the shutdown waits for. Its worker
is frozen (SIGSTOP) at the moment the master gets SIGTERM, with a run in
flight. Before the fix the master, still ticking while it stopped,
declared the silent worker lost once the lease window passed ("worker
worker-1 lost (silent for ...); reassigning its N jobs"), and closed its
run in flight as `lost` in MySQL, where the next leader would have found
a run that was in fact still going. Now: once shutting down, no node is
judged, no job moved, no run closed; the records already received are
still written."""

import signal
import time

from harness import log, run_scenario

HOOK_DELAY_MS = 6000  # longer than lease + margin (2.5 s)


def scenario(c):
    status, body = c.api("POST", "/api/v1/alerts", {
        "name": "slow-hook", "job": "down", "events": ["failed"], "dedup": False,
        "channel": {"type": "webhook", "url": c.hits.url("/hook?delay_ms=%d" % HOOK_DELAY_MS),
                    "secret": "stop-no-judging-secret"}})
    assert status == 201, (status, body)
    time.sleep(2)  # the leader reloads its rules every second
    c.create_job("long", "@every 1s", c.hits.url("/slow/20000"), overlap="forbid")
    c.create_job("down", "@every 1s", c.hits.url("/status/500"))
    c.wait_until(lambda: c.hits.count("/hook") >= 1 and c.hits.count("/slow/20000") >= 1,
                 timeout=20, what="a webhook delivery under way and a long run in flight")
    worker = next(iter(c.workers))
    c.kill_worker(worker, signal.SIGSTOP)
    try:
        t0 = time.monotonic()
        rc = c.master.stop(signal.SIGTERM, timeout=30)
        took = time.monotonic() - t0
    finally:
        c.workers[worker].send_signal(signal.SIGCONT)
    log("master exited with %s after %.1f s, its worker frozen" % (rc, took))
    assert rc == 0, "master exit status %s" % rc
    # The premise: the shutdown outlasted the lease window.
    assert took >= 3.0, "the shutdown took %.1f s, less than a lease window" % took
    with open(c.master.log_path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    tail = text[text.rfind("shutting down"):]
    judged = [l for l in tail.splitlines() if " lost (" in l or "reassigning" in l]
    assert not judged, "the stopping master judged its worker: %s" % judged
    assert "no node is judged lost from now on" in text, "the cluster was not told it stops"
    lost = [r for r in c.runs_in_db("long") if r["status"] == "lost"]
    assert not lost, "runs closed as lost by a master shutting down: %s" % lost


if __name__ == "__main__":
    run_scenario(scenario, workers=1)
