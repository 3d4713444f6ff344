#!/usr/bin/env python3
"""A worker frozen (SIGSTOP) while its runs are at the endpoint is declared
lost: the master closes those runs as "lost". When the worker wakes, the
endpoint's answers are waiting for it, the runs end with success, and the
worker's own records must replace the master's "lost" ones in the history.

This once crashed the worker: the master acknowledged its own "lost"
records to the worker that held the real ones, and the worker freed a
record it was about to send. Several runs end at the wake-up at once, to
give that race every chance; the test repeats the freeze."""

import signal
import time

from harness import log, norm_run_id, run_scenario

JOBS = ("held-a", "held-b", "held-c")
DELAY_MS = 1500  # the endpoint answers each run this long after it arrives
ROUNDS = 2


def scenario(c):
    # Six-field cron: all three fire at the same seconds.
    for job in JOBS:
        c.create_job(job, "*/4 * * * * *", c.hits.url("/%s?delay_ms=%d" % (job, DELAY_MS)),
                     timeout="30s")
    worker = next(iter(c.workers))
    proc = c.workers[worker]
    frozen_runs = []
    for rnd in range(ROUNDS):
        # Freeze as soon as one scheduled time of every job is at the endpoint.
        seen = c.hits.count()

        def in_flight():
            fresh = c.hits.hits()[seen:]
            by_time = {}
            for h in fresh:
                by_time.setdefault(h["scheduled_at"], {})[h["job"]] = h
            full = [v for v in by_time.values() if len(v) == len(JOBS)]
            return full[0] if full else None

        hits = c.wait_until(in_flight, timeout=20, interval=0.02,
                            what="a run of every job at the endpoint")
        proc.send_signal(signal.SIGSTOP)
        ids = {norm_run_id(h["run_id"]): job for job, h in hits.items()}
        log("round %d: froze %s with %d runs at the endpoint" % (rnd + 1, worker, len(ids)))
        try:
            def closed_lost():
                rows = {r["run_id"]: r for j in JOBS for r in c.runs_in_db(j)}
                return all(rows.get(i, {}).get("status") == "lost" for i in ids)
            c.wait_until(closed_lost, timeout=20, interval=0.1,
                         what="the master to close the frozen runs as lost")
            time.sleep(0.3)  # the master's acknowledgement, if any, is queued too
        finally:
            proc.send_signal(signal.SIGCONT)
        log("round %d: runs closed lost; %s woken" % (rnd + 1, worker))

        def replaced():
            rows = {r["run_id"]: r for j in JOBS for r in c.runs_in_db(j)}
            return rows if all(rows.get(i, {}).get("status") == "success" for i in ids) else None
        rows = c.wait_until(replaced, timeout=20, interval=0.1,
                            what="the worker's own records of the frozen runs")
        for run_id, job in ids.items():
            r = rows[run_id]
            assert r["http_status"] == 200, "run %s: HTTP status %r" % (run_id, r["http_status"])
            assert r["node"] == worker, "run %s: node %r, want %s" % (run_id, r["node"], worker)
            assert r["error"] in (None, ""), "run %s kept an error: %r" % (run_id, r["error"])
            assert run_id in {x["run_id"] for x in c.runs_in_db(job)}, \
                "run %s is not in the history of %s" % (run_id, job)
        frozen_runs.extend(ids)
        c.wait_until(lambda: worker in c.active_nodes(), timeout=20,
                     what="%s to rejoin" % worker)
        assert proc.running(), "%s died after its wake-up" % worker

    # Everything the endpoint saw has its record, none left lost or running.
    # A run fired meanwhile is in the history once it ends or has run
    # store.start_write_after (issue 14): wait for its record.
    def all_recorded():
        rows = {r["run_id"]: r for j in JOBS for r in c.runs_in_db(j)}
        missing = [h["run_id"] for h in c.hits.hits() if norm_run_id(h["run_id"]) not in rows]
        return (rows, missing)

    time.sleep(1.5)
    try:
        rows, missing = c.wait_until(lambda: (lambda r: r if not r[1] else None)(all_recorded()),
                                     timeout=10, interval=0.2, what="a record of every hit")
    except AssertionError:
        rows, missing = all_recorded()
    lost = [i for i in frozen_runs if rows[i]["status"] != "success"]
    log("%d frozen runs, all recorded success by %s; %d hits, %d without a record"
        % (len(frozen_runs), worker, c.hits.count(), len(missing)))
    assert not lost, "frozen runs not recorded as success: %r" % lost
    assert not missing, "hits without a run record: %r" % missing[:5]


if __name__ == "__main__":
    run_scenario(scenario, workers=1)
