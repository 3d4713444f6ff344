#!/usr/bin/env python3
"""Broadcast and shards over 3 workers with one killed (issue 11).

- mode broadcast: every live worker runs each fire: one run row per node,
  all with the same scheduled time, never two on one node for one time.
- shards 4: each fire runs as 4 shard runs spread over the workers; the
  endpoint sees Hourglass-Shard: i/4 for i = 0..3 once per scheduled time
  (a sharded plug-in job's runs see the shard_index/shard_total params),
  the rows carry shard_index/shard_total, and GET /jobs/{name} shows the
  fire as a success once all 4 shards are.
- kill -9 of a worker in the middle of slow shard runs: its shard runs are
  closed as lost and (recover: true) re-run on another worker with the
  same scheduled time and shard; later fires still run all 4 shards, and
  the broadcast runs on the 2 survivors. No (scheduled time, shard) and no
  (scheduled time, node) ever runs twice except a lost run's one re-run."""

import os
import time

from harness import BUILD_DIR, log, run_scenario

DELAY_MS = 1500  # each shard run takes this long at the hit server


def rows(c, job):
    """(scheduled ms, shard_index, shard_total, node, status, trigger) of job's runs."""
    out = []
    for r in c.sql("SELECT CAST(ROUND(UNIX_TIMESTAMP(scheduled_at) * 1000) AS SIGNED), "
                   "shard_index, shard_total, node, status, trigger_reason FROM runs "
                   "WHERE job_name = '%s' ORDER BY scheduled_at" % job):
        out.append((int(r[0]), None if r[1] is None else int(r[1]),
                    None if r[2] is None else int(r[2]), r[3], r[4], r[5]))
    return out


def complete_shard_fires(c, job, n=4):
    """Scheduled times whose n shards have all succeeded."""
    done = {}
    for sched, idx, total, node, status, trig in rows(c, job):
        if status == "success":
            done.setdefault(sched, set()).add(idx)
    return sorted(s for s, got in done.items() if got == set(range(n)))


def scenario(c):
    names = sorted(c.workers)
    c.create_job("bc", "@every 1s", c.hits.url("/bc"), executor={"mode": "broadcast"})
    c.create_job("sh", "@every 2s", c.hits.url("/sh?delay_ms=%d" % DELAY_MS), recover=True,
                 timeout="20s", executor={"shards": 4})
    job = c.job("sh")
    assert job["executor"]["shards"] == 4, job["executor"]
    pl = c.wait_until(lambda: (lambda p: p if p and p["state"] == "placed" else None)(
        c.job("sh")["placement"]), timeout=15, what="the 4 shards placed")
    assert len(pl["slots"]) == 4 and sorted(s["shard"] for s in pl["slots"]) == [0, 1, 2, 3], pl
    assert len(set(pl["nodes"])) >= 2, "4 shards over 3 workers should use 2 or more: %r" % pl
    bc = c.wait_until(lambda: (lambda p: p if p and len(p["nodes"]) == 3 else None)(
        c.job("bc")["placement"]), timeout=15, what="broadcast placed on 3 workers")
    assert sorted(bc["nodes"]) == names, bc

    # Broadcast: three rows per scheduled time, one per worker.
    def bc_full():
        per = {}
        for sched, _, _, node, status, _ in rows(c, "bc"):
            per.setdefault(sched, []).append(node)
        full = [s for s, ns in per.items() if sorted(ns) == names]
        return full if len(full) >= 2 else None
    c.wait_until(bc_full, timeout=20, what="2 broadcast fires on all 3 workers")
    # Shards: the endpoint saw i/4 for each i once per scheduled time.
    c.wait_until(lambda: len(complete_shard_fires(c, "sh")) >= 1, timeout=25,
                 what="a fire of sh with its 4 shards done")
    by_sched = {}
    for h in c.hits.hits("/sh"):
        by_sched.setdefault(h["scheduled_at"], []).append(h["headers"].get("Hourglass-Shard"))
    full = [s for s, got in by_sched.items() if sorted(got) == ["0/4", "1/4", "2/4", "3/4"]]
    assert full, "no scheduled time with shards 0/4..3/4 at the endpoint: %r" % by_sched
    lf = c.wait_until(lambda: (lambda f: f if f and f["status"] == "success" else None)(
        c.job("sh").get("last_fire")), timeout=20, what="last_fire of sh a success")
    assert lf["parts"] == 4 and lf["succeeded"] == 4, lf
    status, body = c.api("GET", "/api/v1/runs?job=sh&limit=20")
    assert status == 200 and body["runs"], (status, body)
    assert all(r["shard_total"] == 4 and 0 <= r["shard_index"] < 4 for r in body["runs"]), \
        "GET /runs should show each run's shard: %r" % body["runs"][:3]
    status, body = c.api("GET", "/api/v1/runs?job=bc&limit=5")
    assert status == 200 and body["runs"] and "shard_index" not in body["runs"][0], body
    log("broadcast on %s, shards seen %r, last_fire %r" % (names, sorted(by_sched[full[0]]), lf))

    # A sharded plug-in job: each shard run sees its shard as parameters.
    status, body = c.api("POST", "/api/v1/jobs", {
        "name": "sh-plugin", "schedule": "@every 1s", "kind": "plugin",
        "plugin": {"name": "hgtest_echo"}, "executor": {"shards": 2}})
    assert status == 201, body

    def echoed():
        out = c.sql("SELECT output FROM runs WHERE job_name = 'sh-plugin' AND status = 'success'")
        got = {o[0].split(" shard_index=")[1].split()[0] for o in out
               if o[0] and " shard_total=2" in o[0] and " shard_index=" in o[0]}
        return got if got == {"0", "1"} else None
    c.wait_until(echoed, timeout=15, what="plug-in shard runs seeing shard_index 0 and 1 of 2")
    c.api("DELETE", "/api/v1/jobs/sh-plugin")

    # Kill a worker holding a shard while the shard runs are at the endpoint.
    sh_nodes = {s["node"] for s in c.job("sh")["placement"]["slots"]}
    victim = sorted(sh_nodes)[0]
    survivors = [n for n in names if n != victim]
    before = len(c.hits.hits("/sh"))
    c.wait_until(lambda: len(c.hits.hits("/sh")) > before, timeout=10, interval=0.05,
                 what="a new shard run in flight")
    time.sleep(0.3)  # every shard of that fire has reached the endpoint
    killed_at = c.kill_worker(victim)

    def recovered():
        rs = rows(c, "sh")
        lost = [r for r in rs if r[3] == victim and r[4] == "lost"]
        rec = [r for r in rs if r[5] == "recover" and r[4] == "success"]
        ok = [l for l in lost if any(r[0] == l[0] and r[1] == l[1] and r[3] != victim for r in rec)]
        return (lost, rec) if lost and len(ok) == len(lost) else None
    lost, rec = c.wait_until(recovered, timeout=30, what="lost shard runs re-run elsewhere")
    log("%d shard runs lost with %s, re-run on %r" % (len(lost), victim, sorted({r[3] for r in rec})))

    # After the failover: every later fire runs all 4 shards on the
    # survivors, and the broadcast runs on the 2 survivors only.
    def later_fires():
        done = [s for s in complete_shard_fires(c, "sh") if s > killed_at * 1000 + 3000]
        return done if len(done) >= 2 else None
    c.wait_until(later_fires, timeout=30, what="2 complete shard fires after the kill")
    for sched, idx, total, node, status, trig in rows(c, "sh"):
        assert total == 4 and 0 <= idx < 4, "shard columns of a run: %r %r" % (idx, total)
        if sched > killed_at * 1000 + 3000:
            assert node in survivors, "shard %d ran on %s after it was killed" % (idx, node)
    time.sleep(2)
    per = {}
    for sched, _, _, node, _, _ in rows(c, "bc"):
        per.setdefault(sched, []).append(node)
    late = [ns for s, ns in per.items() if s > killed_at * 1000 + 4000]
    assert late and all(sorted(ns) == survivors for ns in late[:-1]), \
        "broadcast after the kill should run on %r: %r" % (survivors, late)

    # Never twice: one scheduled run per (time, shard) and per (time, node),
    # plus at most one recover run for a lost one.
    seen = {}
    for sched, idx, _, node, status, trig in rows(c, "sh"):
        key = (sched, idx, trig == "recover")
        seen[key] = seen.get(key, 0) + 1
    dups = {k: n for k, n in seen.items() if n > 1}
    assert not dups, "shard runs doubled: %r" % dups
    seen = {}
    for sched, _, _, node, _, trig in rows(c, "bc"):
        seen[(sched, node)] = seen.get((sched, node), 0) + 1
    dups = {k: n for k, n in seen.items() if n > 1}
    assert not dups, "broadcast runs doubled: %r" % dups


if __name__ == "__main__":
    run_scenario(scenario, workers=3, worker_args=[
        "--plugin-dir", os.path.join(BUILD_DIR, "test-plugins"), "--plugin-allow", "*"])
