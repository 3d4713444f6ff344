#!/usr/bin/env python3
"""Plug-in distribution (issue 4) with the real CLI, master and worker:
`hourglass plugin push` stores a plug-in on the master and `plugin list`
shows it with the name, version, SHA-256 (as sha256sum computes it) and
size of the file; bad uploads are refused with clear messages (not ELF,
not a plug-in, too big, empty, other bytes under a stored name and
version); a plug-in job naming a pushed plug-in runs on a worker whose
local plug-in directory does not have it (the worker fetches it from the
master by hash), also when the job was created before the push; and bytes
that do not match their hash, whether in the master's data directory or
in MySQL, fail the run with a message naming the hash instead of being
loaded."""

import hashlib
import os
import tempfile
import unittest

from harness import BUILD_DIR, log, run_tests

TEST_PLUGINS = os.path.join(BUILD_DIR, "test-plugins")
ECHO = os.path.join(TEST_PLUGINS, "hgtest_echo.so")    # descriptor: echo 2.1
ABORT = os.path.join(TEST_PLUGINS, "hgtest_abort.so")  # descriptor: abort 1
SEGV = os.path.join(TEST_PLUGINS, "hgtest_segv.so")    # descriptor: segv 1
NOOP = os.path.join(BUILD_DIR, "hg_noop.so")           # descriptor: noop 1.0.0
HOG = os.path.join(TEST_PLUGINS, "hgtest_hog.so")
LOOP = os.path.join(TEST_PLUGINS, "hgtest_loop.so")
MAX_SIZE = 1 << 20  # the master's plugin.max_size in this test

# The workers' local plug-in directory is empty: every plug-in they run
# here comes from the master.
EMPTY_PLUGIN_DIR = tempfile.mkdtemp(prefix="hg-no-plugins-")


def sha256_of(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


class PluginPush(unittest.TestCase):
    cluster = None  # set by run_tests

    # ---- helpers ---------------------------------------------------------

    def hg(self, *args, rc=0):
        code, out, err = self.cluster.cli(*args)
        self.assertEqual(code, rc, "hourglass %s: exit %d, want %d\nstdout: %s\nstderr: %s"
                         % (" ".join(args), code, rc, out, err))
        return out, err

    def listed(self):
        doc = self.cluster.cli_json("plugin", "list")
        return {(p["name"], p["version"]): p for p in doc["plugins"]}

    def create_and_run(self, job, plugin, params=None):
        c = self.cluster
        body = {"name": job, "schedule": "@every 1h", "kind": "plugin", "plugin": plugin,
                "params": params or {}}
        status, created = c.api("POST", "/api/v1/jobs", body)
        self.assertEqual(status, 201, "create %s: %s" % (job, created))
        return self.run_once(job)

    def run_once(self, job):
        c = self.cluster

        def accepted():
            status, _ = c.api("POST", "/api/v1/jobs/%s/trigger" % job)
            return status == 202
        c.wait_until(accepted, timeout=15, what="trigger of %s to be accepted" % job)

        def finished():
            status, body = c.api("GET", "/api/v1/runs?job=%s" % job)
            runs = [r for r in (body or {}).get("runs", []) if r["status"] != "running"]
            return runs[0] if status == 200 and runs else None
        run = c.wait_until(finished, timeout=40, what="a finished run of %s" % job)
        log("%s: %s error=%r output=%r" % (job, run["status"], run["error"],
                                           (run["output"] or "")[:160]))
        return run

    def worker_cache(self):
        return os.path.join(self.cluster.worker_data_dir("worker-1"), "plugins")

    def master_copy(self, sha):
        return os.path.join(self.cluster.master_data_dir(), "plugins", sha + ".so")

    # ---- cases -----------------------------------------------------------

    def test_push_and_list(self):
        sha = sha256_of(ECHO)
        out, _ = self.hg("plugin", "push", ECHO)  # name and version from the descriptor
        self.assertIn("pushed echo 2.1", out)
        self.assertIn(sha, out)
        entry = self.listed()[("echo", "2.1")]
        self.assertEqual(entry["sha256"], sha)
        self.assertEqual(entry["size"], os.path.getsize(ECHO))
        self.assertTrue(entry["arch"])

        out, _ = self.hg("plugin", "list")
        lines = out.splitlines()
        self.assertEqual(lines[0].split()[:4], ["NAME", "VERSION", "SHA256", "SIZE"])
        row = [line.split() for line in lines[1:] if line.split()[:2] == ["echo", "2.1"]]
        self.assertEqual(len(row), 1, out)
        self.assertEqual(row[0][2:4], [sha, str(os.path.getsize(ECHO))])

        # The same bytes again: nothing changes, still success.
        out, _ = self.hg("plugin", "push", ECHO)
        self.assertIn("already stored echo 2.1", out)
        status, body = self.cluster.api("GET", "/api/v1/plugins/" + sha)
        self.assertEqual((status, body["name"], body["version"]), (200, "echo", "2.1"))
        # MySQL holds the bytes; the master keeps a copy to serve workers.
        self.assertEqual(self.cluster.sql(
            "SELECT COUNT(*) FROM plugins WHERE sha256 = '%s'" % sha), [["1"]])
        self.assertEqual(sha256_of(self.master_copy(sha)), sha)

    def test_bad_uploads_refused(self):
        c = self.cluster
        before = self.listed()
        d = tempfile.mkdtemp(prefix="hg-bad-plugins-")
        empty, big = os.path.join(d, "empty.so"), os.path.join(d, "big.so")
        open(empty, "wb").close()
        with open(big, "wb") as f:
            f.write(b"\x7fELF" + b"\0" * (MAX_SIZE + 1000))
        readme = os.path.join(os.path.dirname(BUILD_DIR), "README.md")
        if not os.path.exists(readme):
            readme = __file__
        cases = [
            (readme, "not an ELF file"),
            (os.path.join(TEST_PLUGINS, "hgtest_nosym.so"), "does not export hourglass_plugin"),
            (empty, "empty upload"),
            (big, "over the limit of %d bytes" % MAX_SIZE),
        ]
        for path, message in cases:
            _, err = self.hg("plugin", "push", path, "--name", "bad", "--version", "1", rc=1)
            self.assertIn(message, err, path)
            self.assertEqual(len(err.strip().splitlines()), 1, err)
            self.assertTrue(err.startswith("hourglass: "), err)
        # Without --name and --version the CLI reads the descriptor, and
        # refuses a plug-in of another ABI before uploading it.
        _, err = self.hg("plugin", "push", os.path.join(TEST_PLUGINS, "hgtest_badabi.so"), rc=1)
        self.assertIn("ABI version 99", err)
        # The API says the same with the right status codes.
        status, body = c.api("POST", "/api/v1/plugins?name=bad&version=1", raw=b"",
                             headers={"Content-Type": "application/octet-stream"})
        self.assertEqual((status, body["error"]["code"]), (400, "invalid_plugin"))
        status, body = c.api("POST", "/api/v1/plugins?name=bad&version=1", raw=b"x" * (MAX_SIZE + 1),
                             headers={"Content-Type": "application/octet-stream"})
        self.assertEqual((status, body["error"]["code"]), (413, "too_large"))

        # Other bytes under a stored name and version: refused unless --force.
        self.hg("plugin", "push", HOG, "--name", "clash", "--version", "1.0")
        _, err = self.hg("plugin", "push", LOOP, "--name", "clash", "--version", "1.0", rc=1)
        self.assertIn("already stored with other bytes (sha256 %s)" % sha256_of(HOG), err)
        self.assertIn("--force", err)
        self.assertEqual(self.listed()[("clash", "1.0")]["sha256"], sha256_of(HOG))
        out, _ = self.hg("plugin", "push", LOOP, "--name", "clash", "--version", "1.0", "--force")
        self.assertIn("replaced clash 1.0", out)
        self.assertEqual(self.listed()[("clash", "1.0")]["sha256"], sha256_of(LOOP))

        after = self.listed()
        self.assertNotIn(("bad", "1"), after)
        self.assertEqual(set(after) - set(before), {("clash", "1.0")})

    def test_worker_fetches_pushed_plugin(self):
        sha = sha256_of(ECHO)
        self.hg("plugin", "push", ECHO)
        self.assertFalse(os.path.exists(os.path.join(EMPTY_PLUGIN_DIR, "hgtest_echo.so")))
        run = self.create_and_run("fetch-echo", {"name": "echo", "version": "2.1"},
                                  params={"greeting": "hi"})
        self.assertEqual(run["status"], "success", run)
        self.assertIn("greeting=hi", run["output"])
        # The worker verified and cached what it fetched, under its hash.
        cached = os.path.join(self.worker_cache(), sha + ".so")
        self.assertTrue(os.path.exists(cached), os.listdir(self.worker_cache()))
        self.assertEqual(sha256_of(cached), sha)

    def test_job_created_before_push(self):
        # A job naming a plug-in the master does not have yet (no version:
        # the latest) starts working once it is pushed: the master re-sends
        # the job with the hash.
        c = self.cluster
        body = {"name": "early-noop", "schedule": "@every 1h", "kind": "plugin",
                "plugin": {"name": "noop"}}
        status, created = c.api("POST", "/api/v1/jobs", body)
        self.assertEqual(status, 201, created)
        run = self.run_once("early-noop")
        self.assertEqual(run["status"], "failed", "ran without the plug-in: %s" % run)
        self.hg("plugin", "push", NOOP)
        sha = sha256_of(NOOP)
        c.wait_until(lambda: "plug-in noop 1.0.0 is sha256 %s" % sha in open(c.master.log_path).read(),
                     timeout=10, what="the master to take the push")

        def succeeded():
            return self.run_once("early-noop")["status"] == "success"
        c.wait_until(succeeded, timeout=40, interval=0.5, what="early-noop to run with the pushed noop")

    def test_mismatch_in_data_dir_copy(self):
        # The master's copy is damaged (same length): the master serves it
        # as it is, the worker's hash check refuses it.
        sha = sha256_of(ABORT)
        self.hg("plugin", "push", ABORT)
        copy = self.master_copy(sha)
        with open(copy, "r+b") as f:
            f.seek(os.path.getsize(copy) // 2)
            byte = f.read(1)
            f.seek(-1, os.SEEK_CUR)
            f.write(bytes([byte[0] ^ 0xFF]))
        run = self.create_and_run("damaged-copy", {"name": "abort", "version": "1"})
        self.assertEqual(run["status"], "failed", run)
        self.assertIn(sha, run["error"])
        self.assertIn("hash mismatch", run["error"])
        self.assertFalse(os.path.exists(os.path.join(self.worker_cache(), sha + ".so")))

    def test_mismatch_in_mysql(self):
        # No copy in the data directory and damaged bytes in MySQL: the
        # master checks what it loads and refuses to serve it.
        sha = sha256_of(SEGV)
        self.hg("plugin", "push", SEGV)
        os.unlink(self.master_copy(sha))
        self.cluster.sql("UPDATE plugin_chunks c JOIN plugins p ON p.id = c.plugin_id "
                         "SET c.data = REVERSE(c.data) WHERE p.sha256 = '%s'" % sha)
        run = self.create_and_run("damaged-db", {"name": "segv", "version": "1"})
        self.assertEqual(run["status"], "failed", run)
        self.assertIn(sha, run["error"])
        self.assertIn("do not match", run["error"])
        self.assertFalse(os.path.exists(os.path.join(self.worker_cache(), sha + ".so")))
        self.assertFalse(os.path.exists(self.master_copy(sha)), "the master kept damaged bytes")


if __name__ == "__main__":
    run_tests(PluginPush, workers=1,
              master_args=["--plugin-max-size", str(MAX_SIZE)],
              worker_args=["--plugin-dir", EMPTY_PLUGIN_DIR, "--plugin-fetch-timeout", "10s",
                           "--plugin-allow", "*"])
