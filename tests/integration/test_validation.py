#!/usr/bin/env python3
"""The REST API refuses bad input with the documented errors
(docs/api.md): 400 invalid_argument naming the field, 400 bad_json, 404 for
an unknown job, 409 for a duplicate name; and nothing refused is stored."""

import unittest

from harness import log, run_tests

DROP = object()  # marks a field to leave out


class ValidationTest(unittest.TestCase):
    cluster = None  # set by run_tests

    def url(self, path="/v"):
        return self.cluster.hits.url(path)

    def job(self, **over):
        spec = {"name": "valid", "schedule": "@every 10s", "http": {"url": self.url()}}
        spec.update(over)
        return spec

    def post(self, body=None, raw=None):
        return self.cluster.api("POST", "/api/v1/jobs", body, raw=raw)

    def assertError(self, got, status, code, field=None):
        st, body = got
        self.assertEqual(st, status, "HTTP %s, want %s: %r" % (st, status, body))
        self.assertIsInstance(body, dict, "error body is not JSON: %r" % (body,))
        err = body.get("error")
        self.assertIsInstance(err, dict, "no error object: %r" % body)
        self.assertEqual(err.get("code"), code, "error code: %r" % err)
        self.assertTrue(err.get("message"), "empty message: %r" % err)
        if field is not None:
            self.assertEqual(err.get("field"), field, "field: %r" % err)
            self.assertTrue(err["message"].startswith(field),
                            "message %r does not start with the field %r" % (err["message"], field))
        log("HTTP %d %s: %s" % (st, code, err.get("message")))
        return err

    def test_bad_cron(self):
        for expr in ("* * *", "61 * * * * *", "*/0 * * * * *", "@every", "@every -1s", "not a schedule"):
            with self.subTest(schedule=expr):
                self.assertError(self.post(self.job(name="badcron", schedule=expr)), 400,
                                 "invalid_argument", "schedule")
        self.assertEqual(self.cluster.api("GET", "/api/v1/jobs/badcron")[0], 404, "a refused job was stored")

    def test_bad_json(self):
        for raw in ('{"name": "x", ', "not json", "[1, 2]", ""):
            with self.subTest(raw=raw):
                self.assertError(self.post(raw=raw), 400, "bad_json")

    def test_unknown_job(self):
        for method, path in (("GET", "/api/v1/jobs/nope"), ("DELETE", "/api/v1/jobs/nope"),
                             ("POST", "/api/v1/jobs/nope/pause"), ("POST", "/api/v1/jobs/nope/resume"),
                             ("POST", "/api/v1/jobs/nope/trigger")):
            with self.subTest(method=method, path=path):
                self.assertError(self.cluster.api(method, path), 404, "not_found")

    def test_duplicate(self):
        st, body = self.post(self.job(name="dup"))
        self.assertEqual(st, 201, body)
        err = self.assertError(self.post(self.job(name="dup")), 409, "already_exists")
        self.assertIn("dup", err["message"])
        # Same name in another namespace is a different job.
        st, body = self.post(self.job(name="dup", namespace="other"))
        self.assertEqual(st, 201, body)

    def test_fields_named(self):
        cases = [
            ({"name": ""}, "name"),
            ({"name": "-leading-dash"}, "name"),
            ({"name": "has space"}, "name"),
            ({"schedule": DROP}, "schedule"),
            ({"timezone": "Mars/Olympus"}, "timezone"),
            ({"timeout": "forever"}, "timeout"),
            ({"misfire": "sometimes"}, "misfire"),
            ({"http": {}}, "http.url"),
            ({"http": {"url": "ftp://example.com/"}}, "http.url"),
            ({"http": {"url": self.url(), "method": "FETCH"}}, "http.method"),
            ({"http": {"url": self.url(), "headers": {"X-A": "a\r\nX-B: b"}}}, "http.headers"),
            ({"http": {"url": self.url(), "expect_status": [99]}}, "http.expect_status"),
            ({"http": {"url": self.url(), "body": "x", "form": {"a": "b"}}}, "http.body"),
        ]
        for over, field in cases:
            spec = self.job(name="fields")
            spec.update(over)
            spec = {k: v for k, v in spec.items() if v is not DROP}
            with self.subTest(field=field, spec=over):
                st, body = self.post(spec)
                self.assertEqual(st, 400, "HTTP %s for %r: %r" % (st, over, body))
                err = body["error"]
                self.assertEqual(err.get("code"), "invalid_argument")
                # The field may be named more precisely ("http.headers.X-A",
                # "http.expect_status[0]"); "http.body" and "http.form" are
                # both fair names for that clash.
                got = err.get("field") or ""
                names = ("http.body", "http.form") if field == "http.body" else (field,)
                self.assertTrue(any(got == n or got.startswith(n + ".") or got.startswith(n + "[")
                                    for n in names), "field %r, want %s: %r" % (got, " or ".join(names), err))
                self.assertTrue(err["message"].startswith(err["field"]), err)

    def test_valid_job_round_trips(self):
        st, job = self.post(self.job(name="roundtrip", http={"url": self.url(), "method": "post"}))
        self.assertEqual(st, 201, job)
        self.assertEqual(job["http"]["method"], "POST")
        self.assertEqual(job["namespace"], "default")
        self.assertEqual(job["timezone"], "UTC")
        self.assertEqual(job["misfire"], "fire_once")
        st, got = self.cluster.api("GET", "/api/v1/jobs/roundtrip")
        self.assertEqual(st, 200, got)
        self.assertEqual(got["id"], job["id"])

    def test_trigger_without_worker(self):
        st, body = self.post(self.job(name="lonely"))
        self.assertEqual(st, 201, body)
        self.assertError(self.cluster.api("POST", "/api/v1/jobs/lonely/trigger"), 409, "no_worker")

    def test_wrong_method_and_route(self):
        self.assertError(self.cluster.api("PUT", "/api/v1/jobs"), 405, "method_not_allowed")
        self.assertError(self.cluster.api("GET", "/api/v1/nowhere"), 404, "not_found")

    def test_too_large(self):
        big = '{"name": "big", "schedule": "@every 1s", "pad": "%s"}' % ("x" * (1 << 20))
        try:
            got = self.post(raw=big)
        except OSError as e:  # the server may close the connection early
            log("oversize body: connection closed (%s)" % e)
            return
        self.assertError(got, 413, "too_large")


if __name__ == "__main__":
    # No workers: validation needs only the master (and trigger must say
    # no_worker).
    run_tests(ValidationTest, workers=0)
