#!/usr/bin/env python3
"""A job whose remaining_runs are used up is stored "completed" (issue 11,
docs/jobs.md "remaining_runs"): the catalogue's status says so (GET
/api/v1/jobs?status=completed lists it, which filters on the stored
column), no worker holds it, and it stays so across a master restart,
firing nothing more. An edit that does not set remaining_runs leaves it
completed; one that sets remaining_runs again makes it active, and it fires
that many more times and completes again."""

import time

from harness import log, parse_time, run_scenario

JOB = "three"


def stored_completed(c):
    status, body = c.api("GET", "/api/v1/jobs?status=completed")
    assert status == 200, (status, body)
    return JOB in {j["name"] for j in body["jobs"]}


def distinct_times(c):
    return sorted({parse_time(h["scheduled_at"]) for h in c.hits.hits("/three")})


def scenario(c):
    job = c.create_job(JOB, "@every 1s", c.hits.url("/three"), remaining_runs=3)
    assert job["status"] == "active" and job["remaining_runs"] == 3, job
    c.wait_until(lambda: stored_completed(c), timeout=30, what="status completed stored")
    got = c.job(JOB)
    assert got["status"] == "completed" and got["remaining_runs"] == 0, got
    c.wait_until(lambda: not c.job(JOB).get("node"), timeout=10, what="the job to be dropped")
    assert len(distinct_times(c)) == 3, distinct_times(c)

    c.restart_master()
    hits_before = c.hits.count("/three")
    time.sleep(3)  # an @every 1s job armed again would fire in here
    got = c.job(JOB)
    assert got["status"] == "completed" and not got.get("node"), got
    assert stored_completed(c)
    assert c.hits.count("/three") == hits_before, "fired after the restart"
    log("completed after 3 fires, still completed and unarmed after a master restart")

    # An edit that leaves remaining_runs alone keeps it completed.
    status, body = c.api("PATCH", "/api/v1/jobs/" + JOB, {"timeout": "5s"},
                         headers={"If-Match": '"%d"' % got["version"]})
    assert status == 200 and body["status"] == "completed" and body["timeout"] == "5s", (status, body)
    time.sleep(2)
    assert c.hits.count("/three") == hits_before and stored_completed(c)

    # Setting remaining_runs again re-activates it for that many fires.
    status, body = c.api("PATCH", "/api/v1/jobs/" + JOB, {"remaining_runs": 2},
                         headers={"If-Match": '"%d"' % body["version"]})
    assert status == 200 and body["status"] == "active" and body["remaining_runs"] == 2, (status, body)
    assert not stored_completed(c)
    c.wait_until(lambda: len(distinct_times(c)) >= 5, timeout=20, what="2 more fires")
    c.wait_until(lambda: stored_completed(c), timeout=30, what="completed again")
    time.sleep(2)
    times = distinct_times(c)
    assert len(times) == 5, "%d distinct scheduled times, want 3 + 2: %r" % (len(times), times)
    log("re-activated by remaining_runs=2: 2 more fires, then completed again")


if __name__ == "__main__":
    run_scenario(scenario, workers=1)
