#!/usr/bin/env python3
"""remaining_runs (docs/jobs.md): a job set to 6 runs fires exactly the
first 6 scheduled times after the write, once each, although the worker
holding it is killed (kill -9) after its second fire; then it reads
"completed" with 0 runs left and fires no more. The count is a cut-off on
the schedule (runs_end_at), which the new holder honours by itself."""

import signal
import time

from harness import log, parse_time, run_scenario

JOB = "six"


def scenario(c):
    job = c.create_job(JOB, "@every 1s", c.hits.url("/six"), remaining_runs=6, misfire="fire_all")
    assert job["remaining_runs"] == 6 and job["runs_end_at"], job
    start, end = parse_time(job["runs_from"]), parse_time(job["runs_end_at"])
    assert 5 <= end - start <= 6, (start, end)
    c.wait_until(lambda: c.hits.count("/six") >= 2, timeout=20, what="2 hits")
    holder = c.job_node(JOB)
    c.kill_worker(holder, signal.SIGKILL)
    log("killed %s after %d hits" % (holder, c.hits.count("/six")))

    def done():
        return c.job(JOB)["status"] == "completed"

    c.wait_until(done, timeout=30, what="the job to complete")
    c.wait_until(lambda: len({h["scheduled_at"] for h in c.hits.hits("/six")}) >= 6,
                 timeout=20, what="6 distinct scheduled times")
    time.sleep(2.5)  # none more may come
    sched = sorted({parse_time(h["scheduled_at"]) for h in c.hits.hits("/six")})
    assert len(sched) == 6, "%d distinct scheduled times, want 6: %r" % (len(sched), sched)
    assert sched[-1] <= end + 0.001 and sched[0] > start, (sched, start, end)
    assert all(round(b - a, 3) == 1.0 for a, b in zip(sched, sched[1:])), sched
    got = c.job(JOB)
    assert got["remaining_runs"] == 0 and got["next_fires"] == [], got
    log("6 scheduled times fired across the kill of %s; job completed" % holder)


if __name__ == "__main__":
    run_scenario(scenario, workers=2)
