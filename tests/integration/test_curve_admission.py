#!/usr/bin/env python3
"""Only admitted keys reach the master (issue 10, test 1).

Two intruders dial the workers' endpoint while two real workers fire a
job: a plaintext DEALER with the routing id "worker-1", and a CURVE
DEALER that knows the master's public key but whose own key nobody
admitted, with the routing id "worker-2". Each says HELLO (as a new node
and as the real workers), heartbeats and asks to leave. Neither gets any
answer (no WELCOME, no ASSIGN, nothing); the node list and the nodes
table are what they were, every job stays where it was and keeps firing,
and the master logs the refused key."""

import time

from harness import log, run_scenario
from rawpeer import RawPeer, names, new_keypair

JOBS = ["adm-a", "adm-b", "adm-c"]


def nodes_state(c):
    return sorted((n["name"], n["state"]) for n in c.nodes())


def scenario(c):
    for j in JOBS:
        c.create_job(j, "@every 1s", c.hits.url("/" + j))
    c.wait_until(lambda: all(c.hits.count("/" + j) >= 2 for j in JOBS), timeout=15,
                 what="every job firing")
    before_nodes = nodes_state(c)
    before_rows = c.sql("SELECT name, state FROM nodes ORDER BY name")
    placed = {j: c.job_node(j) for j in JOBS}
    hits_before = {j: c.hits.count("/" + j) for j in JOBS}
    log("before: nodes %s, placement %s" % (before_nodes, placed))

    pub, sec = new_keypair()
    peers = [("plaintext", RawPeer(c.endpoint, routing_id="worker-1")),
             ("unknown key", RawPeer(c.endpoint, routing_id="worker-2",
                                     curve=(c.master_public_key, pub, sec)))]
    got = {}
    try:
        for _, p in peers:
            p.hello("intruder")
            p.hello("worker-1")
            p.hello("worker-2")
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline:
            for what, p in peers:
                p.heartbeat()
                got.setdefault(what, []).extend(p.recv_for(0.25))
        for _, p in peers:
            p.leave(handover=1)
            p.leave(handover=0)
        for what, p in peers:
            got[what].extend(p.recv_for(1.0))
    finally:
        for _, p in peers:
            p.close()
    for what, msgs in got.items():
        log("%s peer received %s" % (what, names(msgs)))
        assert not msgs, "the %s peer got answers from the master: %s" % (what, names(msgs))

    # Nothing changed: same nodes, same rows, same placement, still firing.
    time.sleep(1.0)
    assert nodes_state(c) == before_nodes, "nodes changed: %s -> %s" % (before_nodes, nodes_state(c))
    assert c.sql("SELECT name, state FROM nodes ORDER BY name") == before_rows, "nodes table changed"
    for j in JOBS:
        assert c.job_node(j) == placed[j], "job %s moved from %s to %s" % (j, placed[j], c.job_node(j))
    c.wait_until(lambda: all(c.hits.count("/" + j) >= hits_before[j] + 3 for j in JOBS),
                 timeout=10, what="every job to keep firing on the real workers")
    master_log = open(c.master.log_path).read()
    assert "refused: unknown key" in master_log, "the master did not log the unknown key"
    assert sec not in master_log and pub not in master_log, "a key reached the master's log"


if __name__ == "__main__":
    run_scenario(scenario, workers=2)
