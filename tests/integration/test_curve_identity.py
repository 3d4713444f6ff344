#!/usr/bin/env python3
"""A key is one node, and only that node (issue 10, test 2).

1. A peer holding worker-1's key, with the routing id "worker-2", says
   HELLO as worker-2: refused with an ERROR, no WELCOME or ASSIGN; the
   real worker-2 keeps its session and its jobs keep firing; the master
   logs the refusal.
2. The same stolen key says HELLO as worker-1 and takes worker-1's
   session (it is worker-1's key); the real worker-1, restarted with its
   own key, takes its session back and its jobs fire again.
3. A key added to worker_keys by SQL is admitted without a master
   restart: worker-3 with a key in no directory joins and fires.
4. A key removed from keys.workers (then SIGHUP) admits no new
   connection: worker-2, restarted, stays out."""

import os
import signal
import time

from harness import log, run_scenario
from rawpeer import ASSIGN, ERROR, WELCOME, RawPeer, names, new_keypair

JOBS = ["id-%d" % i for i in range(4)]


def jobs_on(c, node):
    return [j for j in JOBS if c.job_node(j) == node]


def node_version(c, name):
    for n in c.nodes():
        if n["name"] == name:
            return n.get("version")
    return None


def firing(c, jobs, extra=2, timeout=10, what=""):
    base = {j: c.hits.count("/" + j) for j in jobs}
    c.wait_until(lambda: all(c.hits.count("/" + j) >= base[j] + extra for j in jobs),
                 timeout=timeout, what=what or "jobs %s to keep firing" % jobs)


def scenario(c):
    for j in JOBS:
        c.create_job(j, "@every 1s", c.hits.url("/" + j))
    c.wait_until(lambda: jobs_on(c, "worker-1") and jobs_on(c, "worker-2"), timeout=15,
                 what="jobs on both workers")
    on_w2 = jobs_on(c, "worker-2")
    pub1, sec1 = c.worker_key("worker-1")

    # 1. worker-1's key cannot be worker-2.
    with RawPeer(c.endpoint, routing_id="worker-2", curve=(c.master_public_key, pub1, sec1)) as p:
        p.hello("worker-2")
        got = p.recv_for(3.0)
    log("peer with worker-1's key saying HELLO as worker-2 got %s" % names(got))
    assert any(m[0] == ERROR for m in got), "no ERROR for a HELLO under another node's name"
    assert not any(m[0] in (WELCOME, ASSIGN) for m in got), "welcomed as worker-2: %s" % names(got)
    assert "worker-2" in c.active_nodes()
    assert jobs_on(c, "worker-2") == on_w2, "worker-2's jobs moved"
    firing(c, on_w2, what="worker-2's jobs to keep firing")
    assert "but the connection's key is registered for node worker-1" in open(c.master.log_path).read()

    # 2. The stolen key is worker-1: it takes worker-1's session, and the
    # real worker-1, restarted with its own key, takes it back.
    thief = RawPeer(c.endpoint, curve=(c.master_public_key, pub1, sec1))
    try:
        thief.hello("worker-1")
        got = thief.recv_for(3.0, until=lambda m: m[0] == WELCOME)
        assert any(m[0] == WELCOME for m in got), "same key, same node: expected WELCOME, got %s" % names(got)
        c.wait_until(lambda: node_version(c, "worker-1") == "rawpeer", timeout=5,
                     what="the stolen key to hold worker-1's session")
        c.kill_worker("worker-1")
        t0 = time.monotonic()
        c.start_worker("worker-1", wait=False)
        c.wait_until(lambda: node_version(c, "worker-1") not in (None, "rawpeer"), timeout=15,
                     what="the real worker-1 to take its session back")
        log("real worker-1 back after %.2f s" % (time.monotonic() - t0))
        c.wait_until(lambda: jobs_on(c, "worker-1"), timeout=15, what="jobs on worker-1 again")
        # The thief's connection no longer carries worker-1's session.
        thief.recv_for(0.5)
        thief.heartbeat()
        later = thief.recv_for(2.0, until=lambda m: m[0] == ERROR)
        log("the replaced connection got %s" % names(later))
        assert any(m[0] == ERROR for m in later), "replaced connection still served: %s" % names(later)
    finally:
        thief.close()
    firing(c, jobs_on(c, "worker-1"), what="worker-1's jobs to fire after its restart")

    # 2b. A second key registered for worker-1 (a rotation under way)
    # cannot take the live session of the real worker-1.
    pub_b, sec_b = new_keypair()
    loads = open(c.master.log_path).read().count(" in worker_keys")
    c.sql("INSERT INTO worker_keys (public_key, node, created_at, created_by) "
          "VALUES ('%s', 'worker-1', NOW(3), 'test')" % pub_b)
    # The master reads worker_keys every 3 s: connect once it has the key,
    # else the handshake is refused as from an unknown key and the peer
    # hears nothing at all (which is the case of step 1, not this one).
    c.wait_until(lambda: open(c.master.log_path).read().count(" in worker_keys") > loads,
                 timeout=10, what="the master to read the second key from worker_keys")
    with RawPeer(c.endpoint, curve=(c.master_public_key, pub_b, sec_b)) as p:
        p.hello("worker-1")
        got = p.recv_for(3.0, until=lambda m: m[0] == ERROR)
    log("a second key of worker-1 saying HELLO got %s" % names(got))
    assert any(m[0] == ERROR for m in got) and not any(m[0] == WELCOME for m in got), \
        "another key took worker-1's live session: %s" % names(got)
    assert node_version(c, "worker-1") not in (None, "rawpeer")
    assert "node worker-1 has a live session with another key" in open(c.master.log_path).read()

    # 3. A key registered by SQL only.
    pub3, _ = c.worker_key("worker-3", register=False)
    c.sql("INSERT INTO worker_keys (public_key, node, created_at, created_by) "
          "VALUES ('%s', 'worker-3', NOW(3), 'test')" % pub3)
    c.start_worker("worker-3", register_key=False)
    log("worker-3 admitted through worker_keys")
    c.kill_worker("worker-1")
    c.wait_until(lambda: jobs_on(c, "worker-3"), timeout=15, what="jobs moving to worker-3")
    firing(c, jobs_on(c, "worker-3"), what="worker-3's jobs to fire")

    # 4. A key taken out of keys.workers (and SIGHUP) admits no new
    # connection: worker-2, restarted, stays out.
    os.remove(os.path.join(c.workers_keys_dir, "worker-2.key"))
    c.master.send_signal(signal.SIGHUP)
    c.wait_until(lambda: "(SIGHUP)" in open(c.master.log_path).read(), timeout=5,
                 what="the master to re-read keys.workers")
    c.kill_worker("worker-2")
    c.start_worker("worker-2", wait=False)
    time.sleep(4.0)
    assert c.workers["worker-2"].running()
    assert "worker-2" not in c.active_nodes(), "a removed key was admitted"
    assert c.master.running(), "SIGHUP stopped the master"


if __name__ == "__main__":
    run_scenario(scenario, workers=2)
