#!/usr/bin/env python3
"""SIGSTOP a worker for longer than its lease, then SIGCONT it.

While it is frozen the master hears nothing, waits out lease + margin and
moves its jobs to the other worker. When it wakes, its timers are long
overdue and its lease long expired: it must not fire anything until the
master has given it a new session and lease, and then nothing of the
jobs that moved. At the hit server no (job, scheduled time) is ever hit
twice, and every job kept firing."""

import collections
import signal
import time

from harness import log, norm_run_id, parse_time, run_scenario

JOBS = ("frozen-a", "frozen-b", "frozen-c", "frozen-d")
FIRE_ALL = ("frozen-a", "frozen-b")  # the others keep the default, fire_once
FREEZE_S = 6.0  # lease 2 s + margin 0.5 s, with room for a loaded machine


def runs_by_id(c):
    """run id -> (job, node, epoch, started_at as Unix s)."""
    rows = c.sql("SELECT LOWER(HEX(run_id)), job_name, node, epoch, started_at FROM runs")
    return {r[0]: (r[1], r[2], int(r[3]), parse_time(r[4])) for r in rows}


def log_times(path, needle, after):
    """Unix times of the log lines containing needle, at or after `after`."""
    out = []
    with open(path, "rb") as f:
        for line in f.read().decode("utf-8", errors="replace").splitlines():
            if needle in line and line[:4].isdigit():
                t = parse_time(line.split(" ", 1)[0])
                if t >= after:
                    out.append(t)
    return out


def scenario(c):
    for job in JOBS:
        extra = {"misfire": "fire_all"} if job in FIRE_ALL else {}
        c.create_job(job, "@every 1s", c.hits.url("/" + job), **extra)
    c.wait_until(lambda: all(c.hits.count("/" + j) >= 3 for j in JOBS), timeout=20,
                 what="3 hits of every job")
    holders = {j: c.job_node(j) for j in JOBS}
    victim = holders[JOBS[0]]
    survivor = [n for n in c.workers if n != victim][0]
    moved = [j for j, n in holders.items() if n == victim]
    log("%s holds %s; freezing it for %.0f s" % (victim, ", ".join(moved), FREEZE_S))

    # Epochs the victim fired its jobs under before the freeze.
    old_epoch = collections.defaultdict(int)
    for job, node, epoch, _ in runs_by_id(c).values():
        if node == victim:
            old_epoch[job] = max(old_epoch[job], epoch)

    t_stop = time.time()
    c.kill_worker(victim, signal.SIGSTOP)
    try:
        def moved_fired():
            runs = runs_by_id(c)
            fired = {runs[norm_run_id(h["run_id"])][0] for h in c.hits.hits()
                     if h["time"] > t_stop + 0.5 and norm_run_id(h["run_id"]) in runs
                     and runs[norm_run_id(h["run_id"])][1] == survivor}
            return all(j in fired for j in moved)
        c.wait_until(moved_fired, timeout=20, interval=0.3,
                     what="every job of the frozen %s to fire from %s" % (victim, survivor))
        remaining = FREEZE_S - (time.time() - t_stop)
        if remaining > 0:
            time.sleep(remaining)
    finally:
        t_cont = time.time()
        c.workers[victim].send_signal(signal.SIGCONT)
    c.workers[victim].expected_exit = False
    log("%s woken after %.1f s" % (victim, t_cont - t_stop))

    c.wait_until(lambda: victim in c.active_nodes(), timeout=20, what="%s to rejoin" % victim)
    # Let everything fire a few more times from wherever it now is.
    counts = {j: c.hits.count("/" + j) for j in JOBS}
    c.wait_until(lambda: all(c.hits.count("/" + j) >= counts[j] + 3 for j in JOBS), timeout=20,
                 what="3 more hits of every job after the wake-up")
    time.sleep(1.5)  # run records of the last hits

    hits = c.hits.hits()
    runs = runs_by_id(c)
    # 1. No scheduled time twice.
    per_time = collections.Counter((h["job"], h["scheduled_at"]) for h in hits)
    dups = {k: v for k, v in per_time.items() if v > 1}
    # 2. Nothing from the victim between its wake-up and its new session,
    #    and nothing under the assignment epochs it held before the freeze.
    welcomed = log_times(c.workers[victim].log_path, "welcomed by master", t_cont - 0.05)
    assert welcomed, "%s never got a new session after SIGCONT" % victim
    session_at = welcomed[0]
    early, stale = [], []
    for h in hits:
        r = runs.get(norm_run_id(h["run_id"]))
        if r is None or r[1] != victim or r[3] < t_cont - 0.05:
            continue
        if r[3] < session_at:
            early.append(h)
        if r[2] <= old_epoch.get(r[0], 0):
            stale.append(h)
    # 3. Every hit has its run record. A fire_all job has every scheduled
    #    second hit (the new owner catches the gap up); fire_once may skip
    #    some of the gap, never more.
    missing = [h for h in hits if norm_run_id(h["run_id"]) not in runs]
    gaps, lost = {}, 0
    for j in JOBS:
        ts = sorted({parse_time(h["scheduled_at"]) for h in hits if h["job"] == j})
        gaps[j] = max(b - a for a, b in zip(ts, ts[1:]))
        if j in FIRE_ALL:
            lost += sum(int(round(b - a)) - 1 for a, b in zip(ts, ts[1:]))
    log("SIGSTOP: %d hits, %d scheduled times hit twice, %d fires by %s before its new session "
        "(%.2f s after SIGCONT), %d under a stale epoch, %d hits without a run record, "
        "%d scheduled times of fire_all jobs never hit; largest schedule gap per job %s"
        % (len(hits), len(dups), len(early), victim, session_at - t_cont, len(stale), len(missing),
           lost, {j: round(g, 1) for j, g in gaps.items()}))
    assert not dups, "scheduled times hit twice: %r" % dups
    assert not early, "%s fired before its new lease: %r" % (victim, early)
    assert not stale, "%s fired under an assignment it lost: %r" % (victim, stale)
    assert not missing, "hits without a run record: %r" % missing[:5]
    assert lost == 0, "fire_all jobs missed %d scheduled times: gaps %r" % (lost, gaps)


if __name__ == "__main__":
    run_scenario(scenario, workers=2)
