#!/usr/bin/env python3
"""A re-run whose holder is lost before it reads it goes to the next holder.

The chaos run once found a fire_all time never served whose row said "not
sent ...; fired again once by the job's holder": the master had sent that
holder the TRIGGER, the holder was frozen at that moment and declared lost,
the job moved, and the re-run was forgotten with the TRIGGER that nobody
read. Reproduced here on purpose:

1. worker-1 fires "hop" (fire_all, every second) while the endpoint's gate
   is shut, so the request waits in its connect; worker-1 is frozen past
   its lease and the job moves to worker-2.
2. worker-1 wakes and gets a session; then worker-2, the job's holder, is
   frozen, and the gate opens: worker-1's old request finds its lease gone
   and is not sent. The master decides "fired again once by the job's
   holder" and sends worker-2 the TRIGGER, which it does not read.
3. worker-2 is declared lost and the job moves on: its next holder must
   run the re-run ("its earlier holder never reported it").

What a user sees: that scheduled time reaches the endpoint exactly once, no
time reaches it twice, and every scheduled time of the fire_all job in the
test's span is served."""

import collections
import signal
import time

from harness import log, parse_time, run_scenario
from hitserver import SlowGate

JOB = "hop"


def lost(c, node):
    return any(n["name"] == node and n["state"] == "lost" for n in c.nodes())


def scenario(c):
    gate = SlowGate(c.hits.port).start()
    try:
        run(c, gate)
    finally:
        gate.stop()


def run(c, gate):
    c.create_job(JOB, "@every 1s", gate.url("/" + JOB), misfire="fire_all", timeout="30s")
    c.wait_until(lambda: c.hits.count("/" + JOB) >= 2, timeout=20, what="hop to fire on worker-1")
    c.start_worker("worker-2")
    first = min(parse_time(h["scheduled_at"]) for h in c.hits.hits("/" + JOB))

    gate.close()
    time.sleep(1.4)  # a fire whose request waits at the gate
    c.kill_worker("worker-1", signal.SIGSTOP)
    c.wait_until(lambda: lost(c, "worker-1"), timeout=20, what="worker-1 to be lost")
    c.wait_until(lambda: c.job_node(JOB) == "worker-2", timeout=15, what="hop to move to worker-2")
    c.workers["worker-1"].send_signal(signal.SIGCONT)
    c.workers["worker-1"].expected_exit = False
    c.wait_until(lambda: "worker-1" in c.active_nodes(), timeout=20,
                 what="worker-1 to be active again")
    time.sleep(0.5)  # its new lease is in force: its old request is fenced

    c.kill_worker("worker-2", signal.SIGSTOP)
    gate.open()
    try:
        c.wait_until(lambda: unsent_rows(c), timeout=10, interval=0.1,
                     what="the not-sent row and its decision")
        c.wait_until(lambda: lost(c, "worker-2"), timeout=20, what="worker-2 to be lost")
        c.wait_until(lambda: c.job_node(JOB) == "worker-1", timeout=15,
                     what="hop to move to worker-1")
    finally:
        c.workers["worker-2"].send_signal(signal.SIGCONT)
        c.workers["worker-2"].expected_exit = False
    c.wait_until(lambda: "worker-2" in c.active_nodes(), timeout=20,
                 what="worker-2 to be active again")
    time.sleep(4)  # the re-run and the catch-up reach the endpoint
    check(c, first, time.time() - 3)


def unsent_rows(c):
    rows = c.sql("SELECT scheduled_at, error FROM runs WHERE job_name = '%s' AND "
                 "error LIKE 'not sent:%%'" % JOB)
    return [(parse_time(r[0]), r[1]) for r in rows if ";" in (r[1] or "")]


def check(c, first, horizon):
    served = collections.Counter(round(parse_time(h["scheduled_at"]), 3)
                                 for h in c.hits.hits("/" + JOB))
    unsent = unsent_rows(c)
    log("not sent: %s" % unsent)
    with open(c.master.log_path, errors="replace") as f:
        resent = [l.strip() for l in f if "its earlier holder never reported it" in l]
    log("re-sent re-runs: %s" % resent)
    assert unsent, "no request was 'not sent': the scenario was not exercised"
    again = [(t, e) for t, e in unsent if "fired again once by the job's holder" in e]
    assert again, "the master did not send the re-run to the holder: %s" % unsent
    for t, note in again:
        assert served[round(t, 3)] == 1, \
            "the re-run of %s reached the endpoint %d times: %s" % (t, served[round(t, 3)], note)
    assert resent, "the master never re-sent the re-run its lost holder did not report"
    dups = sorted(t for t, n in served.items() if n > 1)
    assert not dups, "scheduled times served twice: %s" % dups
    missing = [first + k for k in range(int(horizon - first)) if not served[round(first + k, 3)]]
    assert not missing, "fire_all times never served: %s" % missing


if __name__ == "__main__":
    run_scenario(scenario, workers=1)
