#!/usr/bin/env python3
"""The worker's metrics.bind and a standby's /metrics. What a user must see:

- a worker started with --metrics-bind answers GET /metrics there, in a
  format promtool accepts, and hourglass_worker_runs_total{status} equals
  the run rows of the runs it executed (successes and failures); any other
  path is 404;
- a standby master's /metrics says hourglass_leader 0 with the leader's
  epoch and its own process figures, and holds no per-job series;
- a master started with --metrics-public true serves /metrics without a
  token (the standby here), and one without it answers 401 (the leader)."""

import os
import shutil
import subprocess
import time
import urllib.request

from harness import Proc, free_port, log, run_scenario


def get(url, token=None):
    req = urllib.request.Request(url, headers={"Authorization": "Bearer " + token} if token else {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def samples(text):
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out


def promtool_ok(text):
    r = subprocess.run([shutil.which("promtool"), "check", "metrics"], input=text,
                       capture_output=True, text=True, timeout=60)
    return r.returncode == 0, r.stdout + r.stderr


def scenario(c):
    port = free_port()
    argv = c.worker_argv("worker-1") + ["--metrics-bind", "tcp://127.0.0.1:%d" % port]
    proc = Proc("worker-1", argv, os.path.join(c.log_dir, "worker-1.log"))
    c.workers["worker-1"] = proc
    proc.start(c._daemon_env())
    c.wait_workers(1)
    url = "http://127.0.0.1:%d" % port

    c.create_job("ok", "@every 500ms", c.hits.url("/ok"))
    c.create_job("bad", "@every 500ms", c.hits.url("/status/503"))
    time.sleep(4)
    for j in ("ok", "bad"):
        status, body = c.api("DELETE", "/api/v1/jobs/" + j)
        assert status in (200, 204), "delete %s: HTTP %s %s" % (j, status, body)

    def settled():
        rows = c.sql("SELECT status, COUNT(*) FROM runs GROUP BY status")
        db = {r[0]: int(r[1]) for r in rows}
        if "running" in db:
            return None
        status, text = get(url + "/metrics")
        assert status == 200, "worker /metrics: HTTP %s %s" % (status, text)
        s = samples(text)
        for st, n in db.items():
            if s.get('hourglass_worker_runs_total{status="%s"}' % st) != n:
                return None
        return db, text

    db, text = c.wait_until(settled, timeout=20, what="the worker's counters equal to the run rows")
    assert db.get("success") and db.get("failed"), "no successes and failures: %s" % db
    ok, out = promtool_ok(text)
    assert ok, "promtool check metrics (worker): %s" % out
    s = samples(text)
    assert s.get("hourglass_worker_session") == 1, "the worker says it has no session"
    assert s.get("process_resident_memory_bytes", 0) > 0, "no process figures"
    status, _ = get(url + "/other")
    assert status == 404, "worker /other: HTTP %s, want 404" % status
    log("worker metrics: %s; promtool accepts them" % db)

    # The standby (master-2 runs with --metrics-public true).
    status, text = get(c.master_urls[1] + "/metrics")
    assert status == 200, "standby /metrics without a token: HTTP %s %s" % (status, text)
    ok, out = promtool_ok(text)
    assert ok, "promtool check metrics (standby): %s" % out
    s = samples(text)
    lead = samples(get(c.master_urls[0] + "/metrics", c.token)[1])
    assert s.get("hourglass_leader") == 0, "the standby says hourglass_leader %s" % s.get("hourglass_leader")
    assert lead.get("hourglass_leader") == 1, "the leader says hourglass_leader %s" % lead.get("hourglass_leader")
    assert s.get("hourglass_epoch") == lead.get("hourglass_epoch"), \
        "standby epoch %s, leader's %s" % (s.get("hourglass_epoch"), lead.get("hourglass_epoch"))
    assert not any(k.startswith("hourglass_runs_total") for k in s), "the standby has per-job series"
    assert s.get("process_open_fds", 0) > 0, "the standby has no process figures"
    status, _ = get(c.master_urls[0] + "/metrics")
    assert status == 401, "leader /metrics without a token: HTTP %s, want 401" % status
    log("standby: hourglass_leader 0, epoch %d; leader without a token: 401" % s["hourglass_epoch"])


if __name__ == "__main__":
    # Master 2 is the standby with metrics.public; master_args go to both,
    # so the flag is added to master 2's command line alone (harness hook).
    import harness

    orig = harness.Cluster.master_argv

    def master_argv(self, index=0):
        argv = orig(self, index)
        return argv + (["--metrics-public", "true"] if index == 1 else [])

    harness.Cluster.master_argv = master_argv
    run_scenario(scenario, workers=0, masters=2)
