#!/usr/bin/env python3
"""Plug-in jobs on a real worker (issue 4): a segfaulting plug-in is
recorded as crashed naming SIGSEGV, an endless loop as timeout, a wrong ABI
as failed naming the plug-in, its ABI and ours; a plug-in's log lines and
result land in the run record; job parameters and trigger overrides
arrive (trigger wins); the shell plug-in's timeout kills its child
processes; a plug-in named by hash loads from the worker's cache and a
fetch the master cannot serve fails its runs with a clear error. All the
while an HTTP job on the same worker keeps firing on time.

One worker, so every job shares it with the HTTP job."""

import hashlib
import os
import shutil
import tempfile
import time
import unittest

from harness import BUILD_DIR, log, parse_time, run_tests

TEST_PLUGINS = os.path.join(BUILD_DIR, "test-plugins")
TICK = "tick"
# The worker's plug-in dirs: the test plug-ins (hgtest_<name>.so) and the
# shipped ones (hg_<name>.so) in the build directory.
WORKER_ARGS = ["--plugin-dir", "%s:%s" % (TEST_PLUGINS, BUILD_DIR),
               "--plugin-grace", "500ms", "--plugin-fetch-timeout", "3s",
               "--plugin-allow", "*"]  # shell and the test plug-ins are not in the default


def sha256_of(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


class PluginJobs(unittest.TestCase):
    cluster = None  # set by run_tests

    @classmethod
    def setUpClass(cls):
        c = cls.cluster
        cls.started = time.time()
        c.create_job(TICK, "@every 1s", c.hits.url("/tick"))
        c.wait_until(lambda: c.hits.count("/tick") >= 2, timeout=15, what="the HTTP job to fire")

    # ---- helpers ---------------------------------------------------------

    def create(self, name, plugin, schedule="@every 1h", isolation="process", params=None,
               timeout=None):
        body = {"name": name, "schedule": schedule, "kind": "plugin",
                "plugin": dict(plugin, isolation=isolation)}
        if params:
            body["params"] = params
        if timeout:
            body["timeout"] = timeout
        status, job = self.cluster.api("POST", "/api/v1/jobs", body)
        self.assertEqual(status, 201, "create %s: %s" % (name, job))
        return job

    def trigger(self, name, params=None):
        """Trigger once the job is placed; returns the time of the call."""
        c = self.cluster
        body = {"params": params} if params else None

        def accepted():
            status, _ = c.api("POST", "/api/v1/jobs/%s/trigger" % name, body)
            return status == 202
        c.wait_until(accepted, timeout=15, what="trigger of %s to be accepted" % name)
        return time.time()

    def finished_runs(self, name, n=1, timeout=30):
        c = self.cluster

        def enough():
            status, body = c.api("GET", "/api/v1/runs?job=%s&limit=50" % name)
            if status != 200:
                return None
            runs = [r for r in body["runs"] if r["status"] != "running"]
            return runs if len(runs) >= n else None
        return c.wait_until(enough, timeout=timeout, what="%d finished run(s) of %s" % (n, name))

    def one_run(self, name, timeout=30):
        run = self.finished_runs(name, 1, timeout)[-1]  # newest first: the oldest
        log("%s: %s exit=%s error=%r output=%r" % (name, run["status"], run["exit_code"],
                                                  run["error"], (run["output"] or "")[:200]))
        return run

    # ---- cases -----------------------------------------------------------

    def test_crash_process_mode(self):
        self.create("segv", {"name": "hgtest_segv"})
        self.trigger("segv")
        run = self.one_run("segv")
        self.assertEqual(run["status"], "crashed")
        self.assertIn("SIGSEGV", run["error"])
        self.assertEqual(run["exit_code"], 128 + 11)
        # The helper was replaced: the next run crashes the same way.
        self.trigger("segv")
        runs = self.finished_runs("segv", 2)
        self.assertTrue(all(r["status"] == "crashed" for r in runs), runs)

    def test_abort_process_mode(self):
        self.create("abort", {"name": "hgtest_abort"})
        self.trigger("abort")
        run = self.one_run("abort")
        self.assertEqual(run["status"], "crashed")
        self.assertIn("SIGABRT", run["error"])

    def test_endless_loop_process_mode(self):
        self.create("loop-p", {"name": "hgtest_loop"}, timeout="1s")
        self.trigger("loop-p")
        run = self.one_run("loop-p")
        self.assertEqual(run["status"], "timeout")
        self.assertIn("timed out after 1000 ms", run["error"])

    def test_endless_loop_thread_mode(self):
        # A thread cannot be killed: the plug-in polls ctx->cancelled.
        self.create("loop-t", {"name": "hgtest_loop"}, isolation="thread", timeout="1s",
                    params={"polite": "1"})
        self.trigger("loop-t")
        run = self.one_run("loop-t")
        self.assertEqual(run["status"], "timeout")
        self.assertIn("timed out after 1000 ms", run["error"])

    def test_wrong_abi(self):
        for iso in ("process", "thread"):
            name = "badabi-" + iso
            self.create(name, {"name": "hgtest_badabi"}, isolation=iso)
            self.trigger(name)
            run = self.one_run(name)
            self.assertEqual(run["status"], "failed")
            self.assertIn("hgtest_badabi", run["error"])
            self.assertIn("ABI version 99", run["error"])
            self.assertIn("ABI version 1", run["error"])

    def test_wrong_version(self):
        self.create("echo-v9", {"name": "hgtest_echo", "version": "9.9"})
        self.trigger("echo-v9")
        run = self.one_run("echo-v9")
        self.assertEqual(run["status"], "failed")
        self.assertIn("plug-in echo is version", run["error"])
        self.assertIn("the job wants version 9.9", run["error"])

    def test_missing_plugin(self):
        self.create("nothere", {"name": "hgtest_nothere"})
        self.trigger("nothere")
        run = self.one_run("nothere")
        self.assertEqual(run["status"], "failed")
        self.assertIn("plug-in hgtest_nothere not found", run["error"])
        self.assertEqual(run["exit_code"], 1)

    def test_log_result_params_and_overrides(self):
        c = self.cluster
        for iso in ("process", "thread"):
            name = "echo-" + iso
            # Created with the CLI, as a user would.
            rc, out, err = c.cli("job", "create", name, "--schedule", "@every 1h", "--plugin",
                                 "hgtest_echo", "--isolation", iso, "--param", "k=job",
                                 "--param", "only_job=1", "--timeout", "10s")
            self.assertEqual(rc, 0, err)
            rc, out, err = c.cli("job", "get", name)
            self.assertEqual(rc, 0, err)
            self.assertIn("hgtest_echo", out)
            self.assertIn(iso, out)
            self.assertEqual(c.job(name)["plugin"]["isolation"], iso)

            def triggered():
                rc, _, _ = c.cli("job", "trigger", name, "--param", "k=trigger", "--param", "extra=x")
                return rc == 0
            c.wait_until(triggered, timeout=15, what="CLI trigger of %s" % name)
            run = self.one_run(name)
            self.assertEqual(run["status"], "success", run)
            self.assertEqual(run["exit_code"], 0)
            out = run["output"]
            self.assertIn("[info] hello from %s" % name, out)
            self.assertIn("[warn] attempt 1 shard 0/1", out)
            self.assertIn("k=trigger", out)  # the trigger wins
            self.assertNotIn("k=job", out)
            self.assertIn("only_job=1", out)
            self.assertIn("extra=x", out)
            self.assertIn("run=", out)

    def test_plugin_failure_message(self):
        self.create("echo-fail", {"name": "hgtest_echo"}, params={"fail": "on purpose"})
        self.trigger("echo-fail")
        run = self.one_run("echo-fail")
        self.assertEqual(run["status"], "failed")
        self.assertEqual(run["error"], "asked to fail: on purpose")

    def test_shell_timeout_kills_children(self):
        tmp = tempfile.mkdtemp(prefix="hg-shell-")
        pidfile = os.path.join(tmp, "child.pid")
        try:
            self.create("shell-slow", {"name": "shell"}, timeout="1s", params={
                "command": "/bin/sh", "arg1": "-c",
                "arg2": "sleep 300 & echo $! > %s; wait" % pidfile})
            self.trigger("shell-slow")
            run = self.one_run("shell-slow")
            self.assertEqual(run["status"], "timeout", run)
            with open(pidfile) as f:
                pid = int(f.read().strip())

            def gone():
                try:
                    with open("/proc/%d/stat" % pid) as f:
                        state = f.read().rsplit(")", 1)[1].split()[0]
                    return state in ("Z", "X")  # a zombie no one reaped is dead too
                except FileNotFoundError:
                    return True
            self.cluster.wait_until(gone, timeout=10, what="the shell's child %d to be killed" % pid)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def test_shell_success(self):
        self.create("shell-ok", {"name": "shell"}, params={"command": "/bin/echo", "args": "hi there"})
        self.trigger("shell-ok")
        run = self.one_run("shell-ok")
        self.assertEqual(run["status"], "success", run)
        self.assertIn("hi there", run["output"])

    def test_by_hash_from_cache(self):
        # A plug-in the worker's cache holds under its hash runs without a
        # fetch and without being in the plug-in dir under that name.
        c = self.cluster
        src = os.path.join(TEST_PLUGINS, "hgtest_echo.so")
        sha = sha256_of(src)
        cache = os.path.join(c.worker_data_dir("worker-1"), "plugins")
        shutil.copyfile(src, os.path.join(cache, sha + ".so"))
        self.create("by-hash", {"sha256": sha}, params={"k": "v"})
        self.assertIsNone(c.job("by-hash")["plugin"]["name"])
        self.trigger("by-hash")
        run = self.one_run("by-hash")
        self.assertEqual(run["status"], "success", run)
        self.assertIn("k=v", run["output"])

    def test_by_hash_unavailable(self):
        # A hash no one can serve: every parked run fails with an error
        # naming the hash; the worker stays up and logs it.
        sha = hashlib.sha256(b"no such plug-in").hexdigest()
        self.create("by-hash-missing", {"name": "ghost", "sha256": sha})
        self.trigger("by-hash-missing")
        run = self.one_run("by-hash-missing", timeout=30)
        self.assertEqual(run["status"], "failed")
        self.assertTrue(run["error"].startswith("plug-in sha256 %s: " % sha), run["error"])
        with open(self.cluster.workers["worker-1"].log_path) as f:
            self.assertIn("plug-in sha256 %s" % sha, f.read())

    def test_z_http_job_kept_firing(self):
        # Runs last (names sort): every scheduled second since the start has
        # its hit, on time within generous bounds.
        c = self.cluster
        time.sleep(1.5)
        hits = c.hits.hits("/tick")
        sched = sorted(parse_time(h["scheduled_at"]) for h in hits)
        self.assertEqual(len(sched), len(set(sched)), "a scheduled time fired twice")
        gaps = [round(b - a, 3) for a, b in zip(sched, sched[1:])]
        late = max(h["time"] - parse_time(h["scheduled_at"]) for h in hits)
        log("HTTP job: %d hits over %.0f s, largest gap %.3f s, latest %.0f ms late"
            % (len(hits), sched[-1] - sched[0], max(gaps), late * 1000))
        self.assertTrue(all(g == 1.0 for g in gaps), "scheduled times skipped: %r" % gaps)
        self.assertLess(late, 1.0, "the HTTP job fired %.3f s late" % late)
        c.check_alive()


if __name__ == "__main__":
    run_tests(PluginJobs, workers=1, worker_args=WORKER_ARGS)
