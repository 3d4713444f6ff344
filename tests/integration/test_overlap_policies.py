#!/usr/bin/env python3
"""Overlap "replace" and "queue" (issue 11), and a forced trigger.

replace: a 3 s run every 2 s. Each fire cancels the run in flight (the
endpoint sees its connection close; the run is recorded "cancelled") and
starts once it has ended: never two at once at the endpoint (a hang-up is
seen within 5 ms, the tolerance).

queue (queue_max 1): a 2.5 s run every 1 s. A fire that finds the job
running waits, and starts when the run ends; a fire that finds one
already waiting is skipped ("overlap: queue full"). Never two at once;
waiting runs start late by design (started_at well after scheduled_at).

forbid + trigger: while a 4 s run is in flight, a trigger is skipped, and
a trigger with --force (CLI) starts at once, beside it."""

import time

from harness import log, run_scenario
from overlap_util import max_concurrent, overlaps

HANGUP_TOLERANCE_S = 0.1


def job_hits(c, path, job):
    return [h for h in c.hits.hits(path) if h["job"] == job]


def scenario(c):
    c.create_job("replace", "@every 2s", c.hits.url("/slow/3000"), overlap="replace")
    c.create_job("queue", "@every 1s", c.hits.url("/slow/2500"), overlap="queue", queue_max=1)
    # Fired by hand only: "@every 1h" fires on the hour, and a test that
    # ran across 14:00:00 once counted that fire among the manual ones.
    c.create_job("manual", "@yearly", c.hits.url("/slow/4000"), overlap="forbid")
    c.wait_until(lambda: len(job_hits(c, "/slow/3000", "replace")) >= 5 and
                 len(job_hits(c, "/slow/2500", "queue")) >= 5, timeout=30,
                 what="5 runs of replace and of queue")

    # forbid + manual triggers, while the others go on
    status, body = c.api("POST", "/api/v1/jobs/manual/trigger")
    assert status == 202, (status, body)
    c.wait_until(lambda: len(job_hits(c, "/slow/4000", "manual")) >= 1, timeout=10, what="manual run")
    status, body = c.api("POST", "/api/v1/jobs/manual/trigger")
    assert status == 202, (status, body)
    rc, out, err = c.cli("job", "trigger", "manual", "--force")
    assert rc == 0, (rc, out, err)
    c.wait_until(lambda: len(job_hits(c, "/slow/4000", "manual")) >= 2, timeout=10,
                 what="the forced run")
    manual = job_hits(c, "/slow/4000", "manual")
    assert len(manual) == 2 and max_concurrent(manual, time.time()) == 2, manual
    skipped = c.wait_until(lambda: c.sql(
        "SELECT error FROM runs WHERE job_name = 'manual' AND status = 'skipped'"), timeout=10,
        what="the unforced trigger recorded as skipped")
    assert skipped[0][0].startswith("overlap: "), skipped

    now = time.time()
    rep = job_hits(c, "/slow/3000", "replace")
    bad = overlaps(rep, now, HANGUP_TOLERANCE_S)
    log("replace: %d runs, %d hung up by a newer fire, overlaps %r"
        % (len(rep), len([h for h in rep if h.get("aborted")]), bad))
    assert not bad, "replace: runs overlapped: %r" % bad
    assert len([h for h in rep if h.get("aborted")]) >= 3, rep
    cancelled = c.sql("SELECT error FROM runs WHERE job_name = 'replace' AND status = 'cancelled'")
    assert len(cancelled) >= 3, cancelled
    assert all("overlap replace" in r[0] for r in cancelled), cancelled

    q = job_hits(c, "/slow/2500", "queue")
    bad = overlaps(q, now)
    log("queue: %d runs, at most %d at once, overlaps %r" % (len(q), max_concurrent(q, now), bad))
    assert not bad, "queue: runs overlapped: %r" % bad
    full = c.sql("SELECT error FROM runs WHERE job_name = 'queue' AND status = 'skipped'")
    assert full and all(r[0].startswith("overlap: queue full") for r in full), full
    late = c.sql("SELECT COUNT(*) FROM runs WHERE job_name = 'queue' AND status = 'success' AND "
                 "started_at > scheduled_at + INTERVAL 1 SECOND")
    assert int(late[0][0]) >= 1, "no queued run started late: %r" % late
    log("queue: %d fires skipped with the queue full, %s queued runs started late"
        % (len(full), late[0][0]))


if __name__ == "__main__":
    run_scenario(scenario, workers=1)
