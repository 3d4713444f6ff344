#!/usr/bin/env python3
"""Retries (issue 11): a chain with exponential backoff whose attempt
times are checked against the policy, with the worker holding the job
killed (kill -9) between two attempts.

The job fires once (@at) at an endpoint that always answers 503. Its
policy: 4 attempts, exponential backoff from 1.5 s, factor 2, on http_5xx.
Right after attempt 2 is recorded (its row names the due time of attempt
3), the worker holding the job is killed. The other worker takes the job
and continues the chain: attempt 3 and 4 come from it, each at or after its
due time (the delay after the previous attempt ended: 1.5 s, 3 s, 6 s; never
immediately, XXL-JOB #1853), none twice, none missing, and nothing after the
last. The rows: one per attempt, the same scheduled time, attempt 1..4,
first_run_id naming attempt 1, next_attempt_at on every row but the last
(the final outcome, which alerting looks at), retry_reason http_5xx.

A second job gets 429 with Retry-After: 3 and a 1 s backoff: its second
attempt waits the 3 s the endpoint asked for; a third job succeeds on
attempt 2 and so ends its chain there."""

import time

from harness import log, parse_time, run_scenario

DELAYS = [1.5, 3.0, 6.0]  # initial 1.5 s, factor 2
EARLY_SLACK = 0.05       # clock granularity between our reading and the worker's
LATE_SLACK = 6.0         # the kill costs a lease + margin before the job moves


def at(seconds_from_now):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + seconds_from_now))


def chain_rows(c, job):
    rows = c.sql(
        "SELECT attempt, status, LOWER(HEX(run_id)), LOWER(HEX(first_run_id)), next_attempt_at, "
        "retry_reason, node, scheduled_at, trigger_reason FROM runs WHERE job_name = '%s' "
        "ORDER BY attempt" % job)
    keys = ("attempt", "status", "run_id", "first", "retry_at", "reason", "node", "sched", "trigger")
    return [dict(zip(keys, r)) for r in rows]


def create_chain(c):
    c.create_job("chain", "@at " + at(4), c.hits.url("/status/503"),
                 retry={"max_attempts": 4, "backoff": "exponential", "initial": "1500ms",
                        "factor": 2, "max_delay": "30s", "on": ["http_5xx"]})


def check_chain(c):
    def attempt2_recorded():
        rows = chain_rows(c, "chain")
        return len(rows) >= 2 and rows[1]["status"] == "failed" and rows[1]["retry_at"] and rows
    rows = c.wait_until(attempt2_recorded, timeout=20, interval=0.05,
                        what="attempt 2 recorded with the due time of attempt 3")
    holder = rows[1]["node"]
    survivor = [n for n in c.workers if n != holder][0]
    log("attempt 2 by %s; next due %s; killing %s" % (holder, rows[1]["retry_at"], holder))
    c.kill_worker(holder)

    chain_hits = lambda: [h for h in c.hits.hits("/status/503") if h["job"] == "chain"]
    c.wait_until(lambda: len(chain_hits()) >= 4, timeout=40,
                 what="4 attempts at the endpoint")
    time.sleep(1.5)  # nothing more may come (no attempt 5 is allowed)
    hits = sorted(chain_hits(), key=lambda h: h["time"])
    attempts = [int(h["attempt"]) for h in hits]
    assert attempts == [1, 2, 3, 4], "attempts at the endpoint: %r" % attempts
    assert len({h["scheduled_at"] for h in hits}) == 1, [h["scheduled_at"] for h in hits]
    rows = c.wait_until(lambda: (lambda r: len(r) == 4 and r)(chain_rows(c, "chain")), timeout=10,
                        what="4 run rows")
    for i, (a, b) in enumerate(zip(hits, hits[1:])):
        gap = b["time"] - a["time"]
        log("attempt %d -> %d: %.2f s (policy: %.1f s after attempt %d ended)" % (i + 1, i + 2, gap, DELAYS[i], i + 1))
        assert gap >= DELAYS[i] - EARLY_SLACK, "attempt %d came %.2f s after attempt %d: before its due time" % (i + 2, gap, i + 1)
        assert gap <= DELAYS[i] + LATE_SLACK, "attempt %d came %.2f s after attempt %d" % (i + 2, gap, i + 1)
        due = parse_time(rows[i]["retry_at"])
        assert b["time"] >= due - EARLY_SLACK, "attempt %d at %.3f before its due time %.3f" % (i + 2, b["time"], due)
    assert [int(r["attempt"]) for r in rows] == [1, 2, 3, 4], rows
    assert all(r["status"] == "failed" for r in rows), rows
    assert len({r["sched"] for r in rows}) == 1, rows
    assert all(r["first"] == rows[0]["run_id"] for r in rows), rows
    assert all(r["retry_at"] for r in rows[:3]) and rows[3]["retry_at"] is None, rows
    assert all(r["reason"] == "http_5xx" for r in rows[:3]) and rows[3]["reason"] is None, rows
    assert [r["trigger"] for r in rows] == ["schedule", "retry", "retry", "retry"], rows
    assert rows[2]["node"] == survivor and rows[3]["node"] == survivor, rows
    # The API shows the chain the same way.
    status, body = c.api("GET", "/api/v1/runs?job=chain")
    assert status == 200, body
    api = sorted(body["runs"], key=lambda r: r["attempt"])
    assert [r["first_run_id"] for r in api] == [api[0]["run_id"]] * 4, api
    assert api[3]["retry_at"] is None and api[0]["retry_reason"] == "http_5xx", api


def create_others(c):
    c.create_job("polite", "@at " + at(2), c.hits.url("/status/429?retry_after=3"),
                 retry={"max_attempts": 2, "backoff": "fixed", "initial": "1s", "max_delay": "10s",
                        "on": ["http_429"]})
    c.create_job("flaky", "@at " + at(2), c.hits.url("/status/503?ok_from=2"),
                 retry={"max_attempts": 5, "backoff": "fixed", "initial": "1s", "on": ["http_5xx"]})


def check_retry_after_and_success(c):
    flaky_hits = lambda: [h for h in c.hits.hits("/status/503") if h["job"] == "flaky"]
    c.wait_until(lambda: len(c.hits.hits("/status/429")) >= 2 and len(flaky_hits()) >= 2,
                 timeout=20, what="2 attempts of polite, 2 of flaky")
    polite = sorted(c.hits.hits("/status/429"), key=lambda h: h["time"])
    gap = polite[1]["time"] - polite[0]["time"]
    log("429 with Retry-After: 3 and a 1 s backoff: attempt 2 came %.2f s later" % gap)
    assert len(polite) == 2 and gap >= 3.0 - EARLY_SLACK, (len(polite), gap)
    time.sleep(1.5)  # a third attempt of either would come 1 s after the second
    polite = sorted(c.hits.hits("/status/429"), key=lambda h: h["time"])
    flaky = flaky_hits()
    assert len(polite) == 2, "polite: %d attempts for max_attempts 2" % len(polite)
    assert sorted(int(h["attempt"]) for h in flaky) == [1, 2], [h["attempt"] for h in flaky]
    rows = chain_rows(c, "flaky")
    assert [r["status"] for r in rows] == ["failed", "success"], rows
    assert rows[1]["retry_at"] is None, rows


def scenario(c):
    create_chain(c)
    create_others(c)
    check_retry_after_and_success(c)  # done within ~5 s, while the chain goes on
    check_chain(c)


if __name__ == "__main__":
    run_scenario(scenario, workers=2)
