#!/usr/bin/env python3
"""After a job is deleted it fires no more: allowing 1 s for requests
already in flight, there are zero hits over the next 3 s. The job is gone
from the API (404) and from the active catalogue in MySQL, and the
assignments table (where operators see which node holds what) drops it
while still listing the other job on its node."""

import time

from harness import log, run_scenario

JOB = "doomed"
IN_FLIGHT_S = 1.0
QUIET_S = 3.0


def scenario(c):
    doomed_id = int(c.create_job(JOB, "@every 1s", c.hits.url("/doomed"))["id"])
    bystander_id = int(c.create_job("bystander", "@every 1s", c.hits.url("/bystander"))["id"])
    c.wait_until(lambda: c.hits.count("/doomed") >= 2, timeout=15, what="2 hits before the delete")

    deleted_at = c.delete_job(JOB)
    time.sleep(IN_FLIGHT_S)
    before = c.hits.count("/doomed")
    bystander_before = c.hits.count("/bystander")
    time.sleep(QUIET_S)
    late = [h for h in c.hits.hits("/doomed")][before:]
    log("%d hits in the %.0f s after the delete (+%.0f s in flight allowance); bystander +%d"
        % (len(late), QUIET_S, IN_FLIGHT_S, c.hits.count("/bystander") - bystander_before))
    assert not late, "deleted job still fired: %r" % [
        (h["scheduled_at"], round(h["time"] - deleted_at, 3)) for h in late]
    # The other job is untouched: deleting one job must not stall the worker.
    assert c.hits.count("/bystander") - bystander_before >= 2, "the other job stopped firing too"

    status, body = c.api("GET", "/api/v1/jobs/" + JOB)
    assert status == 404, "GET deleted job: HTTP %s %s, want 404" % (status, body)
    active = c.sql("SELECT COUNT(*) FROM jobs WHERE name = '%s' AND status = 'active'" % JOB)
    assert active[0][0] == "0", "the deleted job is still active in MySQL"
    status, body = c.api("GET", "/api/v1/jobs")
    names = [j.get("name") for j in (body or {}).get("jobs", [])]
    assert JOB not in names, "the deleted job is still listed: %r" % names

    def assignments():
        return dict((int(j), n) for j, n in c.sql("SELECT job_id, node FROM assignments"))
    c.wait_until(lambda: doomed_id not in assignments() and
                 assignments().get(bystander_id) == c.job_node("bystander"),
                 timeout=10, what="assignments without the deleted job, with the other on its node")


if __name__ == "__main__":
    run_scenario(scenario, workers=2)
