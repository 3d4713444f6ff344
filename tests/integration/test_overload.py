#!/usr/bin/env python3
"""A worker under sustained overload: plug-in jobs offer far more runs than
its one helper process can run. What a user must see:

- the runs the worker could not take are in the history as `skipped`, with
  an error that says why ("worker overloaded: 20 plug-in runs already
  waiting for a helper process"), next to the runs that did run: nothing
  is silently dropped;
- the worker's memory stays bounded (each run carries ~28 KB of
  parameters, so an unbounded queue would grow by megabytes per second);
- an HTTP job on the same worker keeps firing every second meanwhile;
- the worker logs the overload once per burst, not once per run, and says
  when it is over.

One worker, one helper, plugin.queue 20. Two plug-in jobs fire every 10 ms
(~200 runs/s offered); each run sleeps 50 ms (shell plug-in), so the helper
manages ~15 runs/s."""

import os
import time
import unittest

from harness import BUILD_DIR, WORKER_BIN, log, run_tests

TEST_PLUGINS = os.path.join(BUILD_DIR, "test-plugins")
QUEUE = 20
WORKER_ARGS = ["--plugin-dir", "%s:%s" % (TEST_PLUGINS, BUILD_DIR),
               "--plugin-helpers", "1", "--plugin-queue", str(QUEUE), "--plugin-grace", "500ms",
               "--plugin-allow", "shell"]
WHY = "worker overloaded: %d plug-in runs already waiting for a helper process" % QUEUE
BUSY = ("busy-1", "busy-2")
TICK = "tick"
OVERLOAD_S = 24  # how long the overload lasts
PAD = "x" * 7000  # a parameter value; four per run


def sanitized():
    """True when the worker is built with AddressSanitizer."""
    with open(WORKER_BIN, "rb") as f:
        return b"__asan_init" in f.read()


if sanitized():
    # ASan holds freed memory in a quarantine (256 MB by default) that would
    # look like growth here (~12 MB/s); a small one keeps the check honest.
    opts = os.environ.get("ASAN_OPTIONS") or "abort_on_error=0:detect_leaks=1"
    os.environ["ASAN_OPTIONS"] = opts + ":quarantine_size_mb=8"


def vm_rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS for pid %d" % pid)


class Overload(unittest.TestCase):
    cluster = None  # set by run_tests

    def worker_log(self):
        proc = self.cluster.workers["worker-1"]
        with open(proc.log_path, errors="replace") as f:
            return f.read()

    def status_counts(self, job):
        rows = self.cluster.sql(
            "SELECT status, COUNT(*) FROM runs WHERE job_name = '%s' GROUP BY status" % job)
        return {r[0]: int(r[1]) for r in rows}

    def test_overload(self):
        c = self.cluster
        worker = c.workers["worker-1"]
        c.create_job(TICK, "@every 1s", c.hits.url("/tick"))
        c.wait_until(lambda: c.hits.count("/tick") >= 2, timeout=15, what="the HTTP job to fire")

        for name in BUSY:
            body = {"name": name, "schedule": "@every 10ms", "kind": "plugin", "timeout": "10s",
                    "plugin": {"name": "shell", "isolation": "process"},
                    "params": {"command": "sleep", "args": "0.05",
                               "pad1": PAD, "pad2": PAD, "pad3": PAD, "pad4": PAD}}
            status, job = c.api("POST", "/api/v1/jobs", body)
            self.assertEqual(status, 201, "create %s: %s" % (name, job))
        c.wait_until(lambda: self.status_counts(BUSY[0]).get("skipped", 0) > 0, timeout=20,
                     what="skipped runs of %s in the history" % BUSY[0])
        started = time.time()
        log("overload under way; measuring the worker's memory for %d s" % OVERLOAD_S)

        # Let the allocator and the queues reach their steady state, then
        # watch the resident size until the end of the overload.
        time.sleep(4)
        rss = []
        while time.time() - started < OVERLOAD_S:
            c.check_alive()
            rss.append(vm_rss_kb(worker.pid))
            time.sleep(1)
        ticks = [h["time"] for h in c.hits.hits("/tick") if h["time"] >= started]
        counts = {name: self.status_counts(name) for name in BUSY}
        log("worker VmRSS (KiB) from %d to %d, peak %d; runs by status: %s; /tick hits during the "
            "overload: %d" % (rss[0], rss[-1], max(rss), counts, len(ticks)))
        for name in BUSY:
            c.delete_job(name)

        # Skipped runs are recorded with the reason, next to the runs that ran.
        for name in BUSY:
            self.assertGreater(counts[name].get("skipped", 0), 100, counts)
            self.assertGreater(counts[name].get("success", 0), 10, counts)
            self.assertEqual(set(counts[name]) - {"success", "skipped", "running"}, set(),
                             counts)
        errors = c.sql("SELECT DISTINCT error FROM runs WHERE status = 'skipped'")
        self.assertEqual([r[0] for r in errors], [WHY])
        # Total offered runs: more than the helper could have run, all recorded.
        total = sum(sum(v.values()) for v in counts.values())
        self.assertGreater(total, 1000, counts)

        # Bounded memory: an unbounded queue would grow by ~5 MB/s here.
        growth_mb = (max(rss) - rss[0]) / 1024.0
        self.assertLess(growth_mb, 24.0, "worker VmRSS grew by %.1f MB under overload: %s"
                        % (growth_mb, rss))

        # The HTTP job kept firing every second on the same worker.
        self.assertGreaterEqual(len(ticks), OVERLOAD_S - 4, ticks)
        gaps = [b - a for a, b in zip(ticks, ticks[1:])]
        self.assertLess(max(gaps), 2.5, gaps)
        tick_runs = self.status_counts(TICK)
        self.assertEqual(set(tick_runs) - {"success", "running"}, set(), tick_runs)

        # Logged once per burst: one warning when it started, one when over.
        c.wait_until(lambda: "plug-in overload over" in self.worker_log(), timeout=15,
                     what="the worker to log the end of the overload")
        text = self.worker_log()
        self.assertEqual(text.count(WHY), 1, "overload logged more than once per burst")
        self.assertEqual(text.count("plug-in overload over"), 1)


if __name__ == "__main__":
    run_tests(Overload, workers=1, worker_args=WORKER_ARGS)
