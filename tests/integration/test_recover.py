#!/usr/bin/env python3
"""recover: true (Quartz's requests-recovery). A job whose runs are slow
loses its worker (kill -9) in the middle of a run: that run is closed as
"lost" in the history, and a run with trigger "recover", the same
scheduled time and attempt 2 succeeds on the other worker (the hit server
sees it with Hourglass-Attempt: 2). A graceful leave whose runs finish
within the grace time recovers nothing."""

import signal
import time

from harness import log, norm_run_id, parse_time, run_scenario

JOB = "recoverable"
PATH = "/recover"
DELAY_MS = 2500  # each run takes this long at the hit server


def scenario(c):
    c.create_job(JOB, "@every 3s", c.hits.url(PATH + "?delay_ms=%d" % DELAY_MS), recover=True,
                 timeout="30s")
    assert c.job(JOB)["recover"] is True, "GET should return recover: true"

    # Kill the holder while a run is at the hit server (it answers after DELAY_MS).
    first = c.wait_until(lambda: c.hits.hits(PATH), timeout=20, interval=0.05, what="a first hit")[0]
    holder = c.job_node(JOB)
    survivor = [n for n in c.workers if n != holder][0]
    c.kill_worker(holder)
    lost_id = norm_run_id(first["run_id"])
    scheduled = first["scheduled_at"]
    log("killed %s during run %s (scheduled %s)" % (holder, lost_id, scheduled))

    def recovered():
        rows = [r for r in c.runs_in_db(JOB) if r["trigger"] == "recover"]
        return rows if rows and all(r["status"] != "running" for r in rows) else None

    rows = c.wait_until(recovered, timeout=30, what="a finished run with trigger 'recover'")
    runs = {r["run_id"]: r for r in c.runs_in_db(JOB)}
    lost = runs.get(lost_id)
    assert lost is not None, "no run row for the interrupted run %s" % lost_id
    assert lost["status"] == "lost", "the interrupted run is %r, want 'lost'" % lost["status"]
    assert holder in (lost["error"] or ""), "the lost run's error should name %s: %r" % (holder, lost["error"])
    mine = [r for r in rows if abs(r["scheduled_at"] - parse_time(scheduled)) < 0.0015]
    assert len(mine) == 1, "want one recover run scheduled at %s, got %r" % (scheduled, rows)
    rec = mine[0]
    assert rec["status"] == "success", "the recover run is %r: %r" % (rec["status"], rec["error"])
    assert rec["node"] == survivor, "the recover run ran on %s, want %s" % (rec["node"], survivor)
    assert rec["attempt"] == "2", "the recover run has attempt %r, want 2" % rec["attempt"]
    hits = [h for h in c.hits.hits(PATH) if norm_run_id(h["run_id"]) == rec["run_id"]]
    assert len(hits) == 1 and hits[0]["attempt"] == "2" and hits[0]["scheduled_at"] == scheduled, \
        "the hit server should see the recover run once with attempt 2 and the lost run's " \
        "scheduled time: %r" % hits
    recover_runs = len(rows)
    log("run %s lost with %s; recover run %s on %s, same scheduled time, attempt 2, success"
        % (lost_id, holder, rec["run_id"], survivor))

    # A graceful leave with a run in flight that finishes within the grace
    # time: the run succeeds, nothing is lost, nothing is re-run.
    c.start_worker(holder)
    busy = c.wait_until(lambda: next((n["running"] for n in c.nodes() if n["name"] == survivor), 0),
                        timeout=15, interval=0.05, what="a run in flight on %s" % survivor)
    log("SIGTERM to %s with %d run(s) in flight" % (survivor, busy))
    stopped_at = time.time()
    rc = c.workers[survivor].stop(signal.SIGTERM)
    assert rc == 0, "%s exited with %r after SIGTERM" % (survivor, rc)
    c.wait_until(lambda: c.job_node(JOB) == holder, timeout=10, what="the job back on %s" % holder)
    c.wait_until(lambda: len([h for h in c.hits.hits(PATH) if h["time"] > stopped_at]) >= 2,
                 timeout=20, what="2 hits after the leave")
    runs = c.runs_in_db(JOB)
    after = [r for r in runs if r["trigger"] == "recover"]
    assert len(after) == recover_runs, "a graceful leave re-ran runs: %r" % after[recover_runs:]
    lost_now = [r for r in runs if r["status"] == "lost" and r["node"] == survivor]
    assert not lost_now, "runs of the leaving worker closed as lost: %r" % lost_now


if __name__ == "__main__":
    run_scenario(scenario, workers=2)
