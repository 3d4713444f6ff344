#!/usr/bin/env python3
"""Retry on "lost" (issue 11): a run in flight on a worker that is killed
is closed as lost by the master and, since the job's retry policy lists
"lost", retried on the job's next worker as attempt 2 of the same fire, at
or after its due time. A job without "lost" in its policy gets no retry
for the same loss (its lost run is its final outcome; checked when the
placement put both jobs on the killed worker)."""

import time

from harness import log, parse_time, run_scenario


def at(seconds_from_now):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + seconds_from_now))


def rows(c, job):
    return c.sql("SELECT attempt, status, node, next_attempt_at, retry_reason, trigger_reason "
                 "FROM runs WHERE job_name = '%s' ORDER BY attempt" % job)


def scenario(c):
    when = at(3)
    c.create_job("lossy", "@at " + when, c.hits.url("/slow/6000"),
                 retry={"max_attempts": 2, "backoff": "fixed", "initial": "1s", "on": ["lost"]})
    c.create_job("plain", "@at " + when, c.hits.url("/slow/6000"),
                 retry={"max_attempts": 2, "backoff": "fixed", "initial": "1s", "on": ["http_5xx"]})
    c.wait_until(lambda: len(c.hits.hits("/slow/6000")) >= 2, timeout=15, what="both runs")
    # Kill the worker of lossy (plain may or may not be on it).
    holder = c.wait_until(lambda: (lambda r: r and r[0][2])(rows(c, "lossy")), timeout=10,
                          what="lossy's run recorded")
    survivor = [n for n in c.workers if n != holder][0]
    plain_node = c.wait_until(lambda: (lambda r: r and r[0][2])(rows(c, "plain")), timeout=10,
                              what="plain's run recorded")
    c.kill_worker(holder)
    r = c.wait_until(lambda: (lambda x: len(x) >= 2 and x[1][1] == "success" and x)(rows(c, "lossy")),
                     timeout=30, what="lossy's attempt 2 to succeed")
    log("lossy: %r" % r)
    assert r[0][1] == "lost" and r[0][3] is not None and r[0][4] == "lost", r
    assert r[1][0] == "2" and r[1][2] == survivor and r[1][5] == "retry" and r[1][3] is None, r
    a2 = [h for h in c.hits.hits("/slow/6000") if h["job"] == "lossy" and h["attempt"] == "2"]
    assert len(a2) == 1 and a2[0]["time"] >= parse_time(r[0][3]) - 0.05, (a2, r[0][3])
    if plain_node == holder:
        p = c.wait_until(lambda: (lambda x: x and x[0][1] == "lost" and x)(rows(c, "plain")),
                         timeout=10, what="plain's run closed as lost")
        time.sleep(2.0)
        p = rows(c, "plain")
        assert len(p) == 1 and p[0][3] is None, "plain was retried on lost: %r" % p
        log("plain (no \"lost\" in its policy): %r" % p)


if __name__ == "__main__":
    run_scenario(scenario, workers=2)
