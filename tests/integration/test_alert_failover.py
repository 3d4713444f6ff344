#!/usr/bin/env python3
"""Alerts (issue 12) across a master failover, a dead receiver, and the
dead-man switch, with two real masters and one worker.

1. Failover: a rule alerts every failure of "ff" (fails every second)
   over a webhook. The webhook answers 503 for a while (deliveries wait and
   retry), and meanwhile the leader is killed (SIGKILL). The standby leads,
   the webhook comes back: every failed run in MySQL got exactly one alert
   accepted by the webhook, none dropped, none doubled.
2. Missed: a rule with "missed" (3 s) and "recovered" watches "beat"
   (succeeds every second). The worker is killed, so "beat" cannot run:
   one "missed" alert comes. The worker is restarted: one "recovered"."""

import time

from alertsink import WebhookSink
from harness import log, norm_run_id, run_scenario

SECRET = "failover-secret-0123456789abcdef"
BOUND_S = 30  # guards against hangs, not a measurement


def rule(name, job, url, events, **extra):
    body = {"name": name, "job": job, "events": events,
            "channel": {"type": "webhook", "url": url, "secret": SECRET}}
    body.update(extra)
    return body


def failed_ids(c, job):
    return {r["run_id"] for r in c.runs_in_db(job) if r["status"] == "failed"}


def leader_index(c):
    for i in range(2):
        if (c.health(i) or {}).get("role") == "leader":
            return i
    return None


def failover(c, hook):
    status, body = c.api("POST", "/api/v1/alerts", rule("ff", "ff", hook.url("/ff"), ["failed"],
                                                        dedup=False))
    assert status == 201, (status, body)
    time.sleep(2)  # the leader reloads its rules every second
    c.create_job("ff", "@every 1s", hook.url("/fail"))
    c.wait_until(lambda: len(hook.alerts("/ff")) >= 2, timeout=BOUND_S, what="2 alerts for ff")
    hook.status = 503  # the receiver is down across the failover
    time.sleep(1.5)
    killed = c.kill_master(0)
    c.wait_until(lambda: leader_index(c) == 1, timeout=BOUND_S, what="master-2 to lead")
    c.use_master(1)
    log("master-2 leads %.1f s after the kill" % (time.time() - killed))
    before = len(failed_ids(c, "ff"))
    c.wait_until(lambda: len(failed_ids(c, "ff")) >= before + 2, timeout=BOUND_S,
                 what="2 more failures of ff under master-2")
    refused = len(hook.alerts("/ff", refused=True)) - len(hook.alerts("/ff"))
    hook.status = 200
    status, body = c.api("POST", "/api/v1/jobs/ff/pause")
    assert status == 200, (status, body)
    c.wait_until(lambda: all(r["status"] != "running" for r in c.runs_in_db("ff")),
                 timeout=BOUND_S, what="ff's runs to end")
    want = failed_ids(c, "ff")
    c.wait_until(lambda: len(hook.alerts("/ff")) >= len(want), timeout=BOUND_S,
                 what="an alert for each of %d failed runs" % len(want))
    time.sleep(2)  # a double would arrive now
    got = [norm_run_id(a["json"]["run"]["run_id"]) for a in hook.alerts("/ff")]
    log("ff: %d failed runs, %d alerts accepted, %d deliveries refused while the receiver was down"
        % (len(want), len(got), refused))
    assert refused > 0, "the receiver was never called while down: the retry was not exercised"
    assert len(got) == len(set(got)), "alert doubled: %s" % sorted(got)
    assert set(got) == want, "alerts for %s, failed runs %s" % (sorted(set(got)), sorted(want))
    for a in hook.alerts("/ff", refused=True):
        assert WebhookSink.verify(SECRET, a)


def missed(c, hook):
    status, body = c.api("POST", "/api/v1/alerts", rule("deadman", "beat", hook.url("/beat"),
                                                        ["missed", "recovered"], missed="3s"))
    assert status == 201, (status, body)
    c.create_job("beat", "@every 1s", hook.url("/ok"))
    c.wait_until(lambda: sum(r["status"] == "success" for r in c.runs_in_db("beat")) >= 3,
                 timeout=BOUND_S, what="3 successes of beat")
    assert hook.alerts("/beat") == [], "alerts while beat runs: %s" % hook.alerts("/beat")
    stopped = c.kill_worker("worker-1")
    c.wait_until(lambda: hook.alerts("/beat"), timeout=BOUND_S, what="a missed alert")
    first = hook.alerts("/beat")[0]
    log("missed alert %.1f s after the worker was killed: %s"
        % (first["time"] - stopped, first["json"]["text"]))
    assert first["json"]["event"] == "missed", first["json"]
    time.sleep(2.5)  # more missed fires: still one alert (dedup)
    assert len(hook.alerts("/beat")) == 1, [a["json"]["event"] for a in hook.alerts("/beat")]
    c.start_worker("worker-1")
    c.wait_until(lambda: len(hook.alerts("/beat")) >= 2, timeout=BOUND_S,
                 what="a recovered alert")
    time.sleep(1.5)
    events = [a["json"]["event"] for a in hook.alerts("/beat")]
    assert events == ["missed", "recovered"], events


def scenario(c):
    hook = WebhookSink()
    try:
        failover(c, hook)
        missed(c, hook)
    finally:
        hook.stop()


if __name__ == "__main__":
    run_scenario(scenario, workers=1, masters=2, master_args=["--alerts-missed-interval", "1s"])
