#!/usr/bin/env python3
"""Overlap "forbid" holds across a move of the job (issue 11): the
assignment carries the job's running count.

A job `overlap: forbid` whose run takes 4 s fires every second. Its holder
(worker A) is drained while a run is in flight. The job moves to worker B
at once, without waiting for that run (the master's ASSIGN tells B that
one run of the job is still in flight on another worker). While A's run
lasts, B's fires find the job running and are recorded `skipped` with an
"overlap: ..." error naming the run on another worker; once A's run has
ended (its record reached the master, which sends B the new count), B
fires normally. At the endpoint, no two runs of the job ever overlap.

Before this count existed, a drain kept the job on A until its run ended
(the old holder applied the policy meanwhile), so the job did not move
while the run was in flight, and B never skipped for a run elsewhere."""

import time

from harness import log, run_scenario
from overlap_util import overlaps

JOB = "fmove"
SLOW = "/slow/4000"


def hits(c):
    return [h for h in c.hits.hits(SLOW) if h["job"] == JOB]


def hit_by_id(c, run_id):
    return next((h for h in hits(c) if h["run_id"] == run_id), None)


def run_node(c, run_id):
    """The worker that ran the run (from its row), or None before it is stored."""
    rows = c.sql("SELECT node FROM runs WHERE run_id = UNHEX('%s')" % run_id.replace("-", ""))
    return rows[0][0] if rows else None


def scenario(c):
    c.create_job(JOB, "@every 1s", c.hits.url(SLOW), overlap="forbid")
    first = c.wait_until(lambda: c.job_node(JOB), timeout=20, what="the job to be placed")
    # A run that has just started, so that most of its 4 s are left.
    since = time.time()
    fresh = c.wait_until(
        lambda: next((h for h in hits(c) if h["time"] > since and not h.get("end")), None),
        timeout=15, interval=0.05, what="a run of the job to start")
    log("run %s started on %s; draining %s" % (fresh["run_id"], first, first))
    status, body = c.api("POST", "/api/v1/nodes/%s/drain" % first)
    assert status == 200, (status, body)
    holder = c.wait_until(lambda: (lambda n: n and n != first and n)(c.job_node(JOB)),
                          timeout=20, interval=0.05,
                          what="the job to move off the drained %s" % first)
    moved_at = time.time()
    # The hand-over passed the running count instead of waiting for the run.
    a_run = hit_by_id(c, fresh["run_id"])
    assert not a_run.get("end") or a_run["end"] > moved_at, (
        "the job moved to %s only after the run in flight on %s ended (%.2f s after it ended)"
        % (holder, first, moved_at - a_run["end"]))
    log("job moved to %s %.2f s after the run began, while it was still in flight"
        % (holder, moved_at - fresh["time"]))

    a_end = c.wait_until(lambda: (hit_by_id(c, fresh["run_id"]) or {}).get("end"), timeout=15,
                         interval=0.05, what="the run on %s to end" % first)
    # The new holder fires normally once that run is over.
    after = c.wait_until(
        lambda: next((h for h in hits(c) if h["time"] >= a_end - 0.05), None), timeout=15,
        interval=0.05, what="a run on %s after the one on %s ended" % (holder, first))
    log("first run after the move began %.2f s after the run on %s ended"
        % (after["time"] - a_end, first))
    assert after["time"] - a_end < 5.0, "the new holder stayed closed %.2f s after the run ended" % (
        after["time"] - a_end)
    node = c.wait_until(lambda: run_node(c, after["run_id"]), timeout=15,
                        what="the row of run %s" % after["run_id"])
    assert node == holder, "the run after the move ran on %s, not on the holder %s" % (node, holder)

    # The fires that found the job running on the other worker were skipped
    # on the new holder, as overlap.
    skipped = c.wait_until(
        lambda: (lambda r: r and r)(c.sql(
            "SELECT error FROM runs WHERE job_name = '%s' AND node = '%s' AND status = 'skipped'"
            % (JOB, holder))),
        timeout=15, what="skipped runs of %s in the history" % holder)
    log("%s skipped %d fire(s): %s" % (holder, len(skipped), skipped[0][0]))
    assert all(r[0].startswith("overlap: job running") for r in skipped), skipped
    assert any("1 on another worker" in r[0] for r in skipped), skipped

    now = time.time()
    all_hits = hits(c)
    bad = overlaps(all_hits, now)
    log("%d runs at the endpoint; overlaps: %r" % (len(all_hits), bad))
    assert not bad, "runs of a forbid job overlapped across the move: %r" % bad


if __name__ == "__main__":
    run_scenario(scenario, workers=2)
