#!/usr/bin/env python3
"""Backfill under an overlap policy (docs/jobs.md "Backfill"): with
overlap forbid, and with queue (queue_max 1), a backfill of 4 scheduled
times of a slow endpoint runs all 4, in scheduled order, each after the
previous one finished: none skipped, none overlapping at the endpoint.
With {"force": true} the same backfill starts regardless of the policy:
its runs overlap."""

import datetime
import time

from harness import log, parse_time, run_scenario
from overlap_util import max_concurrent, overlaps

SLOW_MS = 1500


def iso(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def backfill(c, job, start, force=False):
    body = {"from": iso(start), "to": iso(start + 1200)}
    if force:
        body["force"] = True
    status, reply = c.api("POST", "/api/v1/jobs/%s/backfill" % job, body)
    assert status == 202 and reply["count"] == 4, (status, reply)


PATH = "/slow/%d" % SLOW_MS


def in_range(c, job, start):
    return [h for h in c.hits.hits(PATH)
            if h["job"] == job and start <= parse_time(h["scheduled_at"]) < start + 1200]


def ended(c, job, start):
    return len([h for h in in_range(c, job, start) if h.get("end")]) >= 4


def check_in_order(c, job, start):
    c.wait_until(lambda: ended(c, job, start), timeout=30, what="4 backfill runs of %s ended" % job)
    hits = in_range(c, job, start)
    assert len(hits) == 4, "%s: %d hits, want 4" % (job, len(hits))
    by_arrival = [round(parse_time(h["scheduled_at"]))
                  for h in sorted(hits, key=lambda h: h["time"])]
    assert by_arrival == [start + 300 * i for i in range(4)], (job, by_arrival)
    bad = overlaps(hits, time.time(), tolerance=0.05)
    assert not bad, "%s: backfill runs overlapped: %r" % (job, bad)
    rows = c.sql("SELECT status, COUNT(*) FROM runs WHERE job_name = '%s' AND trigger_reason = "
                 "'backfill' GROUP BY status" % job)
    assert {r[0]: int(r[1]) for r in rows}.get("skipped", 0) == 0, (job, rows)
    log("%s: 4 backfill runs in order, one after another, none skipped" % job)


def scenario(c):
    start = int(time.time() // 3600) * 3600 - 2 * 3600  # 20 minutes, two hours ago: 4 times
    jobs = (("bf-forbid", {"overlap": "forbid"}),
            ("bf-queue", {"overlap": "queue", "queue_max": 1}),
            ("bf-force", {"overlap": "forbid"}))
    for job, extra in jobs:
        c.create_job(job, "0 */5 * * * *", c.hits.url(PATH), **extra)
    for job, _ in jobs:
        c.wait_until(lambda: c.job_node(job), timeout=20, what="%s placed" % job)
    backfill(c, "bf-forbid", start)
    backfill(c, "bf-queue", start)
    backfill(c, "bf-force", start, force=True)
    check_in_order(c, "bf-forbid", start)
    check_in_order(c, "bf-queue", start)
    c.wait_until(lambda: ended(c, "bf-force", start), timeout=30, what="4 forced runs ended")
    most = max_concurrent(in_range(c, "bf-force", start), time.time())
    assert most >= 2, "forced backfill runs never overlapped (at most %d at once)" % most
    log("forced backfill: up to %d runs at once, regardless of overlap forbid" % most)


if __name__ == "__main__":
    run_scenario(scenario, workers=1)
