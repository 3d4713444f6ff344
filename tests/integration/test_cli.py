#!/usr/bin/env python3
"""The real `hourglass` CLI against a real cluster: job create, list, get,
pause, resume, trigger, delete, runs and node list, as tables and as
-o json, with exit codes (0 on success; 1 and the API's one-line message
when the master refuses)."""

import json
import os
import subprocess
import time
import unittest

from harness import CLI_BIN, free_port, log, run_tests

YEARLY = "0 0 0 1 1 *"  # 6-field cron that will not fire during the test


class CliTest(unittest.TestCase):
    cluster = None  # set by run_tests

    def hg(self, *args, rc=0):
        """Run the CLI, assert its exit code, return (stdout, stderr)."""
        code, out, err = self.cluster.cli(*args)
        self.assertEqual(code, rc, "hourglass %s: exit %d, want %d\nstdout: %s\nstderr: %s"
                         % (" ".join(args), code, rc, out, err))
        return out, err

    def create(self, name, *extra):
        url = self.cluster.hits.url("/" + name)
        return self.hg("job", "create", name, "--schedule", YEARLY, "--http-url", url, *extra)

    def test_create_get_list(self):
        self.create("cli-get", "--method", "post", "--header", "X-Token: abc",
                    "--header", "Content-Type: application/json", "--body", '{"a":1}', "--timeout", "5s")
        job = self.cluster.cli_json("job", "get", "cli-get")
        self.assertEqual(job["name"], "cli-get")
        self.assertEqual(job["schedule"], YEARLY)
        self.assertEqual(job["status"], "active")
        self.assertEqual(job["http"]["method"], "POST")
        self.assertEqual(job["http"]["url"], self.cluster.hits.url("/cli-get"))
        self.assertEqual(job["http"]["headers"].get("X-Token"), "abc")
        self.assertEqual(job["http"]["body"], '{"a":1}')
        self.assertEqual(job["timeout"], "5s")

        out, _ = self.hg("job", "get", "cli-get")
        self.assertIn("cli-get", out)

        out, _ = self.hg("job", "list")
        lines = [line for line in out.splitlines() if line.strip()]
        self.assertGreaterEqual(len(lines), 2, "a table has a header and rows: %r" % out)
        self.assertIn("NAME", lines[0].upper())
        row = [line for line in lines if line.split()[0] == "cli-get"]
        self.assertEqual(len(row), 1, "one row for cli-get in:\n%s" % out)
        # Aligned: the schedule column starts where its header does.
        col = lines[0].upper().find("SCHEDULE")
        self.assertGreaterEqual(col, 0, "no SCHEDULE column in %r" % lines[0])
        self.assertEqual(row[0].find(YEARLY), col, "columns not aligned:\n%s" % out)

        listed = self.cluster.cli_json("job", "list")
        jobs = listed["jobs"] if isinstance(listed, dict) else listed
        self.assertIn("cli-get", [j["name"] for j in jobs])

    def test_pause_resume(self):
        self.create("cli-pause")
        self.hg("job", "pause", "cli-pause")
        self.assertEqual(self.cluster.cli_json("job", "get", "cli-pause")["status"], "paused")
        self.hg("job", "resume", "cli-pause")
        self.assertEqual(self.cluster.cli_json("job", "get", "cli-pause")["status"], "active")

    def test_trigger_and_runs(self):
        c = self.cluster
        self.create("cli-trigger")
        c.wait_until(lambda: c.job_node("cli-trigger"), timeout=15, what="cli-trigger to be assigned")
        sent = time.time()
        self.hg("job", "trigger", "cli-trigger")
        hit = c.wait_until(lambda: c.hits.hits("/cli-trigger"), timeout=15, what="the triggered hit")[0]
        self.assertEqual(hit["job"], "cli-trigger")

        def listed():
            runs = c.cli_json("runs", "--job", "cli-trigger", "--limit", "5")
            runs = runs["runs"] if isinstance(runs, dict) else runs
            return runs if runs and runs[0].get("status") not in (None, "running") else None

        runs = c.wait_until(listed, timeout=20, what="the triggered run in `hourglass runs`")
        self.assertEqual(runs[0]["job"], "cli-trigger")
        self.assertEqual(runs[0]["status"], "success")
        out, _ = self.hg("runs", "--job", "cli-trigger", "--limit", "5")
        self.assertIn("cli-trigger", out)
        self.assertIn("success", out)
        log("trigger: hit %.3f s after the command; run trigger reason %r"
            % (hit["time"] - sent, runs[0].get("trigger")))

    def test_delete(self):
        self.create("cli-delete")
        out, _ = self.hg("job", "delete", "cli-delete")
        _, err = self.hg("job", "get", "cli-delete", rc=1)
        self.assertIn("cli-delete", err)

    def test_node_list(self):
        out, _ = self.hg("node", "list")
        for w in self.cluster.workers:
            self.assertIn(w, out)
        nodes = self.cluster.cli_json("node", "list")
        nodes = nodes["nodes"] if isinstance(nodes, dict) else nodes
        self.assertEqual(sorted(n["name"] for n in nodes), sorted(self.cluster.workers))

    def test_unknown_job_fails_with_api_message(self):
        status, body = self.cluster.api("GET", "/api/v1/jobs/no-such-job")
        self.assertEqual(status, 404)
        message = body["error"]["message"]
        out, err = self.hg("job", "get", "no-such-job", rc=1)
        self.assertEqual(out, "", "nothing on stdout on failure")
        self.assertEqual(len(err.strip().splitlines()), 1, "one-line error: %r" % err)
        self.assertIn(message, err)
        for verb in ("delete", "pause", "resume", "trigger"):
            self.hg("job", verb, "no-such-job", rc=1)

    def test_bad_schedule_names_the_field(self):
        out, err = self.hg("job", "create", "cli-bad", "--schedule", "* * *",
                           "--http-url", self.cluster.hits.url("/x"), rc=1)
        self.assertEqual(len(err.strip().splitlines()), 1, "one-line error: %r" % err)
        self.assertIn("schedule", err)
        rc, _, _ = self.cluster.cli("job", "get", "cli-bad")
        self.assertEqual(rc, 1, "a refused job must not exist")

    def test_duplicate_fails(self):
        self.create("cli-dup")
        _, err = self.create_rc("cli-dup", 1)
        self.assertIn("cli-dup", err)

    def create_rc(self, name, rc):
        url = self.cluster.hits.url("/" + name)
        return self.hg("job", "create", name, "--schedule", YEARLY, "--http-url", url, rc=rc)

    def test_json_output_is_json(self):
        self.create("cli-json")
        code, out, err = self.cluster.cli("job", "list", "-o", "json")
        self.assertEqual(code, 0, err)
        json.loads(out)
        code, out, err = self.cluster.cli("-o", "json", "node", "list")
        self.assertEqual(code, 0, err)
        json.loads(out)

    def test_master_url_from_environment_and_unreachable(self):
        r = subprocess.run([CLI_BIN, "node", "list"], capture_output=True, text=True, timeout=30,
                           env=dict(os.environ, HOURGLASS_MASTER=self.cluster.api_url,
                                    HOURGLASS_TOKEN=self.cluster.token))
        self.assertEqual(r.returncode, 0, "HOURGLASS_MASTER not honoured: " + r.stderr)
        r = subprocess.run([CLI_BIN, "--master", "http://127.0.0.1:%d" % free_port(), "job", "list"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1, "one-line error: %r" % r.stderr)


if __name__ == "__main__":
    run_tests(CliTest, workers=2)
