#!/usr/bin/env python3
"""Retries across a master failover (issue 11): the pending attempt of a
chain survives losing both the leading master and the worker that held the
job.

Two masters, two workers. A one-shot job fails (503) with 3 attempts, 3 s
apart. Right after attempt 1 is recorded, the leading master and the worker
holding the job are both killed (kill -9). The standby leads, finds the
pending attempt in the history (the committed record of attempt 1), and
hands it with the job to the surviving worker, which runs attempt 2 (not
before its due time) and then attempt 3: each attempt once, none lost, the
last one final."""

import time

from harness import log, parse_time, run_scenario


def at(seconds_from_now):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + seconds_from_now))


def rows(c):
    return c.sql("SELECT attempt, status, node, next_attempt_at, LOWER(HEX(run_id)), "
                 "LOWER(HEX(first_run_id)) FROM runs WHERE job_name = 'chain' ORDER BY attempt")


def scenario(c):
    c.create_job("chain", "@at " + at(4), c.hits.url("/status/503"),
                 retry={"max_attempts": 3, "backoff": "fixed", "initial": "3s", "on": ["http_5xx"]})
    first = c.wait_until(lambda: (lambda r: r and r[0][3] and r)(rows(c)), timeout=20,
                         interval=0.05, what="attempt 1 recorded with its next attempt")[0]
    holder = first[2]
    survivor = [n for n in c.workers if n != holder][0]
    log("attempt 1 by %s, next due %s; killing the leading master and %s" % (holder, first[3], holder))
    c.kill_master(0)
    c.kill_worker(holder)
    c.use_master(1)
    c.wait_until(lambda: (c.health(1) or {}).get("role") == "leader", timeout=30,
                 what="master-2 to lead")
    hits = lambda: sorted(c.hits.hits("/status/503"), key=lambda h: h["time"])
    c.wait_until(lambda: len(hits()) >= 3, timeout=30, what="attempts 2 and 3")
    time.sleep(1.0)
    h = hits()
    assert [int(x["attempt"]) for x in h] == [1, 2, 3], [x["attempt"] for x in h]
    due = parse_time(first[3])
    log("attempt 2 came %.2f s after its due time (the failover's cost); attempt 3 %.2f s after it"
        % (h[1]["time"] - due, h[2]["time"] - h[1]["time"]))
    assert h[1]["time"] >= due - 0.05, "attempt 2 before its due time"
    assert h[2]["time"] - h[1]["time"] >= 3.0 - 0.05, "attempt 3 too soon after attempt 2"
    r = c.wait_until(lambda: (lambda x: len(x) == 3 and x)(rows(c)), timeout=10, what="3 rows")
    assert [x[2] for x in r[1:]] == [survivor, survivor], r
    assert r[2][3] is None and r[1][3] is not None, r
    assert r[1][5] == r[0][4] and r[2][5] == r[0][4], r


if __name__ == "__main__":
    run_scenario(scenario, workers=2, masters=2)
