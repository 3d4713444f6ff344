#!/usr/bin/env python3
"""Broadcast and shard slots across a master restart (issue 11): the new
leader loads a sharded job's slots from the catalogue and adopts them from
what the workers report, and makes the broadcast slots again for the
workers that rejoin (a manual trigger of a broadcast job runs on every
worker). Fires go on with every shard and every worker, and no
(scheduled time, shard) or (scheduled time, worker) runs twice."""

import signal
import time

from harness import log, run_scenario


def rows(c, job):
    return [(int(r[0]), r[1], r[2], r[3]) for r in c.sql(
        "SELECT CAST(ROUND(UNIX_TIMESTAMP(scheduled_at) * 1000) AS SIGNED), shard_index, node, "
        "status FROM runs WHERE job_name = '%s'" % job)]


def scenario(c):
    names = sorted(c.workers)
    c.create_job("sh3", "@every 1s", c.hits.url("/sh3"), executor={"shards": 3})
    c.create_job("bc", "@every 1s", c.hits.url("/bc"), executor={"mode": "broadcast"})
    c.wait_until(lambda: c.hits.count("/sh3") >= 6 and c.hits.count("/bc") >= 4, timeout=20,
                 what="shard and broadcast runs before the restart")
    # A manual trigger of a broadcast job runs on every worker.
    status, body = c.api("POST", "/api/v1/jobs/bc/trigger")
    assert status == 202 and sorted(body["node"].split(",")) == names, (status, body)
    manual = c.wait_until(lambda: (lambda r: r if len(r) == 2 else None)(c.sql(
        "SELECT node FROM runs WHERE job_name = 'bc' AND trigger_reason = 'manual'")),
        timeout=10, what="the manual runs of bc")
    assert sorted(r[0] for r in manual) == names, manual
    before = c.job("sh3")["placement"]
    c.restart_master(sig=signal.SIGKILL, down_s=0.5)
    back = time.time()
    after = c.wait_until(lambda: (lambda p: p if p and p["state"] == "placed" else None)(
        c.job("sh3")["placement"]), timeout=20, what="sh3 placed after the restart")
    assert sorted((s["shard"], s["node"]) for s in after["slots"]) == \
        sorted((s["shard"], s["node"]) for s in before["slots"]), \
        "shards were not adopted where they ran: %r -> %r" % (before["slots"], after["slots"])
    c.wait_until(lambda: (lambda p: p if p and sorted(p["nodes"]) == names else None)(
        c.job("bc")["placement"]), timeout=20, what="broadcast on every worker again")

    def fires_after():
        per = {}
        for sched, idx, node, status in rows(c, "sh3"):
            if sched > back * 1000 + 3000 and status == "success":
                per.setdefault(sched, set()).add(idx)
        done = [s for s, got in per.items() if got == {"0", "1", "2"}]
        bc = {}
        for sched, _, node, status in rows(c, "bc"):
            if sched > back * 1000 + 3000:
                bc.setdefault(sched, set()).add(node)
        bc_done = [s for s, got in bc.items() if sorted(got) == names]
        return (done, bc_done) if len(done) >= 2 and len(bc_done) >= 2 else None
    c.wait_until(fires_after, timeout=20, what="2 full shard and broadcast fires after the restart")

    for job, key in (("sh3", lambda r: (r[0], r[1])), ("bc", lambda r: (r[0], r[2]))):
        seen = {}
        for r in rows(c, job):
            seen[key(r)] = seen.get(key(r), 0) + 1
        dups = {k: n for k, n in seen.items() if n > 1}
        assert not dups, "%s ran twice for %r" % (job, dups)
    log("shards adopted in place, broadcast back on %r, nothing doubled" % names)


if __name__ == "__main__":
    run_scenario(scenario, workers=2)
