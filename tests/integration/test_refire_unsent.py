#!/usr/bin/env python3
"""Fires a lapsed lease kept from the endpoint are fired again, under the
job's misfire policy (issue 15; docs/resilience.md, column "not sent").

The endpoint sits behind a SlowGate (hitserver.py): shut, it accepts no
connection, so a request waits in its connect and has sent nothing, as
with a service slow to accept. With the gate shut, worker-1 fires every
job once more and is then frozen (SIGSTOP) past its lease: the master
declares it lost. When it wakes and has a lease again, the gate opens; the
requests made under the old lease find their lease gone and are not sent
(skipped, "not sent: ..."). Twelve jobs cover the cells: misfire policy
fire_all / fire_once / skip x recover false / true x where the job is
afterwards: still on worker-1 (pinned there: it adopts its jobs back) or
moved to worker-2 (the master handed it over while worker-1 was frozen).

What a user must see, per cell:
- every "not sent" row says what the master decided, and the endpoint
  agrees: "fired again once" -> that scheduled time reached the endpoint
  exactly once (the refire); "not fired again (misfire policy skip)" ->
  never; "already run again once" (recover got there first) -> once;
- no scheduled time reaches the endpoint twice (nothing here is unknown:
  every lost request was really not sent);
- fire_all jobs: every scheduled time of the test reached the endpoint;
- no row is left running."""

import collections
import signal
import time
import unittest

from harness import log, parse_time, run_tests
from hitserver import SlowGate

POLICIES = ("fire_all", "fire_once", "skip")
CELLS = [(p, r, m) for p in POLICIES for r in (False, True) for m in ("stay", "move")]


def name(cell):
    p, r, m = cell
    return "%s-%s-%s" % (p.replace("_", ""), "rec" if r else "norec", m)


class RefireUnsent(unittest.TestCase):
    cluster = None  # set by run_tests
    maxDiff = None

    def test_unsent_matrix(self):
        c = self.cluster
        gate = SlowGate(c.hits.port).start()
        try:
            self._run(c, gate)
        finally:
            gate.stop()

    def _run(self, c, gate):
        for cell in CELLS:
            p, r, m = cell
            extra = {"misfire": p, "recover": r, "timeout": "30s"}
            if m == "stay":
                extra["executor"] = {"nodes": ["worker-1"]}
            c.create_job(name(cell), "@every 1s", gate.url("/" + name(cell)), **extra)
        c.wait_until(lambda: all(c.hits.count("/" + name(x)) >= 2 for x in CELLS), timeout=20,
                     what="every job to fire on worker-1")
        # The jobs are placed; worker-2 joins only now, so they all start
        # on worker-1 and the unpinned ones move to worker-2 below.
        c.start_worker("worker-2")
        first = {name(x): min(parse_time(h["scheduled_at"]) for h in c.hits.hits("/" + name(x)))
                 for x in CELLS}

        gate.close()
        time.sleep(1.4)  # every job fires once more: its request waits at the gate
        c.kill_worker("worker-1", signal.SIGSTOP)
        c.wait_until(lambda: any(n["name"] == "worker-1" and n["state"] == "lost"
                                 for n in c.nodes()), timeout=20, what="worker-1 to be lost")
        moved = [name(x) for x in CELLS if x[2] == "move"]
        c.wait_until(lambda: all(c.job_node(j) == "worker-2" for j in moved), timeout=15,
                     what="the unpinned jobs to move to worker-2")
        time.sleep(1.0)
        c.workers["worker-1"].send_signal(signal.SIGCONT)
        c.workers["worker-1"].expected_exit = False
        c.wait_until(lambda: "worker-1" in c.active_nodes(), timeout=20,
                     what="worker-1 to be active again")
        time.sleep(0.5)  # its new lease is in force: old requests are fenced
        gate.open()
        log("gate open; letting the cluster settle")
        c.wait_until(lambda: self._unsent_rows_done(c), timeout=25,
                     what="the not-sent rows and their decisions")
        time.sleep(4)  # the refires reach the endpoint
        horizon = time.time() - 3
        self._check(c, first, horizon)

    def _unsent_rows_done(self, c):
        rows = c.sql("SELECT job_name, error FROM runs WHERE error LIKE 'not sent:%'")
        jobs = {r[0] for r in rows if ";" in (r[1] or "")}
        return len(jobs) == len(CELLS)

    def _check(self, c, first, horizon):
        problems = []
        summary = []
        for cell in CELLS:
            job = name(cell)
            policy, recover, _ = cell
            served = collections.Counter(
                round(parse_time(h["scheduled_at"]), 3) for h in c.hits.hits("/" + job))
            runs = c.runs_in_db(job)
            unsent = [r for r in runs if (r["error"] or "").startswith("not sent:")]
            running = [r for r in runs if r["status"] == "running"]
            dups = sorted(t for t, n in served.items() if n > 1)
            summary.append("%s: %d not sent, %s" % (job, len(unsent),
                                                  sorted({r["error"].split("; ", 1)[1]
                                                          for r in unsent})))
            if not unsent:
                problems.append("%s: no run was 'not sent' (the cell was not exercised)" % job)
            if dups:
                problems.append("%s: scheduled times served twice: %s" % (job, dups[:5]))
            if running:
                problems.append("%s: %d rows left running" % (job, len(running)))
            for r in unsent:
                t = round(r["scheduled_at"], 3)
                note = r["error"]
                if ("fired again once" in note or "already run again once" in note
                        or "run again by the job's next holder" in note):
                    if served[t] != 1:
                        problems.append("%s: %s served %d times: %s" % (job, t, served[t], note))
                elif "not fired again (misfire policy skip)" in note:
                    if policy != "skip" or recover or served[t]:
                        problems.append("%s: %s served %d times: %s" % (job, t, served[t], note))
                elif "next holder fires this time if its misfire policy" in note:
                    if policy == "fire_all" and served[t] != 1:
                        problems.append("%s: %s served %d times: %s" % (job, t, served[t], note))
                else:
                    problems.append("%s: unexpected decision: %s" % (job, note))
            if policy == "fire_all":
                want = [first[job] + k for k in range(int(horizon - first[job]))]
                missing = [t for t in want if served[round(t, 3)] == 0]
                if missing:
                    problems.append("%s: fire_all times never served: %s" % (job, missing[:5]))
        log("\n  ".join(["per job:"] + summary))
        self.assertEqual(problems, [])


if __name__ == "__main__":
    run_tests(RefireUnsent, workers=1)
