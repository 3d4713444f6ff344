#!/usr/bin/env python3
"""Alerts (issue 12): a dead SMTP server loses no alert within the bound.

A rule e-mails every failure of "down" (fails every second) to an SMTP
port where nothing listens yet; the master keeps at most 3 deliveries
waiting (alerts.queue_max). The failures beyond the bound are recorded as
dropped and the master says so in its log ("delivery queue full"); the 3
queued ones stay pending, with their attempts and last error in
`hourglass alert history`. When the SMTP server comes up, exactly those 3
arrive, once each, and are marked sent. The cluster kept firing
throughout (delivery never blocks it)."""

import time

from alertsink import SmtpSink
from harness import free_port, log, run_scenario

QUEUE_MAX = 3
BOUND_S = 30  # guards against hangs, not a measurement


def history(c):
    return c.cli_json("alert", "history", "mail-down")["deliveries"]


def scenario(c):
    port = free_port()
    status, body = c.api("POST", "/api/v1/alerts", {
        "name": "mail-down", "job": "down", "events": ["failed"], "dedup": False,
        "channel": {"type": "email", "smtp_url": "smtp://127.0.0.1:%d" % port,
                    "from": "hourglass@example.test", "to": ["ops@example.test"],
                    "starttls": "none"}})
    assert status == 201, (status, body)
    time.sleep(2)  # the leader reloads its rules every second
    c.create_job("down", "@every 1s", c.hits.url("/status/500"))
    c.wait_until(lambda: len([d for d in history(c) if d["status"] == "dropped"]) >= 2,
                 timeout=BOUND_S, what="alerts beyond the bound to be dropped")
    status, body = c.api("POST", "/api/v1/jobs/down/pause")
    assert status == 200, (status, body)
    c.wait_until(lambda: all(r["status"] != "running" for r in c.runs_in_db("down")),
                 timeout=BOUND_S, what="down's runs to end")
    failed = [r for r in c.runs_in_db("down") if r["status"] == "failed"]
    hist = history(c)
    pending = [d for d in hist if d["status"] == "pending"]
    dropped = [d for d in hist if d["status"] == "dropped"]
    log("%d failed runs: %d deliveries pending, %d dropped" % (len(failed), len(pending), len(dropped)))
    assert len(pending) == QUEUE_MAX, hist
    assert len(pending) + len(dropped) == len(failed), (len(failed), hist)
    assert all(d["attempts"] >= 1 and d["last_error"] for d in pending), pending
    assert all(d["last_error"] == "queue full" for d in dropped), dropped
    with open(c.master.log_path) as f:
        text = f.read()
    assert "delivery queue full" in text, "the master did not log the full queue"

    smtp = SmtpSink(port)
    try:
        c.wait_until(lambda: len(smtp.received()) >= QUEUE_MAX, timeout=BOUND_S,
                     what="the %d queued alerts once SMTP is up" % QUEUE_MAX)
        c.wait_until(lambda: sum(d["status"] == "sent" for d in history(c)) == QUEUE_MAX,
                     timeout=BOUND_S, what="the deliveries to be marked sent")
        time.sleep(1.5)  # a double would arrive now
        got = smtp.received()
        log("SMTP up: %d e-mails received" % len(got))
        assert len(got) == QUEUE_MAX, "%d e-mails, want %d" % (len(got), QUEUE_MAX)
        runs = set()
        for m in got:
            plain, _ = SmtpSink.bodies(m["msg"])
            runs.add([l for l in plain.splitlines() if l.startswith("Run: ")][0])
        assert len(runs) == QUEUE_MAX, "an alert came twice: %s" % sorted(runs)
    finally:
        smtp.stop()


if __name__ == "__main__":
    run_scenario(scenario, workers=1, master_args=["--alerts-queue-max", str(QUEUE_MAX),
                                                   "--alerts-retry-backoff-max", "1s"])
