#!/usr/bin/env python3
"""Writes of different jobs from several clients at once (docs/api.md,
"Writes at once").

A creation without parents, a pause and a resume lock only their own job,
so that several clients' commits go side by side; every write still
reaches the cluster in the order MySQL committed it. Four clients each
create jobs and pause or resume them at once, a fifth creates children of
them (a write that waits for every other); then:

- every write answered as it should (201, 200) and every audit row is there;
- for every job, what the cluster holds agrees with MySQL: an active job is
  placed on a worker, a paused one on none, and the workers together hold
  exactly the active jobs;
- the children exist with their parents."""

import concurrent.futures
import time

from harness import log, run_scenario

CLIENTS = 4
PER_CLIENT = 40


def client(c, k):
    """Create PER_CLIENT jobs; pause every second one right after its
    creation, resume every fourth right after its pause. Returns the
    status each job should end in."""
    want = {}
    for i in range(PER_CLIENT):
        name = "w%d-%d" % (k, i)
        status, body = c.api("POST", "/api/v1/jobs", {"name": name, "schedule": "@every 1h",
                                                      "http": {"url": c.hits.url("/w")}})
        assert status == 201, (name, status, body)
        want[name] = "active"
        if i % 2 == 0:
            status, body = c.api("POST", "/api/v1/jobs/%s/pause" % name)
            assert status == 200 and body["status"] == "paused", (name, status, body)
            want[name] = "paused"
        if i % 4 == 0:
            status, body = c.api("POST", "/api/v1/jobs/%s/resume" % name)
            assert status == 200 and body["status"] == "active", (name, status, body)
            want[name] = "active"
    return want


def children(c):
    """Children of the first job of each client, created while the
    clients write: each waits for every other write."""
    made = []
    for k in range(CLIENTS):
        parent = "w%d-0" % k
        deadline = time.monotonic() + 20
        while True:
            status, body = c.api("POST", "/api/v1/jobs", {
                "name": "child-%d" % k, "schedule": "@every 1h",
                "http": {"url": c.hits.url("/child")}, "depends_on": [{"job": parent}]})
            if status == 201:
                made.append(("child-%d" % k, parent))
                break
            # The parent may not be created yet: that is the only refusal.
            assert status == 400 and "no job" in body["error"]["message"], (status, body)
            assert time.monotonic() < deadline, "parent %s never appeared" % parent
            time.sleep(0.05)
    return made


def scenario(c):
    c.wait_workers(2)
    t0 = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(CLIENTS + 1) as ex:
        futures = [ex.submit(client, c, k) for k in range(CLIENTS)]
        kids = ex.submit(children, c)
        want = {}
        for f in futures:
            want.update(f.result())
        made = kids.result()
    took = time.monotonic() - t0
    writes = CLIENTS * PER_CLIENT * (1 + 0.5 + 0.25)
    log("%d writes from %d clients in %.2f s, %d children" % (writes, CLIENTS, took, len(made)))
    active = sorted(n for n, s in want.items() if s == "active")

    def agrees():
        wrong = []
        for name, status in sorted(want.items()):
            job = c.job(name)
            if job["status"] != status:
                wrong.append("%s: %s in MySQL, want %s" % (name, job["status"], status))
            elif (job.get("node") is not None) != (status == "active"):
                wrong.append("%s (%s) held by %r" % (name, status, job.get("node")))
        return None if wrong else True
    # The cluster places new jobs within a heartbeat or two.
    try:
        c.wait_until(agrees, timeout=20, what="the cluster to agree with MySQL on every job")
    except AssertionError:
        wrong = []
        for name, status in sorted(want.items()):
            job = c.job(name)
            if job["status"] != status or (job.get("node") is not None) != (status == "active"):
                wrong.append((name, status, job["status"], job.get("node")))
        raise AssertionError("jobs where the cluster and MySQL disagree: %r" % wrong[:10])
    kids = {name for name, _ in made}
    status, nodes = c.api("GET", "/api/v1/nodes")
    assert status == 200, (status, nodes)
    held = sum(n["jobs"] for n in nodes["nodes"] if n["state"] == "active")
    assert held == len(active) + len(kids), \
        "workers hold %d jobs, want %d active and %d children" % (held, len(active), len(kids))
    for name, parent in made:
        job = c.job(name)
        assert [d if isinstance(d, str) else d.get("job") for d in job["depends_on"]] == [parent], job
    rows = c.sql("SELECT COUNT(*) FROM audit WHERE action IN ('job.create', 'job.pause', "
                 "'job.resume') AND object LIKE 'default/w%%'")
    assert int(rows[0][0]) == writes, "audit rows: %s, want %d" % (rows[0][0], writes)
    log("all %d jobs agree (%d active, held by the workers), %d audit rows"
        % (len(want), len(active), writes))


if __name__ == "__main__":
    run_scenario(scenario, workers=2)
