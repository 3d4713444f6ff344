#!/usr/bin/env python3
"""Job dependencies (issue 11), the graph and HTTP children, on a real
master and worker.

- An HTTP child gets its parent's result in a JSON body member or in a
  header, as its http.parent_results asks; a manual trigger cannot set
  the reserved parameters that carry them.
- Cycles are refused at create naming the path (a batch a -> b -> c -> a;
  a job naming itself), as is a parent that does not exist.
- Deleting a parent with dependents is refused with 409 naming them; with
  cascade=true the dependents go too. GET /api/v1/jobs/{name}/tree and
  `hourglass job tree` show parents and children.
"""

import json
import unittest

from harness import run_tests
from test_deps import WORKER_ARGS, Deps as _Base, echo_job


class DepsGraph(unittest.TestCase):
    cluster = None  # set by run_tests
    create = _Base.create
    trigger = _Base.trigger

    def test_http_child_gets_results(self):
        c = self.cluster
        self.create(echo_job("ha", {"v": "from-ha"}))
        self.create({"name": "hbody", "depends_on": [{"job": "ha"}],
                     "http": {"method": "POST", "url": c.hits.url("/hbody"), "body": '{"k": 1}',
                              "parent_results": {"body_field": "parents"}}})
        self.create({"name": "hheader", "depends_on": [{"job": "ha"}],
                     "http": {"url": c.hits.url("/hheader"),
                              "parent_results": {"header": "X-Parents"}}})
        status, body = c.api("POST", "/api/v1/jobs", {
            "name": "hbad", "depends_on": [{"job": "ha"}],
            "http": {"url": c.hits.url("/x"), "body": "not json",
                     "parent_results": {"body_field": "parents"}}})
        self.assertEqual(status, 400, body)
        self.assertEqual(body["error"]["field"], "http.parent_results.body_field")
        # Reserved parameter names are the engine's, not a manual trigger's.
        status, body = c.api("POST", "/api/v1/jobs/hbody/trigger",
                             {"params": {"hourglass.body": "{}"}})
        self.assertEqual(status, 400, body)
        self.trigger("ha")
        c.wait_until(lambda: c.hits.count("/hbody") >= 1 and c.hits.count("/hheader") >= 1,
                     timeout=25, what="both HTTP children to fire")
        hit = c.hits.hits("/hbody")[0]
        doc = json.loads(hit["body"])
        self.assertEqual(doc["k"], 1)
        self.assertIn("v=from-ha", doc["parents"]["ha"])
        self.assertIn("application/json", hit["headers"]["Content-Type"])
        hit = c.hits.hits("/hheader")[0]
        parents = json.loads(hit["headers"]["X-Parents"])
        self.assertIn("v=from-ha", parents["ha"])

    def test_cycles_refused(self):
        c = self.cluster
        status, body = c.api("POST", "/api/v1/jobs:batch", {"jobs": [
            echo_job("ca", depends_on=[{"job": "cb"}]),
            echo_job("cb", depends_on=[{"job": "cc"}]),
            echo_job("cc", depends_on=[{"job": "ca"}])]})
        self.assertEqual(status, 400, body)
        self.assertIn("ca -> cb -> cc -> ca", body["error"]["message"])
        self.assertEqual(body["error"]["field"], "jobs[0].depends_on")
        status, body = c.api("POST", "/api/v1/jobs", echo_job("cself", depends_on=[{"job": "cself"}]))
        self.assertEqual(status, 400, body)
        self.assertIn("cself -> cself", body["error"]["message"])
        status, body = c.api("POST", "/api/v1/jobs", echo_job("corphan",
                                                               depends_on=[{"job": "nosuch"}]))
        self.assertEqual(status, 400, body)
        self.assertEqual(body["error"]["field"], "depends_on[0].job")
        self.assertIn("nosuch", body["error"]["message"])
        status, body = c.api("POST", "/api/v1/jobs", echo_job("cbadon", depends_on=[
            {"job": "nosuch", "on": "sometimes"}]))
        self.assertEqual(status, 400, body)
        self.assertEqual(body["error"]["field"], "depends_on[0].on")
        # Nothing of the refused batch was stored.
        self.assertEqual(c.api("GET", "/api/v1/jobs/ca")[0], 404)

    def test_delete_refused_then_cascade_and_tree(self):
        c = self.cluster
        self.create(echo_job("dp", {"v": "p"}))
        self.create(echo_job("dc", schedule=None, depends_on=[{"job": "dp"}]))
        self.create(echo_job("dg", schedule=None, depends_on=[{"job": "dc", "on": "always"}]))
        status, tree = c.api("GET", "/api/v1/jobs/dc/tree")
        self.assertEqual(status, 200, tree)
        self.assertEqual([p["job"] for p in tree["parents"]], ["dp"])
        self.assertEqual([(k["job"], k["on"]) for k in tree["children"]], [("dg", "always")])
        rc, out, err = c.cli("job", "tree", "dp")
        self.assertEqual(rc, 0, err)
        self.assertIn("-> dc (on success)", out)
        self.assertIn("-> dg (on always)", out)
        status, body = c.api("DELETE", "/api/v1/jobs/dp")
        self.assertEqual(status, 409, body)
        self.assertEqual(body["error"]["code"], "has_dependents")
        self.assertIn("dc, dg", body["error"]["message"])
        self.assertEqual(c.api("GET", "/api/v1/jobs/dp")[0], 200)
        rc, out, err = c.cli("job", "delete", "dp")
        self.assertNotEqual(rc, 0, out)
        self.assertIn("has dependents", err)
        status, body = c.api("DELETE", "/api/v1/jobs/dp?cascade=true")
        self.assertEqual(status, 200, body)
        self.assertEqual(sorted(body["cascaded"]), ["dc", "dg"])
        for name in ("dp", "dc", "dg"):
            self.assertEqual(c.api("GET", "/api/v1/jobs/%s" % name)[0], 404, name)
        self.assertEqual(c.sql("SELECT COUNT(*) FROM job_deps WHERE child_name IN ('dc','dg')"),
                         [["0"]])
        audit = c.sql("SELECT object, status FROM audit WHERE action = 'job.delete' ORDER BY id")
        self.assertEqual(audit[-1][1], "200", audit)
        self.assertEqual(audit[-1][0].split(","), ["default/dp", "dc", "dg"], audit)


if __name__ == "__main__":
    run_tests(DepsGraph, workers=1, worker_args=WORKER_ARGS)
