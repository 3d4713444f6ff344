#!/usr/bin/env python3
"""Run cancel (issue 11): POST /api/v1/runs/{id}/cancel and
`hourglass run cancel ID`.

An HTTP run of 20 s is cancelled with the CLI: its request is aborted (the
endpoint sees the connection close at once) and the run is recorded
"cancelled", error "cancelled: cancelled by an operator", long before its
20 s. A shell plug-in run (`sleep 30`, process isolation) is cancelled
through the API: the plug-in's cancelled() is raised, its helper killed
after plugin.grace at the latest, and the run is recorded "cancelled".
Cancelling a run that is not running answers 409 not_running; a malformed
id 400 naming the field; a viewer 403; the cancel is in the audit log."""

import time

from harness import BUILD_DIR, log, run_scenario

WORKER_ARGS = ["--plugin-dir", BUILD_DIR, "--plugin-grace", "1s", "--plugin-allow", "*"]


def running_run(c, job):
    status, body = c.api("GET", "/api/v1/runs?job=%s&status=running" % job)
    assert status == 200, body
    return body["runs"][0]["run_id"] if body["runs"] else None


def row(c, run_id):
    rows = c.sql("SELECT status, error, TIMESTAMPDIFF(MICROSECOND, started_at, finished_at) "
                 "FROM runs WHERE run_id = UNHEX('%s')" % run_id.replace("-", ""))
    return rows[0] if rows else None


def check_http(c):
    c.create_job("long-http", "@every 1h", c.hits.url("/slow/20000"))
    status, body = c.api("POST", "/api/v1/jobs/long-http/trigger")
    assert status == 202, body
    run_id = c.wait_until(lambda: running_run(c, "long-http"), timeout=15, what="the run in flight")
    c.wait_until(lambda: c.hits.count("/slow/20000") >= 1, timeout=10, what="the request")
    asked = time.time()
    rc, out, err = c.cli("run", "cancel", run_id)
    assert rc == 0 and "cancelling run " + run_id in out, (rc, out, err)
    r = c.wait_until(lambda: (lambda x: x and x[0] != "running" and x)(row(c, run_id)), timeout=10,
                     what="the run recorded as cancelled")
    assert r[0] == "cancelled" and r[1] == "cancelled: cancelled by an operator", r
    hit = c.hits.hits("/slow/20000")[0]
    c.wait_until(lambda: c.hits.hits("/slow/20000")[0].get("end"), timeout=5, what="the hang-up")
    hit = c.hits.hits("/slow/20000")[0]
    log("HTTP run cancelled: the endpoint saw the hang-up %.3f s after the request to cancel; "
        "the run lasted %.1f s of its 20" % (hit["end"] - asked, int(r[2]) / 1e6))
    assert hit["aborted"] and hit["end"] - asked < 3.0, hit
    assert int(r[2]) < 10e6, r
    # Not running any more: 409.
    status, body = c.api("POST", "/api/v1/runs/%s/cancel" % run_id)
    assert status == 409 and body["error"]["code"] == "not_running", (status, body)
    return run_id


def check_plugin(c):
    body = {"name": "long-shell", "schedule": "@every 1h", "kind": "plugin", "timeout": "60s",
            "plugin": {"name": "shell", "isolation": "process"},
            "params": {"command": "sleep", "args": "30"}}
    status, job = c.api("POST", "/api/v1/jobs", body)
    assert status == 201, job
    status, body = c.api("POST", "/api/v1/jobs/long-shell/trigger")
    assert status == 202, body
    run_id = c.wait_until(lambda: running_run(c, "long-shell"), timeout=15, what="the plug-in run")
    time.sleep(0.5)
    asked = time.time()
    status, body = c.api("POST", "/api/v1/runs/%s/cancel" % run_id)
    assert status == 202 and body["status"] == "cancelling" and body["node"], (status, body)
    r = c.wait_until(lambda: (lambda x: x and x[0] != "running" and x)(row(c, run_id)), timeout=10,
                     what="the plug-in run recorded as cancelled")
    log("plug-in run cancelled %.2f s after the request: %r" % (time.time() - asked, r[:2]))
    assert r[0] == "cancelled" and r[1].startswith("cancelled: cancelled by an operator"), r
    assert int(r[2]) < 10e6, r


def check_refusals(c, done_id):
    status, body = c.api("POST", "/api/v1/runs/not-a-run-id/cancel")
    assert status == 400 and body["error"]["field"] == "id", (status, body)
    status, tok = c.api("POST", "/api/v1/tokens", {"name": "watcher", "role": "viewer"})
    assert status == 201, tok
    status, body = c.api("POST", "/api/v1/runs/%s/cancel" % done_id, token=tok["token"])
    assert status == 403, (status, body)
    rows = c.cli_json("audit", "--limit", "1000")["audit"]
    seen = {(r["action"], r["token"], r["status"]) for r in rows}
    assert ("run.cancel", "bootstrap-admin", 202) in seen, sorted(seen)
    assert ("run.cancel", "watcher", 403) in seen, sorted(seen)


def scenario(c):
    done = check_http(c)
    check_plugin(c)
    check_refusals(c, done)


if __name__ == "__main__":
    run_scenario(scenario, workers=1, worker_args=WORKER_ARGS)
