#!/usr/bin/env python3
"""One run record MySQL would refuse does not hold back the others (issue
10, test 6), produced by a real worker: the shell plug-in's error for a
command that does not exist quotes the command, and the worker cuts that
text at 512 bytes, here in the middle of a two-byte character. Strict
MySQL refuses such bytes in the error column; before, that refusal
dropped the whole statement, so the worker kept resending the bad record
with every later one and none of its records (the HTTP job's runs too)
were stored or acknowledged. Now the store fits the text into its column
(the broken byte becomes '?'): the run is stored as failed with its
error, the HTTP job's runs keep landing, and the worker's unacknowledged
records drain to zero."""

import time

from harness import BUILD_DIR, log, run_scenario

TICK = "tick"
BAD = "missing-command"


def scenario(c):
    c.create_job(TICK, "@every 1s", c.hits.url("/tick"))
    c.wait_until(lambda: c.hits.count("/tick") >= 2, timeout=15, what="the HTTP job to fire")

    command = "\u00e9" * 300  # 600 bytes: the error text is cut inside one of them
    body = {"name": BAD, "schedule": "@every 1h", "kind": "plugin",
            "plugin": {"name": "shell"}, "params": {"command": command}}
    status, job = c.api("POST", "/api/v1/jobs", body)
    assert status == 201, "create: %s %s" % (status, job)

    def accepted():
        status, _ = c.api("POST", "/api/v1/jobs/%s/trigger" % BAD)
        return status == 202
    c.wait_until(accepted, timeout=20, what="the trigger to be accepted")

    def stored():
        runs = [r for r in c.runs_in_db(BAD) if r["status"] != "running"]
        return runs[0] if runs else None
    run = c.wait_until(stored, timeout=20, what="the bad run's record in MySQL")
    log("bad run stored: status %s, error %r...%r" % (run["status"], run["error"][:40],
                                                      run["error"][-10:]))
    assert run["status"] == "failed", run
    assert run["error"].startswith('shell: command "\u00e9\u00e9'), run["error"][:60]
    assert run["error"].endswith("?"), run["error"][-10:]

    # Records sent after the bad one (the HTTP job's) keep landing.
    before = len(c.runs_in_db(TICK))
    time.sleep(3)
    c.wait_until(lambda: len([r for r in c.runs_in_db(TICK) if r["status"] == "success"])
                 >= before + 2, timeout=15, what="the HTTP job's later runs in MySQL")

    def drained():
        nodes = c.nodes()
        return nodes and all(n.get("unacked", 0) == 0 for n in nodes)
    c.wait_until(drained, timeout=20, what="every worker's unacknowledged records to drain")
    log("the HTTP job's runs kept landing; no worker holds unacknowledged records")


if __name__ == "__main__":
    run_scenario(scenario, workers=1,
                 worker_args=["--plugin-dir", BUILD_DIR, "--plugin-allow", "shell"])
