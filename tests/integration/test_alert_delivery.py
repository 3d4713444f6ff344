#!/usr/bin/env python3
"""Alerts (issue 12) over a webhook and e-mail, with real processes.

Four rules, made with the CLI, watch three failing jobs:
- every-fail (webhook) and mail-fail (SMTP), without dedup, on the job
  "flaky" that always fails: exactly one alert per failed run on each
  channel (the run ids match the failed runs in MySQL, none twice), every
  webhook body verifies against its HMAC-SHA256 signature (and a changed
  body does not), carries a Slack-style "text"; each e-mail has a plain
  and an HTML part naming the run, its error and a dashboard link.
- flap, on "flap" whose endpoint answers 500, 200, 500, ...: one "failed"
  and one "recovered", however often it flaps (dedup + silence).
- thresh (3 failures within 1 h) on "thr": one alert, not one per 3.
Reading a rule never shows its secret. `alert test` delivers a test
message on each channel, and `alert history` lists the deliveries sent.
A viewer token cannot create a rule (403)."""

import json
import os

from alertsink import SmtpSink, WebhookSink
from harness import free_port, log, norm_run_id, run_scenario

SECRET = "s3cret-key-for-hmac-0123456789"
BOUND_S = 30  # guards against hangs, not a measurement


def failed_runs(c, job):
    return [r for r in c.runs_in_db(job) if r["status"] == "failed"]


def finished(c, job):
    runs = c.runs_in_db(job)
    return runs and all(r["status"] != "running" for r in runs)


def create_rules(c, hook, smtp, secret_file):
    common = ["--secret-file", secret_file]
    rules = [
        ["every-fail", "--event", "failed", "--job", "flaky", "--webhook", hook.url("/every"),
         "--no-dedup"] + common,
        ["mail-fail", "--event", "failed", "--job", "flaky", "--smtp-url", smtp.url(), "--from",
         "hourglass@example.test", "--to", "ops@example.test", "--starttls", "none", "--no-dedup"],
        ["flap", "--event", "failed", "--event", "recovered", "--job", "fl?p", "--webhook",
         hook.url("/flap"), "--silence", "1h"] + common,
        ["thresh", "--event", "failed", "--job", "thr", "--webhook", hook.url("/thr"),
         "--threshold", "3", "--window", "1h", "--no-dedup"] + common,
    ]
    for r in rules:
        rc, out, err = c.cli("alert", "create", *r)
        assert rc == 0, "alert create %s: exit %d: %s" % (r[0], rc, err)
    listed = c.cli_json("alert", "list")["alerts"]
    assert sorted(a["name"] for a in listed) == ["every-fail", "flap", "mail-fail", "thresh"], listed


def check_secrets_and_roles(c):
    status, rule = c.api("GET", "/api/v1/alerts/every-fail")
    assert status == 200, (status, rule)
    assert SECRET not in json.dumps(rule), "the webhook secret is shown: %s" % rule
    assert rule["channel"]["secret"] == "<redacted>", rule
    status, tok = c.api("POST", "/api/v1/tokens", {"name": "watcher", "role": "viewer"})
    assert status == 201, tok
    status, body = c.api("POST", "/api/v1/alerts", {"name": "x", "events": ["failed"], "channel": {
        "type": "webhook", "url": "http://127.0.0.1:1/x", "secret": SECRET}}, token=tok["token"])
    assert status == 403, "a viewer created an alert rule: %s %s" % (status, body)
    status, body = c.api("POST", "/api/v1/alerts", {"name": "bad", "events": ["failed"], "channel": {
        "type": "webhook", "url": "gopher://x", "secret": SECRET}})
    assert status == 400 and body["error"].get("field") == "channel.url", (status, body)
    status, body = c.api("GET", "/api/v1/audit")
    assert any(a["action"] == "alert.create" and a["object"] == "every-fail" for a in body["audit"]), body


def check_webhook(c, hook):
    runs = {r["run_id"]: r for r in failed_runs(c, "flaky")}
    alerts = [a for a in hook.alerts("/every") if a["json"]["event"] == "failed"]
    ids = [norm_run_id(a["json"]["run"]["run_id"]) for a in alerts]
    log("flaky: %d failed runs, %d webhook alerts" % (len(runs), len(alerts)))
    assert len(ids) == len(set(ids)), "a run alerted twice: %s" % sorted(ids)
    assert set(ids) == set(runs), "alerts %s != failed runs %s" % (sorted(ids), sorted(runs))
    for a in hook.alerts():
        assert WebhookSink.verify(SECRET, a), "signature does not verify: %r" % a["headers"]
    forged = dict(alerts[0], raw=alerts[0]["raw"].replace(b"failed", b"fai1ed"))
    assert not WebhookSink.verify(SECRET, forged), "a changed body still verifies"
    doc = alerts[0]["json"]
    assert doc["text"].startswith("[hourglass] failed: default/flaky"), doc
    assert doc["job"]["name"] == "flaky" and doc["run"]["status"] == "failed", doc
    assert doc["link"].endswith("/runs/" + doc["run"]["run_id"]), doc


def check_email(c, smtp):
    runs = {r["run_id"]: r for r in failed_runs(c, "flaky")}
    mails = [m for m in smtp.received() if "test" not in m["msg"]["Subject"]]
    log("flaky: %d e-mails" % len(mails))
    assert len(mails) == len(runs), "%d e-mails for %d failed runs" % (len(mails), len(runs))
    seen = set()
    for m in mails:
        assert m["to"] == ["ops@example.test"] and m["from"] == "hourglass@example.test", m
        assert m["msg"]["Subject"] == "[hourglass] failed: default/flaky", m["msg"]["Subject"]
        plain, html = SmtpSink.bodies(m["msg"])
        assert plain and html, "not a plain + HTML message: %s" % m["msg"].get_content_type()
        rid = [l.split(": ", 1)[1] for l in plain.splitlines() if l.startswith("Run: ")][0]
        seen.add(norm_run_id(rid))
        assert "Error: " in plain and "Dashboard: http" in plain, plain
        assert rid in html and "<a href=" in html, html
    assert seen == set(runs), "e-mails name runs %s, failed runs are %s" % (sorted(seen), sorted(runs))


def scenario(c):
    hook = WebhookSink()
    smtp = SmtpSink(free_port())
    secret_file = os.path.join(c.data_dir, "hook.secret")
    with open(secret_file, "w") as f:
        f.write(SECRET + "\n")
    os.chmod(secret_file, 0o600)
    try:
        create_rules(c, hook, smtp, secret_file)
        check_secrets_and_roles(c)
        # The leader reloads the rules every second; runs before that are
        # not what this test counts.
        c.wait_until(lambda: "engine started" in open(c.master.log_path).read(), timeout=BOUND_S,
                     what="the alert engine")
        import time
        time.sleep(2)
        c.create_job("flaky", "@every 1s", hook.url("/fail"))
        c.create_job("flap", "@every 1s", hook.url("/flap"))
        c.create_job("thr", "@every 1s", hook.url("/fail"))
        c.wait_until(lambda: len(failed_runs(c, "thr")) >= 7 and len(failed_runs(c, "flap")) >= 3,
                     timeout=BOUND_S, what="7 failures of thr, 3 of flap")
        for job in ("flaky", "flap", "thr"):
            status, body = c.api("POST", "/api/v1/jobs/%s/pause" % job)
            assert status == 200, (job, status, body)
        for job in ("flaky", "flap", "thr"):
            c.wait_until(lambda: finished(c, job), timeout=BOUND_S, what="%s's runs to end" % job)
        n = len(failed_runs(c, "flaky"))
        c.wait_until(lambda: len([a for a in hook.alerts("/every")]) >= n
                     and len(smtp.received()) >= n, timeout=BOUND_S,
                     what="%d alerts on each channel" % n)
        time.sleep(2)  # anything more would arrive now: doubles must show
        check_webhook(c, hook)
        check_email(c, smtp)

        flap = [a["json"]["event"] for a in hook.alerts("/flap")]
        statuses = [r["status"] for r in c.runs_in_db("flap")]
        log("flap: runs %s -> alerts %s" % (" ".join(statuses), flap))
        assert flap == ["failed", "recovered"], "flapping job gave alerts %s" % flap
        thr = hook.alerts("/thr")
        log("thr: %d failures -> %d alert(s)" % (len(failed_runs(c, "thr")), len(thr)))
        assert len(thr) == 1, "threshold rule sent %d alerts" % len(thr)

        rc, out, err = c.cli("alert", "test", "every-fail")
        assert rc == 0, "alert test: exit %d: %s %s" % (rc, out, err)
        assert [a["json"]["event"] for a in hook.alerts("/every")].count("test") == 1
        rc, out, err = c.cli("alert", "test", "mail-fail")
        assert rc == 0, "alert test (email): exit %d: %s %s" % (rc, out, err)
        assert any("test" in m["msg"]["Subject"] or "test" in SmtpSink.bodies(m["msg"])[0]
                   for m in smtp.received()), "no test e-mail"
        hist = c.cli_json("alert", "history", "every-fail")["deliveries"]
        sent = [d for d in hist if d["status"] == "sent"]
        assert len(sent) == n + 1, "history: %d sent, want %d: %s" % (len(sent), n + 1, hist)
        rc, out, err = c.cli("alert", "history")
        assert rc == 0 and "every-fail" in out and "mail-fail" in out, out
        rc, out, err = c.cli("alert", "delete", "thresh")
        assert rc == 0, err
        assert c.api("GET", "/api/v1/alerts/thresh")[0] == 404
    finally:
        hook.stop()
        smtp.stop()


if __name__ == "__main__":
    run_scenario(scenario, workers=1)
