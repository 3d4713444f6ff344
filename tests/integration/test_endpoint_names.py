#!/usr/bin/env python3
"""One name, one meaning (issue 15): HOURGLASS_MASTER is the CLI's REST
API URL; a worker takes the masters' ZeroMQ endpoints from
HOURGLASS_MASTER_ENDPOINTS (--master-endpoints).

What a user must see:
- a worker started in a shell set up for the CLI (HOURGLASS_MASTER=http://...)
  and given HOURGLASS_MASTER_ENDPOINTS joins the cluster and fires;
- a worker whose only master setting is HOURGLASS_MASTER=http://... refuses
  to start (exit 2) and says to set HOURGLASS_MASTER_ENDPOINTS;
- a worker given an HTTP URL in --master-endpoints refuses too;
- the CLI given HOURGLASS_MASTER=tcp://... refuses and says it is a
  worker's ZeroMQ endpoint;
- a master given an http:// bind refuses to start."""

import os
import subprocess

from harness import CLI_BIN, MASTER_BIN, WORKER_BIN, log, run_scenario


def scenario(c):
    c.create_job("named", "@every 1s", c.hits.url("/named"))
    # A shell set up for the CLI starts worker-2 with the new name.
    argv = c.worker_argv("worker-2")
    i = argv.index("--master-endpoints")
    del argv[i:i + 2]
    env = c._daemon_env()
    env["HOURGLASS_MASTER"] = c.api_url
    env["HOURGLASS_MASTER_ENDPOINTS"] = c.endpoint
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        c.wait_until(lambda: "worker-2" in c.active_nodes(), timeout=20,
                     what="worker-2 (HOURGLASS_MASTER_ENDPOINTS) to join")
    finally:
        proc.terminate()
        proc.wait(15)

    # Only the CLI's URL: refused, with the name to use.
    env = c._daemon_env()
    env["HOURGLASS_MASTER"] = c.api_url
    r = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=20)
    log("worker with HOURGLASS_MASTER=%s: exit %d: %s" % (c.api_url, r.returncode, r.stderr.strip()))
    assert r.returncode == 2, r
    assert "HOURGLASS_MASTER_ENDPOINTS" in r.stderr and "HTTP URL" in r.stderr, r.stderr

    r = subprocess.run(argv + ["--master-endpoints", c.api_url], env=c._daemon_env(),
                       capture_output=True, text=True, timeout=20)
    assert r.returncode == 2 and "master.endpoints" in r.stderr, r

    env = dict(os.environ, HOURGLASS_MASTER=c.endpoint)
    r = subprocess.run([CLI_BIN, "job", "list"], env=env, capture_output=True, text=True,
                       timeout=20)
    log("CLI with HOURGLASS_MASTER=%s: exit %d: %s" % (c.endpoint, r.returncode, r.stderr.strip()))
    assert r.returncode != 0 and "ZeroMQ endpoint" in r.stderr, r

    r = subprocess.run([MASTER_BIN, "--bind", "http://127.0.0.1:1"], env=c._daemon_env(),
                       capture_output=True, text=True, timeout=20)
    assert r.returncode == 2 and "bind" in r.stderr, r
    assert os.access(WORKER_BIN, os.X_OK)


if __name__ == "__main__":
    run_scenario(scenario, workers=1)
