#!/usr/bin/env python3
"""Plug-in trust (issue 10), real master, two real workers and the CLI.

A pushed plug-in named like a worker's local one does not shadow it: with
`shell` version 9 pushed (the bytes of the test plug-in "abort"), a
`shell` job that names no version still runs the worker's own shell,
while a job that asks for version 9 gets the pushed bytes. A worker whose plugin.allow
does not list shell (the default: noop,sql) fails a shell run at once,
saying so, and still runs noop."""

import os

from harness import BUILD_DIR, log, run_scenario

ABORT = os.path.join(BUILD_DIR, "test-plugins", "hgtest_abort.so")


def scenario(c):
    # worker-1 allows shell, worker-2 keeps the default list; both find
    # the shipped plug-ins (hg_<name>.so) in the build directory.
    c.worker_args = ["--plugin-dir", BUILD_DIR, "--plugin-allow", "noop, shell"]
    c.start_worker("worker-1")
    c.worker_args = ["--plugin-dir", BUILD_DIR]
    c.start_worker("worker-2")

    rc, out, err = c.cli("plugin", "push", ABORT, "--name", "shell", "--version", "9")
    assert rc == 0, "push: %s %s" % (out, err)

    def create(name, plugin, node, params=None):
        body = {"name": name, "schedule": "@every 1h", "kind": "plugin", "plugin": plugin,
                "executor": {"nodes": [node]}}
        if params:
            body["params"] = params
        status, job = c.api("POST", "/api/v1/jobs", body)
        assert status == 201, "create %s: %s" % (name, job)

    def run_of(name):
        def accepted():
            status, _ = c.api("POST", "/api/v1/jobs/%s/trigger" % name)
            return status == 202
        c.wait_until(accepted, timeout=20, what="trigger of %s to be accepted" % name)

        def finished():
            status, body = c.api("GET", "/api/v1/runs?job=%s&limit=5" % name)
            runs = [r for r in body["runs"] if r["status"] != "running"] if status == 200 else []
            return runs[-1] if runs else None
        run = c.wait_until(finished, timeout=30, what="a finished run of %s" % name)
        log("%s on %s: %s error=%r output=%r" % (name, run["node"], run["status"], run["error"],
                                                 (run["output"] or "")[:120]))
        return run

    echo = {"command": "echo", "args": "the local shell"}
    create("local-shell", {"name": "shell"}, "worker-1", echo)
    create("pushed-shell", {"name": "shell", "version": "9"}, "worker-1", echo)
    create("refused-shell", {"name": "shell"}, "worker-2", echo)
    create("allowed-noop", {"name": "noop"}, "worker-2")

    run = run_of("local-shell")
    assert run["status"] == "success", run
    assert "the local shell" in run["output"], run

    # The pushed bytes were loaded: they describe themselves as "abort".
    run = run_of("pushed-shell")
    assert run["status"] != "success" and "plug-in abort" in run["error"], run

    run = run_of("refused-shell")
    assert run["status"] == "failed", run
    assert run["error"] == "plug-in shell is not in this worker's plugin.allow", run
    assert run["node"] == "worker-2", run

    run = run_of("allowed-noop")
    assert run["status"] == "success", run


if __name__ == "__main__":
    run_scenario(scenario, workers=0)
