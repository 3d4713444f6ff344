#!/usr/bin/env python3
"""The `late` alert event (issue 12): a run that started more than the
rule's threshold after its scheduled time is alerted, once, and a run that
started on time is not.

"jittery" fires every 3 s with a jitter of 2 s: each fire waits a random
delay in [0, 2 s] after its scheduled time, and keeps that scheduled time,
so about three runs in four start more than 500 ms late (all of a few
may). "punctual" fires
every second without jitter. One rule (late > 500 ms, no dedup) watches
both jobs. The runs alerted must be exactly the runs whose started_at -
scheduled_at in MySQL exceeds 500 ms, each alerted once, none of
"punctual"'s."""

from alertsink import WebhookSink
from harness import log, norm_run_id, run_scenario

LATE_MS = 500
WANT_LATE = 4
BOUND_S = 60  # guards against hangs, not a measurement


def lateness(c, job):
    """{run_id: started_at - scheduled_at in ms} of the job's finished runs."""
    rows = c.sql("SELECT LOWER(HEX(run_id)), TIMESTAMPDIFF(MICROSECOND, scheduled_at, started_at)"
                 " FROM runs WHERE job_name = '%s' AND status <> 'running'"
                 " AND started_at IS NOT NULL" % job)
    return {r[0]: int(r[1]) / 1000.0 for r in rows}


def scenario(c):
    hook = WebhookSink()
    try:
        status, body = c.api("POST", "/api/v1/alerts", {
            "name": "late-starts", "events": ["late"], "late": "%dms" % LATE_MS, "job": "*",
            "dedup": False, "channel": {"type": "webhook", "url": hook.url("/late"),
                                                      "secret": "late-alert-key-0123456789"}})
        assert status == 201, "create rule: HTTP %s %s" % (status, body)
        c.create_job("jittery", "@every 3s", c.hits.url("/j"), jitter="2s")
        c.create_job("punctual", "@every 1s", c.hits.url("/p"))

        def late_runs():
            return {k: v for k, v in lateness(c, "jittery").items() if v > LATE_MS}
        c.wait_until(lambda: len(late_runs()) >= WANT_LATE, timeout=BOUND_S, interval=0.5,
                     what="%d runs of jittery more than %d ms late" % (WANT_LATE, LATE_MS))
        c.api("POST", "/api/v1/jobs/jittery/pause", {})
        c.api("POST", "/api/v1/jobs/punctual/pause", {})
        want = late_runs()

        def alerted():
            got = [a["json"] for a in hook.alerts("/late") if a["json"]]
            return [norm_run_id(a["run"]["run_id"]) for a in got if a.get("event") == "late"]
        c.wait_until(lambda: set(want) <= set(alerted()), timeout=BOUND_S, interval=0.5,
                     what="a late alert for each of %d late runs" % len(want))
        ids = alerted()
        jit, punct = lateness(c, "jittery"), lateness(c, "punctual")
        log("jittery: %d runs, %d more than %d ms late; punctual: %d runs (max %.0f ms late); "
            "%d late alerts" % (len(jit), len(want), LATE_MS, len(punct),
                                max(punct.values() or [0]), len(ids)))
        assert len(ids) == len(set(ids)), "a run was alerted twice: %s" % sorted(ids)
        on_time = [i for i in ids if i in jit and jit[i] <= LATE_MS]
        assert not on_time, "runs alerted late that started within %d ms: %s" % (
            LATE_MS, [(i, jit[i]) for i in on_time])
        wrong_job = [i for i in ids if i in punct and punct[i] <= LATE_MS]
        assert not wrong_job, "punctual runs alerted late: %s" % wrong_job
        # The contrast is the punctual job: it ran, started on time, and
        # none of its runs was alerted (a jittered run is late with
        # probability 3/4, so all of a few may be).
        assert len(punct) >= 5 and max(punct.values()) <= LATE_MS, punct
        assert not set(ids) & set(punct), "punctual runs alerted late"
    finally:
        hook.stop()


if __name__ == "__main__":
    run_scenario(scenario, workers=1)
