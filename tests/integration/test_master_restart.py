#!/usr/bin/env python3
"""Restart the master (cleanly, then by kill -9): the workers reconnect,
the jobs keep firing, no scheduled time fires twice, and no run record is
lost: every hit at the endpoint ends up with its run row in MySQL."""

import collections
import signal
import time

from harness import log, norm_run_id, run_scenario

JOBS = ("steady-a", "steady-b")


def hits_of(c):
    return [h for h in c.hits.hits() if h["job"] in JOBS]


def restart_phase(c, sig, down_s):
    c.wait_until(lambda: all(c.hits.count("/" + j) >= 3 for j in JOBS), timeout=20,
                 what="3 hits per job before the restart")
    stopped_at = time.time()
    took = c.restart_master(sig=sig, down_s=down_s)
    back_at = time.time()
    # Hits during the outage: workers keep firing while their lease lasts.
    during = [h for h in hits_of(c) if stopped_at <= h["time"] <= back_at]
    c.wait_until(lambda: all(len([h for h in c.hits.hits("/" + j) if h["time"] > back_at]) >= 3 for j in JOBS),
                 timeout=20, what="3 hits per job after the restart")
    firsts = [min(h["time"] for h in c.hits.hits("/" + j) if h["time"] > back_at) - back_at for j in JOBS]
    log("%s, down %.1f s: master back with workers %.2f s after its start (%.2f s wall); %d hits during; "
        "first hit after it: %s s"
        % (signal.Signals(sig).name, down_s, took, back_at - stopped_at, len(during),
           ", ".join("%.2f" % f for f in firsts)))


def scenario(c):
    for j in JOBS:
        c.create_job(j, "@every 1s", c.hits.url("/" + j))

    # Down for less than the 2 s lease: the workers keep firing and must
    # resend those run records once the master is back.
    restart_phase(c, signal.SIGTERM, 1.5)
    # Down past the lease: the workers stop firing, then resume, and no
    # scheduled time fires twice.
    restart_phase(c, signal.SIGKILL, 4.0)

    hits = hits_of(c)
    want = {norm_run_id(h["run_id"]): h for h in hits}

    def missing():
        have = set()
        for j in JOBS:
            have |= {r["run_id"] for r in c.runs_in_db(j)}
        return sorted(set(want) - have)

    try:
        c.wait_until(lambda: not missing(), timeout=30, interval=0.5,
                     what="a run row for each of %d hits" % len(want))
    except AssertionError:
        lost = missing()
        raise AssertionError("%d of %d hits have no run row (lost records), e.g. %r" % (
            len(lost), len(want), [(want[r]["job"], want[r]["scheduled_at"], want[r]["run_id"]) for r in lost[:5]]))
    log("all %d hits have their run rows in MySQL" % len(want))

    counts = collections.Counter((h["job"], h["scheduled_at"]) for h in hits)
    dups = {k: v for k, v in counts.items() if v > 1}
    assert not dups, "scheduled times hit more than once across restarts: %r" % dups
    nodes = c.active_nodes()
    assert nodes == sorted(c.workers), "active nodes after the restarts: %r" % nodes


if __name__ == "__main__":
    run_scenario(scenario, workers=2)
