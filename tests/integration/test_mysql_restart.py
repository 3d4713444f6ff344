#!/usr/bin/env python3
"""The real MariaDB stopped for 10 s and started again.

This test runs a private MariaDB of its own (scripts/db under a separate
HG_VAR and port), so that stopping it leaves the database the other tests
share untouched. While it is down: jobs keep firing, and API calls that
need the database answer 503 at once instead of hanging. When it is back,
every run fired during the outage appears in the history, once."""

import collections
import os
import shutil
import subprocess
import time

from harness import SOURCE_DIR, TEST_VAR, free_port, log, norm_run_id, run_scenario

JOBS = ("dbstop-a", "dbstop-b")
DOWN_S = 10.0
DB_VAR = os.path.join(TEST_VAR, "private-db", "mysql_restart")
DB_PORT = free_port()
DB_SCRIPT = os.path.join(SOURCE_DIR, "scripts", "db")


def db(cmd):
    env = dict(os.environ, HG_VAR=DB_VAR, HG_DB_PORT=str(DB_PORT))
    t0 = time.monotonic()
    r = subprocess.run([DB_SCRIPT, cmd], env=env, capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise AssertionError("scripts/db %s failed (%d): %s%s" % (cmd, r.returncode, r.stdout, r.stderr))
    return time.monotonic() - t0


def scenario(c):
    for j in JOBS:
        c.create_job(j, "@every 1s", c.hits.url("/" + j))
    c.wait_until(lambda: all(c.hits.count("/" + j) >= 2 for j in JOBS), timeout=20,
                 what="2 hits of every job before the database stops")

    before = c.hits.count()
    took = db("stop")
    t_down = time.time()
    log("MariaDB stopped (%.1f s to shut down)" % took)

    # The API answers, quickly, that the database is unavailable.
    t0 = time.monotonic()
    status, body = c.api("GET", "/api/v1/jobs", timeout=20)
    api_s = time.monotonic() - t0
    log("GET /api/v1/jobs with MariaDB down: HTTP %s in %.2f s: %s" % (status, api_s, body))
    assert status == 503, "expected 503 while MariaDB is down, got %s %r" % (status, body)
    assert "database" in body["error"]["message"], body
    assert api_s < 12, "the API took %.1f s to answer with MariaDB down" % api_s

    remaining = DOWN_S - (time.time() - t_down)
    if remaining > 0:
        time.sleep(remaining)
    during = c.hits.count() - before
    log("%d hits in %.1f s with MariaDB down" % (during, time.time() - t_down))
    assert during >= 2 * (DOWN_S - 3), "jobs stopped firing while MariaDB was down (%d hits)" % during

    took = db("start")
    log("MariaDB started again (%.1f s)" % took)
    c.wait_until(lambda: c.api("GET", "/healthz")[0] == 200, timeout=30, what="/healthz back to 200")

    def all_recorded():
        hits = c.hits.hits()
        ids = set()
        for j in JOBS:
            ids |= {r["run_id"] for r in c.runs_in_db(j)}
        missing = [h for h in hits if norm_run_id(h["run_id"]) not in ids]
        return hits if not missing else None
    hits = c.wait_until(all_recorded, timeout=40, interval=0.5,
                        what="every hit to have its run row after MariaDB is back")
    dup = 0
    for j in JOBS:
        per_time = collections.Counter(r["scheduled_at"] for r in c.runs_in_db(j))
        dup += sum(n - 1 for n in per_time.values() if n > 1)
    hit_dups = sum(n - 1 for n in collections.Counter((h["job"], h["scheduled_at"]) for h in hits).values()
                   if n > 1)
    log("mysql restart: %d hits (%d while down), 0 without a run row (lost), %d scheduled times "
        "recorded twice, %d hit twice" % (len(hits), during, dup, hit_dups))
    assert dup == 0 and hit_dups == 0, "duplicates after the restart"


if __name__ == "__main__":
    shutil.rmtree(os.path.join(TEST_VAR, "log", "mysql_restart"), ignore_errors=True)
    db("stop")  # a leftover of a killed run, if any
    shutil.rmtree(DB_VAR, ignore_errors=True)
    try:
        took = db("start")
        log("private MariaDB on 127.0.0.1:%d under %s (%.1f s to start)" % (DB_PORT, DB_VAR, took))
        os.environ["HOURGLASS_MYSQL_PORT"] = str(DB_PORT)
        run_scenario(scenario, workers=2)
    finally:
        db("stop")
        shutil.rmtree(DB_VAR, ignore_errors=True)
