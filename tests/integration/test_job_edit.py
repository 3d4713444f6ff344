#!/usr/bin/env python3
"""Editing a job (PUT/PATCH /api/v1/jobs/{name}, docs/jobs.md):

- an "@every 1s" job edited to "@every 2s" while 40 other jobs fire every
  second: at the endpoint, Hourglass-Scheduled-At values are 1 s apart
  before the switch and 2 s after, none twice, no gap wider than 2 s;
- an edit needs the version it is based on (428 without; 409
  version_conflict naming the current version when stale);
- PATCH merges (fields it does not name stay), a PUT of what GET showed
  keeps the secrets GET redacted, the name cannot change, an editor cannot
  turn a job into a shell job, and every edit is audited."""

import time

from harness import log, parse_time, run_scenario

JOB = "switch"
LOAD_JOBS = 40


def scheduled_times(c, path):
    return sorted(parse_time(h["scheduled_at"]) for h in c.hits.hits(path))


def check_switch(c):
    for i in range(LOAD_JOBS):
        c.create_job("load-%02d" % i, "@every 1s", c.hits.url("/load"))
    job = c.create_job(JOB, "@every 1s", c.hits.url("/switch"))
    c.wait_until(lambda: c.hits.count("/switch") >= 5, timeout=20, what="5 hits at 1 s")

    status, edited = c.api("PATCH", "/api/v1/jobs/" + JOB,
                           {"schedule": "@every 2s", "version": job["version"]})
    switched = time.time()
    assert status == 200, "PATCH: HTTP %s %s" % (status, edited)
    assert edited["schedule"] == "@every 2s" and edited["version"] == job["version"] + 1, edited

    c.wait_until(lambda: sum(1 for t in scheduled_times(c, "/switch") if t > switched) >= 4,
                 timeout=25, what="4 hits after the switch")
    times = scheduled_times(c, "/switch")
    assert len(set(times)) == len(times), "a scheduled time fired twice: %r" % times
    gaps = [round(b - a, 3) for a, b in zip(times, times[1:])]
    log("gaps between scheduled times: %s" % " ".join("%.0f" % g for g in gaps))
    assert all(g in (1.0, 2.0) for g in gaps), "gaps not 1 s or 2 s: %r" % gaps
    # 1 s apart, then 2 s apart: once the 2 s steps start they never stop.
    first_two = gaps.index(2.0)
    assert all(g == 1.0 for g in gaps[:first_two]), "1 s steps after the switch: %r" % gaps
    assert all(g == 2.0 for g in gaps[first_two:]), "1 s steps after the switch: %r" % gaps
    assert len(gaps[first_two:]) >= 3 and first_two >= 3, gaps
    # Every hit before the switch's 2 s steps is on the old schedule and
    # no 2 s step starts before the edit.
    assert times[first_two] <= switched + 1.0 + 0.5, "switch took effect late"

    # The job shows what it will do next.
    got = c.job(JOB)
    fires = [parse_time(t) for t in got["next_fires"]]
    assert len(fires) == 5 and all(round(b - a, 3) == 2.0 for a, b in zip(fires, fires[1:])), fires
    assert got["last_run"] and got["last_run"]["id"], got
    for i in range(LOAD_JOBS):
        c.api("DELETE", "/api/v1/jobs/load-%02d" % i)


def check_version_guard(c):
    job = c.create_job("guarded", "@every 1h", c.hits.url("/guarded"))
    v = job["version"]
    status, body = c.api("PATCH", "/api/v1/jobs/guarded", {"timeout": "5s"})
    assert status == 428 and body["error"]["code"] == "version_required", (status, body)

    status, body = c.api("PATCH", "/api/v1/jobs/guarded", {"timeout": "5s"},
                         headers={"If-Match": '"%d"' % v})
    assert status == 200 and body["version"] == v + 1 and body["timeout"] == "5s", (status, body)

    # The same stale version again: refused, and the current one named.
    status, body = c.api("PUT", "/api/v1/jobs/guarded", dict(job, timeout="9s"))
    assert status == 409, (status, body)
    err = body["error"]
    assert err["code"] == "version_conflict" and err["current_version"] == v + 1, err
    assert ("version %d" % (v + 1)) in err["message"], err
    assert c.job("guarded")["timeout"] == "5s", "a refused edit changed the job"

    # Renames are refused with a clear error.
    cur = c.job("guarded")
    status, body = c.api("PUT", "/api/v1/jobs/guarded", dict(cur, name="other"))
    assert status == 400 and body["error"]["field"] == "name", (status, body)
    assert "cannot be changed" in body["error"]["message"], body


def check_patch_and_secrets(c):
    spec = {"name": "secretive", "schedule": "@every 1h",
            "http": {"url": c.hits.url("/secret"), "method": "POST",
                     "headers": {"Authorization": "Bearer s3cret", "X-Team": "blue"}},
            "params": {"db_password": "hunter2", "region": "eu"}}
    status, job = c.api("POST", "/api/v1/jobs", spec)
    assert status == 201, (status, job)
    shown = c.job("secretive")
    assert shown["http"]["headers"]["Authorization"] == "***", shown["http"]

    # PATCH one header: the rest of the job, secrets included, stays.
    status, body = c.api("PATCH", "/api/v1/jobs/secretive",
                         {"version": shown["version"], "http": {"headers": {"X-Team": "red"}}})
    assert status == 200, (status, body)
    # A PUT of what GET showed (redacted) keeps the secrets.
    shown = c.job("secretive")
    status, body = c.api("PUT", "/api/v1/jobs/secretive", dict(shown, misfire="skip"))
    assert status == 200, (status, body)
    status, real = c.api("GET", "/api/v1/jobs/secretive?reveal=true")
    assert real["http"]["headers"] == {"Authorization": "Bearer s3cret", "X-Team": "red"}, real["http"]
    assert real["params"] == {"db_password": "hunter2", "region": "eu"}, real["params"]
    assert real["http"]["method"] == "POST" and real["misfire"] == "skip", real
    # PATCH null removes a member (RFC 7386).
    status, body = c.api("PATCH", "/api/v1/jobs/secretive",
                         {"version": real["version"], "params": {"region": None}})
    assert status == 200 and "region" not in body["params"], (status, body)

    # An editor cannot make a job run a shell.
    status, tok = c.api("POST", "/api/v1/tokens", {"name": "ed", "role": "editor"})
    assert status == 201, (status, tok)
    cur = c.job("secretive")
    status, body = c.api("PUT", "/api/v1/jobs/secretive",
                         {"name": "secretive", "version": cur["version"], "schedule": "@every 1h",
                          "kind": "plugin", "plugin": {"name": "shell"},
                          "params": {"command": "id"}}, token=tok["token"])
    assert status == 403, (status, body)

    # Every edit is in the audit log.
    status, audit = c.api("GET", "/api/v1/audit?limit=1000")
    actions = [(e["action"], e["object"], e["status"]) for e in audit["audit"]]
    assert ("job.update", "default/secretive", 200) in actions, actions
    assert ("job.update", "default/secretive", 403) in actions, actions


def scenario(c):
    check_version_guard(c)
    check_patch_and_secrets(c)
    check_switch(c)


if __name__ == "__main__":
    run_scenario(scenario, workers=2)
