#!/usr/bin/env python3
"""Dependency fires exactly once across a master failover (issue 11).

Two masters, two workers. A parent HTTP job fires every second; a child
HTTP job with trigger_rule any depends on it, so each successful parent
run must fire the child once. The leader is killed (-9) while the parent
keeps finishing runs; the standby takes over. Then the parent is paused
and, once the engine has caught up, the counts must match exactly:

- child runs recorded with reason "dependency" == successful parent runs
  that finished after the edge was made (none missed, none doubled), and
  the child's endpoint got exactly that many requests, no scheduled time
  twice;
- every such parent run is consumed by exactly one fire (dep_inbox), and
  every fire is marked sent (or done: its run found).
Also the child fired after the failover (the new leader's engine works).
"""

import collections
import time

from harness import log, run_scenario

BOUND_S = 40


def success_parent_runs(c):
    return int(c.sql(
        "SELECT COUNT(*) FROM runs r JOIN job_deps d ON d.namespace = 'default' AND "
        "d.child_name = 'fo-child' AND d.parent_name = r.job_name WHERE r.job_name = 'fo-parent' "
        "AND r.status = 'success' AND r.finished_at >= d.created_at")[0][0])


def child_runs(c):
    return [r for r in c.runs_in_db("fo-child") if r["trigger"] == "dependency"]


def scenario(c):
    c.create_job("fo-parent", "@every 1s", c.hits.url("/parent"))
    status, body = c.api("POST", "/api/v1/jobs", {
        "name": "fo-child", "http": {"url": c.hits.url("/child")},
        "depends_on": [{"job": "fo-parent"}], "trigger_rule": "any"})
    assert status == 201, body
    c.wait_until(lambda: c.hits.count("/child") >= 3, timeout=BOUND_S,
                 what="the child to fire on its parent's runs")
    before = c.hits.count("/child")
    killed_at = c.kill_master(0)
    c.use_master(1)
    c.wait_until(lambda: (c.health(1) or {}).get("role") == "leader", timeout=BOUND_S,
                 what="the standby to lead")
    log("standby leads %.1f s after the kill" % (time.time() - killed_at))
    c.wait_until(lambda: c.hits.count("/child") >= before + 3, timeout=BOUND_S,
                 what="the child to fire under the new leader")

    status, body = c.api("POST", "/api/v1/jobs/fo-parent/pause")
    assert status == 200, body
    # Runs of the parent in flight at the pause finish within its timeout;
    # then the engine catches up and nothing more changes.
    def settled():
        want = success_parent_runs(c)
        got = len(child_runs(c))
        return want > 0 and got == want and (want, got)
    want, got = c.wait_until(settled, timeout=BOUND_S, what="child runs == parent successes")
    time.sleep(4)  # the engine's resend and scan passes: still nothing more
    assert len(child_runs(c)) == success_parent_runs(c) == want, (len(child_runs(c)), want)

    hits = c.hits.hits("/child")
    assert len(hits) == want, "endpoint got %d child requests for %d parent runs" % (len(hits), want)
    twice = [t for t, n in collections.Counter(h["scheduled_at"] for h in hits).items() if n > 1]
    assert not twice, "child scheduled times hit twice: %s" % twice

    consumed = c.sql("SELECT COUNT(*), COUNT(DISTINCT parent_run_id), SUM(fire_at IS NULL) "
                     "FROM dep_inbox")[0]
    assert consumed == [str(want), str(want), "0"], consumed
    states = dict(c.sql("SELECT state, COUNT(*) FROM dep_fires GROUP BY state"))
    assert set(states) <= {"sent", "done"} and sum(map(int, states.values())) == want, states
    log("%d parent runs, %d child fires, %d before the kill" % (want, got, before))


if __name__ == "__main__":
    run_scenario(scenario, masters=2, workers=2)
