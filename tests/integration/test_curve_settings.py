#!/usr/bin/env python3
"""The key settings refuse what is unsafe, and test mode still works.

- A worker without master.key refuses to start, saying what to set.
- insecure.plaintext is refused off loopback, by the worker and by the
  master.
- keygen writes a 0600 secret and never overwrites a key.
- A cluster in insecure.plaintext mode on loopback (tests only) still
  runs: its worker joins and fires a job."""

import os
import subprocess

from harness import MASTER_BIN, WORKER_BIN, free_port, log, run_scenario


def run(argv, env):
    r = subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env)
    log("%s -> %d: %s" % (" ".join(argv[:2]), r.returncode, (r.stderr or r.stdout).strip()[-300:]))
    return r


def scenario(c):
    c.create_job("plain", "@every 1s", c.hits.url("/plain"))
    c.wait_until(lambda: c.hits.count("/plain") >= 2, timeout=15, what="the plaintext cluster to fire")

    env = c._daemon_env()
    data = os.path.join(c.data_dir, "refusals")
    r = run([WORKER_BIN, "--name", "w-nokey", "--master", c.endpoint, "--data-dir", data], env)
    assert r.returncode == 2 and "master.key is not set" in r.stderr, "worker started without master.key"
    r = run([WORKER_BIN, "--name", "w-plain", "--master", "tcp://10.1.2.3:8643", "--data-dir", data,
             "--insecure-plaintext"], env)
    assert r.returncode == 2 and "not loopback" in r.stderr, "plaintext worker started off loopback"
    m = c.mysql
    r = run([MASTER_BIN, "--mysql-host", m["host"], "--mysql-port", str(m["port"]), "--mysql-user",
             m["user"], "--mysql-password", m["password"], "--mysql-database", c.db_name,
             "--api-port", str(free_port()), "--bind", "tcp://0.0.0.0:%d" % free_port(), "--data-dir", data,
             "--insecure-plaintext", "--mysql-wait", "5s"], env)
    assert r.returncode == 1 and "not a loopback endpoint" in (r.stdout + r.stderr), \
        "plaintext master started on a wildcard bind"

    out = os.path.join(data, "k", "w.key")
    r = run([WORKER_BIN, "keygen", "--name", "worker-9", "--out", out], env)
    assert r.returncode == 0
    assert os.stat(out + "_secret").st_mode & 0o777 == 0o600
    secret = open(out + "_secret").read()
    assert 'node = "worker-9"' in secret
    r = run([WORKER_BIN, "keygen", "--name", "worker-9", "--out", out], env)
    assert r.returncode != 0 and "not overwritten" in r.stderr
    assert open(out + "_secret").read() == secret
    r = run([WORKER_BIN, "keygen", "--out", out + "2"], env)
    assert r.returncode == 2 and "--name" in r.stderr


if __name__ == "__main__":
    run_scenario(scenario, workers=1, plaintext=True)
