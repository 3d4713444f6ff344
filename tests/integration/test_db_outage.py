#!/usr/bin/env python3
"""MySQL unreachable for a while: workers keep firing, the API answers 503
at once (no hang) and names the database, and when MySQL is back every
run appears in the history; nothing is lost.

The master reaches MySQL through a TCP relay owned by this test, so the
outage is real for the master (connections cut and refused) while the
private MariaDB other tests share keeps running."""

import os
import time

from harness import Relay, log, norm_run_id, run_scenario

JOB = "outage"
OUTAGE_S = 6.0


RELAY = Relay(os.environ.get("HOURGLASS_MYSQL_PORT", "3317"))


def scenario(c):
    c.create_job(JOB, "@every 1s", c.hits.url("/outage"))
    c.wait_until(lambda: c.hits.count("/outage") >= 2, timeout=15, what="2 hits before the outage")

    status, body = c.api("POST", "/api/v1/tokens", {"name": "unseen", "role": "viewer"})
    assert status == 201, (status, body)
    unseen = body["token"]
    for i in range(4):  # audited writes on the API's threads before the cut
        status, body = c.api("POST", "/api/v1/jobs", {"name": "before-%d" % i, "schedule": "@daily",
                                                      "http": {"url": c.hits.url("/before")}})
        assert status == 201, (status, body)

    log("cutting the master off MySQL for %.0f s" % OUTAGE_S)
    RELAY.cut()
    cut_at = time.time()
    before = c.hits.count("/outage")

    # The API must answer promptly with 503 naming the database.
    t0 = time.monotonic()
    status, body = c.api("GET", "/api/v1/jobs", timeout=20)
    took = time.monotonic() - t0
    log("GET /api/v1/jobs during the outage: HTTP %s in %.2f s: %s" % (status, took, body))
    assert status == 503, "expected 503 while MySQL is down, got %s %r" % (status, body)
    assert "database" in body["error"]["message"], body
    assert took < 12, "the API took %.1f s to answer during the outage" % took
    status, health = c.api("GET", "/healthz")
    assert status == 503 and health.get("db") == "down", (status, health)
    # Token checks while MySQL is down (docs/api.md, Authentication): a
    # token this master verified lately still works where MySQL is not
    # needed (the node list); one it never saw cannot be checked: 503.
    status, body = c.api("GET", "/api/v1/nodes", timeout=20)
    assert status == 200, "node list with a recently verified token: %s %r" % (status, body)
    status, body = c.api("GET", "/api/v1/nodes", timeout=20, token=unseen)
    assert status == 503, "a token never verified during the outage: %s %r" % (status, body)

    remaining = OUTAGE_S - (time.time() - cut_at)
    if remaining > 0:
        time.sleep(remaining)
    during = c.hits.count("/outage") - before
    log("%d hits while MySQL was unreachable" % during)
    assert during >= OUTAGE_S - 3, "jobs stopped firing during the outage (%d hits)" % during

    RELAY.up()
    log("MySQL reachable again")
    c.wait_until(lambda: c.api("GET", "/healthz")[0] == 200, timeout=20, what="/healthz back to 200")

    def all_recorded():
        hits = c.hits.hits("/outage")
        ids = {r["run_id"] for r in c.runs_in_db(JOB)}
        missing = [h for h in hits if norm_run_id(h["run_id"]) not in ids]
        return (hits, missing) if not missing else None

    hits, _ = c.wait_until(all_recorded, timeout=30, interval=0.5,
                           what="every hit to have its run row after the outage")
    unfinished = c.sql("SELECT COUNT(*) FROM runs WHERE job_name = '%s' AND status = 'running' "
                       "AND scheduled_at < NOW(3) - INTERVAL 5 SECOND" % JOB)
    log("all %d hits have their run rows (%d during the outage)" % (len(hits), during))
    assert int(unfinished[0][0]) == 0, "runs left 'running' after the outage"

    # Writes are audited again: the API's threads keep their audit
    # statement prepared, and the one prepared before the outage belonged
    # to a connection that is gone.
    for i in range(4):
        status, body = c.api("POST", "/api/v1/jobs", {"name": "after-%d" % i, "schedule": "@daily",
                                                      "http": {"url": c.hits.url("/after")}})
        assert status == 201, (status, body)
    rows = c.sql("SELECT object, status FROM audit WHERE action = 'job.create' "
                 "AND object LIKE 'default/after-%' ORDER BY id")
    assert [(r[0], int(r[1])) for r in rows] == [("default/after-%d" % i, 201) for i in range(4)], \
        "audit rows of the creations after the outage: %r" % (rows,)
    log("the 4 creations after the outage are audited")


if __name__ == "__main__":
    run_scenario(scenario, workers=1,
                 master_args=("--mysql-host", "127.0.0.1", "--mysql-port", str(RELAY.port)))
