#!/usr/bin/env python3
"""Job dependencies (issue 11) on a real master and worker.

- Fan-in with trigger_rule all: a child of two plug-in parents fires once
  both have succeeded, not before, and receives each parent's result as
  the parameter parent.<job>.result (the echo plug-in child echoes its
  parameters, so its own result shows what it got). A second round fires
  it a second time, once again only when both parents have run again.
- trigger_rule any: each parent run fires the child once.
- on: failure fires on a failed parent run, and an on: success sibling
  does not.
- A job without a schedule but with parents is stored with "@never" and
  fires only through them.
(HTTP children, cycles, deletes and the tree: test_deps_graph.py.)
"""

import json
import os
import time
import unittest

from harness import BUILD_DIR, run_tests

TEST_PLUGINS = os.path.join(BUILD_DIR, "test-plugins")
WORKER_ARGS = ["--plugin-dir", "%s:%s" % (TEST_PLUGINS, BUILD_DIR), "--plugin-allow", "*"]
QUIET_S = 2  # how long "nothing more fires" is watched (the engine acts within 0.1 s)


def echo_job(name, params=None, schedule="@never", **extra):
    body = {"name": name, "kind": "plugin", "plugin": {"name": "hgtest_echo"}}
    if schedule:
        body["schedule"] = schedule
    if params:
        body["params"] = params
    body.update(extra)
    return body


class Deps(unittest.TestCase):
    cluster = None  # set by run_tests

    # ---- helpers ---------------------------------------------------------

    def create(self, body):
        status, job = self.cluster.api("POST", "/api/v1/jobs", body)
        self.assertEqual(status, 201, "create %s: %s" % (body["name"], job))
        return job

    def trigger(self, name):
        c = self.cluster

        def accepted():
            status, _ = c.api("POST", "/api/v1/jobs/%s/trigger" % name)
            return status == 202
        c.wait_until(accepted, timeout=15, what="trigger of %s to be accepted" % name)

    def finished(self, name):
        """Finished runs of a job in MySQL: (reason, status, output)."""
        rows = self.cluster.sql(
            "SELECT trigger_reason, status, output FROM runs WHERE job_name = '%s' AND "
            "status <> 'running' ORDER BY scheduled_at" % name)
        return [tuple(r) for r in rows]

    def wait_runs(self, name, n, timeout=25):
        return self.cluster.wait_until(lambda: len(self.finished(name)) >= n and self.finished(name),
                                       timeout=timeout, what="%d finished run(s) of %s" % (n, name))

    def assert_stays(self, name, n):
        time.sleep(QUIET_S)
        self.assertEqual(len(self.finished(name)), n, "%s: %s" % (name, self.finished(name)))

    # ---- cases -----------------------------------------------------------

    def test_fan_in_all_with_results(self):
        self.create(echo_job("fa", {"v": "from-fa"}))
        self.create(echo_job("fb", {"v": "from-fb"}))
        child = self.create(echo_job("fchild", schedule=None,
                                     depends_on=[{"job": "fa"}, {"job": "fb", "on": "success"}]))
        self.assertEqual(child["schedule"], "@never")
        self.assertEqual(child["trigger_rule"], "all")
        self.assertEqual(child["depends_on"], [{"job": "fa", "on": "success"},
                                               {"job": "fb", "on": "success"}])
        rc, out, err = self.cluster.cli("job", "get", "fchild")
        self.assertEqual(rc, 0, err)
        self.assertIn("fa (success), fb (success); trigger_rule all", out)
        self.trigger("fa")
        self.wait_runs("fa", 1)
        self.assert_stays("fchild", 0)  # fb has not run: no fire
        self.trigger("fb")
        runs = self.wait_runs("fchild", 1)
        reason, status, output = runs[0]
        self.assertEqual((reason, status), ("dependency", "success"), runs)
        self.assertIn("parent.fa.result=", output)
        self.assertIn("v=from-fa", output)
        self.assertIn("parent.fb.result=", output)
        self.assertIn("v=from-fb", output)
        self.assert_stays("fchild", 1)
        # Round two: fa twice, then fb: one more fire, not two.
        self.trigger("fa")
        self.wait_runs("fa", 2)
        self.trigger("fa")
        self.wait_runs("fa", 3)
        self.assert_stays("fchild", 1)
        self.trigger("fb")
        self.wait_runs("fchild", 2)
        self.assert_stays("fchild", 2)

    def test_any(self):
        self.create(echo_job("ya", {"v": "a"}))
        self.create(echo_job("yb", {"v": "b"}))
        self.create(echo_job("ychild", schedule=None, trigger_rule="any",
                             depends_on=[{"job": "ya"}, {"job": "yb"}]))
        self.trigger("ya")
        runs = self.wait_runs("ychild", 1)
        self.assertIn("parent.ya.result=", runs[0][2])
        self.assertNotIn("parent.yb.result=", runs[0][2])
        self.trigger("yb")
        self.wait_runs("ychild", 2)
        self.assert_stays("ychild", 2)

    def test_on_failure(self):
        self.create(echo_job("xf", {"fail": "on purpose"}))
        self.create(echo_job("xonfail", schedule=None, depends_on=[{"job": "xf", "on": "failure"}]))
        self.create(echo_job("xonok", schedule=None, depends_on=[{"job": "xf"}]))
        self.create(echo_job("xalways", schedule=None, depends_on=[{"job": "xf", "on": "always"}]))
        self.trigger("xf")
        runs = self.wait_runs("xf", 1)
        self.assertEqual(runs[0][1], "failed", runs)
        self.wait_runs("xonfail", 1)
        self.wait_runs("xalways", 1)
        self.assert_stays("xonok", 0)
        self.assertEqual(len(self.finished("xonfail")), 1)


if __name__ == "__main__":
    run_tests(Deps, workers=1, worker_args=WORKER_ARGS)
