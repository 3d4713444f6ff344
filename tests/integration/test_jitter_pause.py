#!/usr/bin/env python3
"""jitter and pause notes (docs/jobs.md).

- An "@every 2s" job with jitter 1500ms: every hit arrives at or after its
  Hourglass-Scheduled-At (never early), within the jitter (plus slack for
  a loaded machine), the delays spread over the range, and the recorded
  scheduled times stay on the schedule's 2 s grid.
- `hourglass job pause NAME --note "db migration"`: job get and job list
  show the note; resume clears it."""

import statistics

from harness import log, parse_time, run_scenario

JOB = "herd"
JITTER_S = 1.5


def check_jitter(c):
    c.create_job(JOB, "@every 2s", c.hits.url("/herd"), jitter="1500ms")
    assert c.job(JOB)["jitter"] == "1s500ms"
    c.wait_until(lambda: c.hits.count("/herd") >= 10, timeout=35, what="10 jittered hits")
    hits = c.hits.hits("/herd")
    delays = [h["time"] - parse_time(h["scheduled_at"]) for h in hits]
    log("delays after the scheduled time: %s" % " ".join("%.2f" % d for d in delays))
    assert min(delays) >= -0.001, "a hit came %.3f s early" % -min(delays)
    assert max(delays) <= JITTER_S + 0.5, "a hit came %.3f s late" % max(delays)
    assert max(delays) - min(delays) >= 0.4 and statistics.pstdev(delays) >= 0.15, \
        "delays do not spread: %r" % delays
    for h in hits:
        ms = round(parse_time(h["scheduled_at"]) * 1000)
        assert ms % 2000 == 0, "scheduled time %s is not on the 2 s grid" % h["scheduled_at"]
    sched = [h["scheduled_at"] for h in hits]
    assert len(set(sched)) == len(sched), "a time fired twice"


def check_pause_note(c):
    c.create_job("migrating", "@every 1h", c.hits.url("/m"))
    rc, out, err = c.cli("job", "pause", "migrating", "--note", "db migration")
    assert rc == 0, (rc, out, err)
    job = c.job("migrating")
    assert job["status"] == "paused" and job["pause_note"] == "db migration", job
    rc, out, err = c.cli("job", "get", "migrating")
    assert rc == 0 and "db migration" in out, out
    rc, out, err = c.cli("job", "list")
    assert rc == 0 and "db migration" in out, out
    status, body = c.api("POST", "/api/v1/jobs/migrating/resume", {"note": "x"})
    assert status == 400 and body["error"]["field"] == "note", (status, body)
    status, body = c.api("POST", "/api/v1/jobs/migrating/resume")
    assert status == 200 and body["status"] == "active" and body["pause_note"] is None, body
    status, body = c.api("POST", "/api/v1/jobs/migrating/pause", {"note": "x" * 501})
    assert status == 400 and body["error"]["field"] == "pause_note", (status, body)


def scenario(c):
    check_pause_note(c)
    check_jitter(c)


if __name__ == "__main__":
    run_scenario(scenario, workers=1)
