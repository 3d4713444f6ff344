#!/usr/bin/env python3
"""Jobs created in one POST /api/v1/jobs:batch through a real master: the
reply names the worker holding each job, every job fires, a GET returns
each job as the reply gave it, and a batch with a taken name stores
nothing and names the index of the bad job."""

from harness import log, run_scenario

N = 40


def scenario(c):
    jobs = [{"name": "batch-%d" % i, "schedule": "@every 1s",
             "http": {"url": c.hits.url("/b/%d" % i)}} for i in range(N)]
    status, body = c.api("POST", "/api/v1/jobs:batch", {"jobs": jobs})
    assert status == 201, "batch create: HTTP %s %s" % (status, body)
    created = body["jobs"]
    assert [j["name"] for j in created] == [j["name"] for j in jobs], "reply not in request order"
    workers = set(c.active_nodes())
    nodes = [j.get("node") for j in created]
    assert all(n in workers for n in nodes), "jobs not placed on a live worker: %r" % nodes
    log("%d jobs created in one request, on %s" % (N, sorted(set(nodes))))

    for j in created[:5] + created[-5:]:
        got = c.job(j["name"])
        got.pop("node", None)
        got.pop("placement", None)  # live, like node: GET only
        got.pop("last_fire", None)
        got.pop("next_fires", None)  # the look-ahead GET adds (job_ext.c)
        got.pop("last_run", None)
        want = dict(j)
        want.pop("node", None)
        assert got == want, "GET %s differs from the created job:\n%r\n%r" % (j["name"], got, want)

    c.wait_until(lambda: all(c.hits.count("/b/%d" % i) >= 1 for i in range(N)), timeout=20,
                 what="every batch job to fire")
    log("every job fired")

    bad = [{"name": "later-%d" % i, "schedule": "@every 1s",
            "http": {"url": c.hits.url("/later")}} for i in range(5)]
    bad[3]["name"] = "batch-7"
    status, body = c.api("POST", "/api/v1/jobs:batch", {"jobs": bad})
    assert status == 409, "taken name: HTTP %s %s" % (status, body)
    assert body["error"]["field"] == "jobs[3].name", body
    status, _ = c.api("GET", "/api/v1/jobs/later-0")
    assert status == 404, "a job of the failed batch was stored"
    log("a batch with a taken name stored nothing: %s" % body["error"]["message"])


if __name__ == "__main__":
    run_scenario(scenario, workers=2)
