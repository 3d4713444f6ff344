#!/usr/bin/env python3
"""Master failover with runs in flight whose start rows were never
written (issue 14): the rows complete on the new leader.

The masters run with store.start_write_after 4 s, so the runs in flight
when the leader is killed exist only in its memory. The worker lists them
in its HELLO to the new leader and, once welcomed, sends their RUN_STARTED
again; the new leader tracks them in turn. What a user must see:

- a run that ends after the failover has its row, `success`;
- a run still going is written `running` by the new leader, and when its
  worker is then killed -9 it is closed `lost` (before the worker sent its
  starts again, the new leader knew nothing of it: the run had no row at
  all);
- every short run that reached the endpoint has exactly one row and none
  is left `running`."""

import time

from harness import log, norm_run_id, run_scenario

AFTER = "4s"
FIN, DIE = "fo-finish", "fo-die"
SHORT = ["fo-s%d" % i for i in range(4)]
BOUND_S = 25  # generous: a loaded machine, not a measurement


def status(c, run_id):
    r = c.sql("SELECT status, node, error FROM runs WHERE run_id = UNHEX('%s')" % norm_run_id(run_id))
    return r[0] if r else None


def scenario(c):
    for j in SHORT:
        c.create_job(j, "@every 200ms", c.hits.url("/" + j))
    c.create_job(FIN, "@every 1h", c.hits.url("/slow/5000"), timeout="30s")
    c.create_job(DIE, "@every 1h", c.hits.url("/slow/30000"), timeout="60s")
    c.wait_until(lambda: c.hits.count() >= 20, timeout=BOUND_S, what="short runs at the endpoint")
    for j in (FIN, DIE):
        code, body = c.api("POST", "/api/v1/jobs/%s/trigger" % j, body={})
        assert code in (200, 202), "trigger %s: %s %s" % (j, code, body)
    hit = {}
    for j, path in ((FIN, "/slow/5000"), (DIE, "/slow/30000")):
        hit[j] = c.wait_until(lambda: (c.hits.hits(path) or [None])[0], timeout=BOUND_S, interval=0.05,
                              what="the run of %s at the endpoint" % j)
    unwritten = [j for j in (FIN, DIE) if status(c, hit[j]["run_id"]) is None]
    c.kill_master(0)
    log("killed the leader with %s in flight (no row yet for %s)" % (", ".join(hit), unwritten))
    assert unwritten == [FIN, DIE], "start rows written before store.start_write_after: %s" % unwritten
    c.wait_until(lambda: (c.health(1, timeout=1) or {}).get("role") == "leader", timeout=BOUND_S,
                 interval=0.1, what="master-2 to lead")
    c.use_master(1)
    c.wait_until(lambda: "worker-1" in c.active_nodes(), timeout=BOUND_S, what="worker-1 on the new leader")

    r = c.wait_until(lambda: (status(c, hit[FIN]["run_id"]) or [None])[0] == "success", timeout=BOUND_S,
                     interval=0.2, what="the run of %s to complete on the new leader" % FIN)
    # The long one: the new leader writes it running, start_write_after
    # after the worker sent its start again.
    c.wait_until(lambda: (status(c, hit[DIE]["run_id"]) or [None])[0] == "running", timeout=BOUND_S,
                 interval=0.2, what="the new leader to write the run of %s running" % DIE)
    log("new leader: %s success, %s running" % (FIN, DIE))
    c.kill_worker("worker-1")
    r = c.wait_until(lambda: (lambda s: s if s and s[0] != "running" else None)(status(c, hit[DIE]["run_id"])),
                     timeout=BOUND_S, interval=0.2, what="the run of %s closed with its worker" % DIE)
    assert r[0] == "lost" and "worker-1 was lost" in (r[2] or ""), "the run of %s is %r, want lost" % (DIE, r)
    # Every short run that reached the endpoint has its row (the worker's
    # unacknowledged records go to the new leader; the killed worker's
    # runs in flight are lost).
    hits = [h for h in c.hits.hits() if h["run_id"] and h["path"].lstrip("/") in SHORT]
    want = {norm_run_id(h["run_id"]) for h in hits}
    names = ",".join("'%s'" % j for j in SHORT)

    def rows():
        got = {}
        for row in c.sql("SELECT LOWER(HEX(run_id)), status FROM runs WHERE job_name IN (%s)" % names):
            got.setdefault(row[0], []).append(row[1])
        return got if all(rid in got and got[rid][0] != "running" for rid in want) else None

    got = c.wait_until(rows, timeout=BOUND_S, interval=0.5, what="a finished row for each short hit")
    assert all(len(v) == 1 for v in got.values()), "a run recorded twice"
    bad = [(rid, got[rid]) for rid in want if got[rid][0] not in ("success", "lost")]
    assert not bad, "short runs: %r" % bad[:5]
    log("%d short runs recorded, %d lost with the worker" % (len(want), sum(got[r][0] == "lost" for r in want)))


if __name__ == "__main__":
    run_scenario(scenario, workers=1, masters=2, master_args=("--store-start-write-after", AFTER))
