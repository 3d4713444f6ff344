#!/usr/bin/env python3
"""MySQL unreachable longer than the master's memory buffer lasts: run
records spill to a file in the master's data directory, the workers get
their ACKs anyway (their unacknowledged count stays small), and when MySQL
is back every run is in the history exactly once. Then the same with the
master killed (-9) while records sit in the spill file: the restarted
master replays the file.

The master reaches MySQL through a TCP relay this test owns (the shared
MariaDB keeps running); store.buffer_max is tiny so the spill starts at
once."""

import collections
import os
import signal
import time

from harness import Relay, log, norm_run_id, run_scenario

JOBS = ("spill-a", "spill-b", "spill-c")
BUFFER_MAX = 4  # records the master keeps in memory while MySQL is down
OUTAGE_S = 8.0

RELAY = Relay(os.environ.get("HOURGLASS_MYSQL_PORT", "3317"))


def unacked_total(c):
    return sum(int(n.get("unacked") or 0) for n in c.nodes() if n.get("state") == "active")


def spill_size(c):
    try:
        return os.path.getsize(c.spill_path)
    except OSError:
        return 0


def master_log(c):
    with open(c.master.log_path, "rb") as f:
        return f.read().decode("utf-8", errors="replace")


def check_history(c, hits, what):
    """Every hit has its run row, no run row is there twice for one
    scheduled time. Returns (lost, duplicated) counts."""
    lost = dup = 0
    for job in JOBS:
        rows = c.runs_in_db(job)
        ids = {r["run_id"] for r in rows}
        job_hits = [h for h in hits if h["job"] == job]
        missing = [h for h in job_hits if norm_run_id(h["run_id"]) not in ids]
        lost += len(missing)
        per_time = collections.Counter(r["scheduled_at"] for r in rows if r["trigger"] in ("schedule", "misfire"))
        dup += sum(n - 1 for n in per_time.values() if n > 1)
        running = [r for r in rows if r["status"] == "running" and r["scheduled_at"] < time.time() - 10]
        assert not running, "%s: runs of %s left running: %r" % (what, job, running[:3])
    log("%s: %d hits, %d without a run row (lost), %d scheduled times recorded twice"
        % (what, len(hits), lost, dup))
    return lost, dup


def wait_recorded(c, hits, what):
    def all_there():
        for job in JOBS:
            ids = {r["run_id"] for r in c.runs_in_db(job)}
            if any(norm_run_id(h["run_id"]) not in ids for h in hits if h["job"] == job):
                return False
        return True
    c.wait_until(all_there, timeout=40, interval=0.5, what="every hit of %s to have its run row" % what)


def outage(c, label):
    """Cut MySQL; wait until records spill and the workers are acknowledged.
    Returns the number of hits during the outage."""
    before = c.hits.count()
    log("%s: cutting the master off MySQL" % label)
    RELAY.cut()
    c.wait_until(lambda: spill_size(c) > 8, timeout=20, what="the spill file to receive frames")
    log("%s: spill file %s appeared" % (label, c.spill_path))
    t_end = time.monotonic() + OUTAGE_S
    peak = 0
    while time.monotonic() < t_end:
        c.check_alive()
        peak = max(peak, unacked_total(c))
        time.sleep(0.5)
    during = c.hits.count() - before
    # Fresh heartbeats: the ACKs of spilled records have had time to land.
    time.sleep(1.5)
    unacked = unacked_total(c)
    log("%s: %d hits during the outage; workers hold %d unacknowledged records (peak %d), "
        "spill file %d bytes" % (label, during, unacked, peak, spill_size(c)))
    assert during >= 12, "jobs stopped firing while MySQL was down (%d hits)" % during
    # Without the spill every record fired during the outage would still be
    # unacknowledged; with it, only those in the memory buffer (and the
    # ones in flight) are.
    assert unacked <= BUFFER_MAX + 6, \
        "workers still hold %d unacknowledged records after %d fires: spilled records were not ACKed" \
        % (unacked, during)
    return during


def scenario(c):
    for job in JOBS:
        c.create_job(job, "@every 1s", c.hits.url("/" + job))
    c.wait_until(lambda: all(c.hits.count("/" + j) >= 2 for j in JOBS), timeout=20,
                 what="2 hits of every job before the outage")

    # 1. Outage, spill, MySQL back: the file is replayed and removed.
    outage(c, "outage 1")
    RELAY.up()
    log("outage 1: MySQL reachable again")
    c.wait_until(lambda: not os.path.exists(c.spill_path), timeout=30,
                 what="the spill file to be replayed and removed")
    hits = c.hits.hits()
    wait_recorded(c, hits, "outage 1")
    assert "replayed" in master_log(c), "no replay reported in the master log"
    lost1, dup1 = check_history(c, hits, "outage 1")

    # 2. Outage, spill, then the master dies (-9) with the records on disk
    # only (the workers were acknowledged and forgot them).
    outage(c, "outage 2")
    size = spill_size(c)
    c.master.send_signal(signal.SIGKILL)
    c.master.popen.wait(10)
    hits = c.hits.hits()
    log("outage 2: master killed with a spill file of %d bytes; %d hits so far" % (size, len(hits)))
    assert os.path.exists(c.spill_path), "the spill file vanished with the master"
    RELAY.up()
    c.start_master()
    c.wait_workers(len(c.workers))
    c.wait_until(lambda: not os.path.exists(c.spill_path), timeout=30,
                 what="the restarted master to replay and remove the spill file")
    text = master_log(c)
    assert "from a previous run" in text, "the restarted master did not report the leftover spill file"
    wait_recorded(c, hits, "outage 2 + master kill")
    c.wait_until(lambda: all(c.hits.count("/" + j) >= len([h for h in hits if h["job"] == j]) + 2 for j in JOBS),
                 timeout=20, what="every job firing again after the restart")
    hits = c.hits.hits()
    wait_recorded(c, hits, "the runs after the restart")
    lost2, dup2 = check_history(c, hits, "outage 2 + master kill")
    assert (lost1, dup1, lost2, dup2) == (0, 0, 0, 0), "lost or duplicated runs"


if __name__ == "__main__":
    run_scenario(scenario, workers=2,
                 master_args=("--mysql-host", "127.0.0.1", "--mysql-port", str(RELAY.port),
                              "--store-buffer-max", str(BUFFER_MAX)))
