#!/usr/bin/env python3
"""Backfill (POST /api/v1/jobs/{name}/backfill, docs/jobs.md): one hour of
a "0 */5 * * * *" job fires exactly 12 runs, each once, started in
scheduled order, each recorded with reason "backfill" and its original
scheduled time (which the endpoint also sees in Hourglass-Scheduled-At);
a range of more than 10,000 times is refused. GET /api/v1/runs/{id} then
shows one of them with its result."""

import datetime
import time

from harness import log, norm_run_id, parse_time, run_scenario

JOB = "every5"


def iso(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def scenario(c):
    c.create_job(JOB, "0 */5 * * * *", c.hits.url("/bf"))
    c.wait_until(lambda: c.job_node(JOB), timeout=20, what="job placed")
    hour = int(time.time() // 3600) * 3600 - 2 * 3600  # two hours ago, on the hour
    status, body = c.api("POST", "/api/v1/jobs/%s/backfill" % JOB,
                         {"from": iso(hour), "to": iso(hour + 3600)})
    assert status == 202 and body["count"] == 12, (status, body)
    assert body["first"].startswith(iso(hour)[:19]), body

    c.wait_until(lambda: c.hits.count("/bf") >= 12, timeout=20, what="12 backfill hits")
    time.sleep(1.0)  # nothing more may come
    hits = c.hits.hits("/bf")
    sched = sorted(parse_time(h["scheduled_at"]) for h in hits)
    want = [hour + 300 * i for i in range(12)]
    assert len(hits) == 12, "%d hits, want 12" % len(hits)
    assert [round(s) for s in sched] == want, "scheduled times %r, want %r" % (sched, want)

    def recorded():
        runs = [r for r in c.runs_in_db(JOB) if r["status"] != "running"]
        return runs if len(runs) == 12 else None

    runs = c.wait_until(recorded, timeout=20, what="12 finished run rows")
    assert all(r["trigger"] == "backfill" and r["status"] == "success" for r in runs), runs
    # Started in order: in scheduled order, start times never go back.
    rows = c.sql("SELECT scheduled_at, started_at FROM runs WHERE job_name = '%s' "
                 "ORDER BY scheduled_at" % JOB)
    starts = [parse_time(r[1]) for r in rows]
    assert starts == sorted(starts), "backfill runs did not start in scheduled order: %r" % rows
    log("12 backfill runs, scheduled %s .. %s, started in order" % (iso(want[0]), iso(want[-1])))

    # One run, with its result.
    rid = hits[0]["run_id"]
    status, run = c.api("GET", "/api/v1/runs/" + rid)
    assert status == 200, (status, run)
    assert norm_run_id(run["run_id"]) == norm_run_id(rid) and run["trigger"] == "backfill", run
    assert run["status"] == "success" and run["http_status"] == 200, run
    assert run["logs"] == [] and "result" in run, run
    status, body = c.api("GET", "/api/v1/runs/0190a000-0000-7000-8000-000000000000")
    assert status == 404, (status, body)
    status, body = c.api("GET", "/api/v1/runs/not-a-run")
    assert status == 400 and body["error"]["field"] == "id", (status, body)
    rc, out, err = c.cli("run", "get", rid)
    assert rc == 0 and "backfill" in out and "success" in out, (rc, out, err)

    # Bounded: 3 hours of an @every 1s job is 10,800 times.
    c.create_job("busy", "@every 1s", c.hits.url("/busy"), status="paused")
    status, body = c.api("POST", "/api/v1/jobs/busy/backfill",
                         {"from": iso(hour - 3600), "to": iso(hour + 2 * 3600)})
    assert status == 400 and body["error"]["code"] == "too_many", (status, body)
    assert "10000" in body["error"]["message"], body
    status, body = c.api("POST", "/api/v1/jobs/%s/backfill" % JOB,
                         {"from": iso(hour), "to": iso(time.time() + 3600)})
    assert status == 400 and body["error"]["field"] == "to", (status, body)

    # The CLI form.
    rc, out, err = c.cli("job", "backfill", JOB, "--from", iso(hour + 3600),
                         "--to", iso(hour + 3600 + 900))
    assert rc == 0 and "3" in out, (rc, out, err)
    c.wait_until(lambda: c.hits.count("/bf") >= 15, timeout=20, what="3 more hits")


if __name__ == "__main__":
    run_scenario(scenario, workers=1)
