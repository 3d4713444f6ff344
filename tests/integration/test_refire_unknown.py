#!/usr/bin/env python3
"""A worker killed (kill -9) while its requests are at the endpoint, or
after they finished (issue 15; docs/resilience.md, columns "unknown" and
"finished").

Twelve jobs, all on worker-1 when it is killed: misfire policy fire_all /
fire_once / skip x recover false / true x a slow endpoint (each request
takes 2.5 s, so each job has a request at the endpoint when the kill
comes) or a fast one (its runs finish, and are recorded, long before).

What a user must see:
- "unknown" (slow jobs): the run the kill interrupted is `lost`, and its
  row says whether the endpoint got it is unknown. With recover it runs
  again once on worker-2 (trigger "recover", attempt 2): the endpoint sees
  that scheduled time twice (at least once). Without recover it is not run
  again: the endpoint saw it once (at most once). The misfire policy
  changes nothing here.
- "finished" (every job): a run that finished before the kill is never
  run again: its scheduled time reached the endpoint exactly once.
- no row is left running."""

import collections
import time
import unittest

from harness import log, parse_time, run_tests

POLICIES = ("fire_all", "fire_once", "skip")
CELLS = [(p, r, s) for p in POLICIES for r in (False, True) for s in ("slow", "fast")]
DELAY_MS = 2500


def name(cell):
    p, r, s = cell
    return "%s-%s-%s" % (p.replace("_", ""), "rec" if r else "norec", s)


class RefireUnknown(unittest.TestCase):
    cluster = None  # set by run_tests
    maxDiff = None

    def test_kill_matrix(self):
        c = self.cluster
        for cell in CELLS:
            p, r, s = cell
            url = c.hits.url("/" + name(cell) + ("?delay_ms=%d" % DELAY_MS if s == "slow" else ""))
            c.create_job(name(cell), "@every 4s" if s == "slow" else "@every 1s", url,
                         misfire=p, recover=r, timeout="30s")
        c.wait_until(lambda: all(c.hits.count("/" + name(x)) >= 2 for x in CELLS), timeout=25,
                     what="every job to reach the endpoint twice")
        c.start_worker("worker-2")
        # Kill worker-1 while every slow job has a request at the endpoint.
        slow = [name(x) for x in CELLS if x[2] == "slow"]
        since = time.time()
        c.wait_until(lambda: all(any(h["time"] > since for h in c.hits.hits("/" + j))
                                 for j in slow), timeout=15, interval=0.05,
                     what="a request of every slow job at the endpoint")
        c.kill_worker("worker-1")
        killed = time.time()
        c.wait_until(lambda: self._settled(c, killed), timeout=30,
                     what="the lost runs, their re-runs and no running row")
        self._check(c, killed)

    def _settled(self, c, killed):
        rows = c.sql("SELECT job_name, status, trigger_reason, scheduled_at FROM runs")
        # Runs of worker-2 may be in flight; none from before the kill.
        if any(r[1] == "running" and parse_time(r[3]) < killed for r in rows):
            return False
        rec = {r[0] for r in rows if r[2] == "recover" and r[1] == "success"}
        return all(name(x) in rec for x in CELLS if x[1] and x[2] == "slow")

    def _check(self, c, killed):
        problems, summary = [], []
        # Runs scheduled after this may be recorded after the hits were read.
        snapshot = time.time() - 3
        for cell in CELLS:
            job = name(cell)
            _, recover, speed = cell
            served = collections.Counter(
                round(parse_time(h["scheduled_at"]), 3) for h in c.hits.hits("/" + job.split("?")[0]))
            runs = c.runs_in_db(job)
            lost = [r for r in runs if r["status"] == "lost"]
            reruns = [r for r in runs if r["trigger"] == "recover"]
            summary.append("%s: %d lost, %d re-run" % (job, len(lost), len(reruns)))
            if speed == "slow" and not lost:
                problems.append("%s: the kill interrupted no run (cell not exercised)" % job)
            for r in lost:
                t = round(r["scheduled_at"], 3)
                if "whether it reached the endpoint is unknown" not in (r["error"] or ""):
                    problems.append("%s: lost row does not say so: %s" % (job, r["error"]))
                again = [x for x in reruns if round(x["scheduled_at"], 3) == t]
                if recover:
                    if len(again) != 1 or again[0]["attempt"] != "2":
                        problems.append("%s: lost %s re-run %d times" % (job, t, len(again)))
                    if speed == "slow" and served[t] != 2:
                        problems.append("%s: lost %s served %d times, want 2 (at least once)"
                                        % (job, t, served[t]))
                else:
                    if again:
                        problems.append("%s: lost %s re-run without recover" % (job, t))
                    if speed == "slow" and served[t] != 1:
                        problems.append("%s: lost %s served %d times, want 1 (at most once)"
                                        % (job, t, served[t]))
            for r in runs:
                t = round(r["scheduled_at"], 3)
                if (r["status"] == "success" and r["trigger"] == "schedule" and t < snapshot and
                        served[t] != 1):
                    problems.append("%s: finished run at %s served %d times" % (job, t, served[t]))
                if r["status"] == "running" and r["scheduled_at"] < killed:
                    problems.append("%s: a row from before the kill is left running" % job)
            dups = [t for t, n in served.items() if n > 1 and not any(
                round(r["scheduled_at"], 3) == t for r in lost)]
            if dups:
                problems.append("%s: served twice without a lost run: %s" % (job, dups))
        log("\n  ".join(["per job:"] + summary))
        self.assertEqual(problems, [])


if __name__ == "__main__":
    run_tests(RefireUnknown, workers=1)
