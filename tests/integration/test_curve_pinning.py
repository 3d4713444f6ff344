#!/usr/bin/env python3
"""A worker runs nothing for a master whose key it does not know (issue 10,
test 7). worker-1 is admitted by the master, but pins another master key:
for 5 s it stays up and fires nothing (no hit, no run row, not in the node
list). Restarted with the wrong and the right key listed (a master key
being rotated), it finds the right one and fires the job."""

import os
import subprocess
import time

from harness import MASTER_BIN, Proc, log, run_scenario

JOB = "pinned"


def scenario(c):
    c.create_job(JOB, "@every 1s", c.hits.url("/" + JOB))
    wrong = os.path.join(c.keys_dir, "other-master.key")
    subprocess.run([MASTER_BIN, "keygen", "--out", wrong], check=True, stdout=subprocess.DEVNULL)
    # The harness pins the right key; a later flag overrides it.
    proc = Proc("worker-1", c.worker_argv("worker-1") + ["--master-key", wrong],
                os.path.join(c.log_dir, "worker-1.log"))
    c.workers["worker-1"] = proc
    proc.start(c._daemon_env())
    time.sleep(5.0)
    assert proc.running(), "the worker with a wrong master key exited"
    assert c.hits.count("/" + JOB) == 0, "a worker pinned to another master key fired"
    assert c.runs_in_db(JOB) == [], "run rows written"
    assert "worker-1" not in [n["name"] for n in c.nodes()], "worker-1 got a session"
    log("nothing fired in 5 s with the wrong master key")

    # Several pinned keys (a master key being rotated): the worker tries
    # them in turn and finds the master's.
    proc.stop()
    proc.argv = proc.argv[:-2] + ["--master-key", "%s,%s" % (wrong, c.master_key_file)]
    proc.start(c._daemon_env())
    c.wait_until(lambda: c.hits.count("/" + JOB) >= 2, timeout=20,
                 what="the job to fire once the worker tries the right key")


if __name__ == "__main__":
    run_scenario(scenario, workers=0)
