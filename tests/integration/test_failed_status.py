#!/usr/bin/env python3
"""A job whose endpoint answers 500 records failed runs carrying the HTTP
status, in MySQL and through the API."""

from harness import log, norm_run_id, run_scenario

JOB = "broken"


def scenario(c):
    c.create_job(JOB, "@every 1s", c.hits.url("/status/500"))
    c.wait_until(lambda: c.hits.count("/status/500") >= 2, timeout=15, what="2 hits on /status/500")
    want = {norm_run_id(h["run_id"]) for h in c.hits.hits("/status/500")}

    # A run's row says "running" until the worker's record of its end
    # lands (records travel in batches): wait for the ends.
    def recorded():
        runs = {r["run_id"]: r for r in c.runs_in_db(JOB)}
        done = want <= set(runs) and all(runs[rid]["status"] != "running" for rid in want)
        return runs if done else None

    runs = c.wait_until(recorded, timeout=20, what="finished run rows for the first %d hits" % len(want))
    for rid in want:
        r = runs[rid]
        assert r["status"] == "failed", "run %s: status %r, want failed" % (rid, r["status"])
        assert r["http_status"] == 500, "run %s: http_status %r, want 500" % (rid, r["http_status"])
    sample = runs[sorted(want)[0]]
    log("%d runs recorded failed with http_status 500 (error text: %r)" % (len(want), sample["error"]))

    status, body = c.api("GET", "/api/v1/runs?job=%s&status=failed&limit=10" % JOB)
    assert status == 200, "GET /api/v1/runs: HTTP %s %s" % (status, body)
    api_runs = body.get("runs") or []
    assert api_runs, "the API lists no failed runs for %s: %s" % (JOB, body)
    for r in api_runs:
        assert r.get("status") == "failed" and r.get("http_status") == 500, "API run: %r" % r
    log("the API lists %d failed runs with http_status 500" % len(api_runs))


if __name__ == "__main__":
    run_scenario(scenario, workers=1)
