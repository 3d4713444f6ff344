#!/usr/bin/env python3
"""A restarted master reads every job back from MySQL exactly as it was
created: jobs that differ only in URL or parameters (which the master
keeps per job, sharing the rest) and jobs with a spec of their own all
run with their own URL, method, body, header and parameters on a worker
that never saw them before the restart."""

import signal

from harness import BUILD_DIR, log, run_scenario

SHELLS = 4  # plug-in jobs alike but for their parameters
WEBS = 3    # HTTP jobs alike but for their URL


def outputs(c, job):
    """Status and output of the job's runs on worker-2 (after the restart)."""
    rows = c.sql("SELECT status, output FROM runs WHERE job_name = '%s' AND node = 'worker-2'" % job)
    return [(s, o or "") for s, o in rows]


def scenario(c):
    for i in range(SHELLS):
        status, job = c.api("POST", "/api/v1/jobs", {
            "name": "sh-%d" % i, "schedule": "@every 1s", "kind": "plugin",
            "plugin": {"name": "shell", "isolation": "process"},
            "params": {"command": "/bin/echo", "args": "hello-%d" % i}})
        assert status == 201, "create sh-%d: %s %s" % (i, status, job)
    for i in range(WEBS):
        c.create_job("web-%d" % i, "@every 1s", c.hits.url("/web-%d" % i), method="POST",
                     body="payload")
    status, job = c.api("POST", "/api/v1/jobs", {
        "name": "odd", "schedule": "@every 1s", "params": {"unused": "1"},
        "http": {"method": "PUT", "url": c.hits.url("/odd"), "body": "other",
                 "headers": {"X-Odd": "yes"}}})
    assert status == 201, "create odd: %s %s" % (status, job)

    # The jobs run once on worker-1; then the master and worker-1 go, and a
    # worker that never held them gets everything from the restarted master.
    c.wait_until(lambda: all(c.hits.count("/web-%d" % i) >= 1 for i in range(WEBS)), timeout=20,
                 what="every HTTP job to fire")
    c.stop_master(signal.SIGKILL)
    c.kill_worker("worker-1")
    c.start_master()
    c.start_worker("worker-2")
    since = {p: c.hits.count(p) for p in ["/web-%d" % i for i in range(WEBS)] + ["/odd"]}

    def fired_again():
        return all(c.hits.count(p) >= n + 2 for p, n in since.items())
    c.wait_until(fired_again, timeout=30, what="every HTTP job to fire twice on worker-2")
    for p in since:
        hits = c.hits.hits(p)[since[p]:]
        for h in hits:
            if p == "/odd":
                assert h["method"] == "PUT" and h["body"] == "other", "odd after restart: %r" % h
                assert (h["headers"].get("X-Odd") or h["headers"].get("x-odd")) == "yes", \
                    "odd lost its header after the restart: %r" % h["headers"]
            else:
                assert h["method"] == "POST" and h["body"] == "payload", "%s after restart: %r" % (p, h)
    log("every HTTP job kept its URL, method, body and header across the restart")

    def echoed():
        return all(sum(1 for s, o in outputs(c, "sh-%d" % i)
                       if s == "success" and "hello-%d" % i in o) >= 2 for i in range(SHELLS))
    c.wait_until(echoed, timeout=30, interval=0.5, what="each shell job to echo its own parameter")
    for i in range(SHELLS):
        wrong = [o for s, o in outputs(c, "sh-%d" % i) if s == "success" and "hello-%d" % i not in o]
        assert not wrong, "sh-%d ran with another job's parameters: %r" % (i, wrong[:3])
    log("every shell job kept its own parameters across the restart")


if __name__ == "__main__":
    run_scenario(scenario, workers=1,
                 worker_args=["--plugin-dir", BUILD_DIR, "--plugin-allow", "shell"])
