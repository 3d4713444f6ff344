#!/usr/bin/env python3
"""The master's store applies back-pressure instead of buffering without
bound (issue 14): with store.queue_max tiny (1 record), nearly every
finished-run message arrives while the store is busy and is deferred (not
acknowledged) and start records are not written. What a user must see:

- the master says so in its log (once per burst), and the workers say
  they sent unacknowledged records again;
- nothing is lost: every HTTP call the endpoint received has its run row,
  finished (not left `running`), status success;
- nothing is recorded twice: one row per job and scheduled time.

Not timed: the bound itself is unit-tested (tests/unit/test_store_gate.c);
this checks that deferral through real workers loses nothing."""

import collections
import re

from harness import log, norm_run_id, run_scenario

JOBS = ["bp%d" % i for i in range(10)]
QUEUE_MAX = 1


def text(path):
    with open(path, "rb") as f:
        return f.read().decode("utf-8", errors="replace")


def scenario(c):
    for j in JOBS:
        c.create_job(j, "@every 200ms", c.hits.url("/" + j))
    c.wait_until(lambda: c.hits.count() >= 300, timeout=30, what="300 hits")
    def deferred():
        n = sum(int(x) for x in re.findall(r"(\d+) finished records deferred", text(c.master.log_path)))
        return n if n > 0 else None
    n = c.wait_until(deferred, timeout=20, what="the master to report deferred finished records")
    log("the master deferred %d finished records so far" % n)
    hits = c.hits.hits()
    want = {norm_run_id(h["run_id"]): h for h in hits if h["run_id"]}
    log("%d hits so far; waiting for their run rows" % len(want))
    names = ",".join("'%s'" % j for j in JOBS)

    def rows():
        return c.sql("SELECT LOWER(HEX(run_id)), job_name, scheduled_at, status, trigger_reason"
                     " FROM runs WHERE job_name IN (%s)" % names)

    def all_finished():
        got = {r[0]: r for r in rows()}
        missing = [rid for rid in want if rid not in got or got[rid][3] == "running"]
        return got if not missing else None

    # Deferred records come back after the workers' resend delay (3 s).
    got = c.wait_until(all_finished, timeout=35, interval=0.5,
                       what="a finished run row for each of %d hits" % len(want))
    bad = [(rid, got[rid][3]) for rid in want if got[rid][3] != "success"]
    assert not bad, "runs not successful: %r" % bad[:5]
    per_time = collections.Counter((r[1], r[2]) for r in got.values() if r[4] in ("schedule", "misfire"))
    dups = [k for k, n in per_time.items() if n > 1]
    assert not dups, "scheduled times recorded twice: %r" % dups[:5]
    resent = [n for n, w in c.workers.items() if "run records again" in text(w.log_path)]
    log("every hit recorded once; workers that resent deferred records: %s" % resent)
    assert resent, "no worker sent deferred records again"


if __name__ == "__main__":
    run_scenario(scenario, workers=2, master_args=("--store-queue-max", str(QUEUE_MAX)))
