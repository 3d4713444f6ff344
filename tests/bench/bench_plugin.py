#!/usr/bin/env python3
"""bench_plugin: runs per second of the `noop` plug-in on ONE worker, per
isolation mode, counted from the run rows the master committed to MySQL.

Starts a real cluster (harness.Cluster: private MariaDB database, master,
one worker whose plug-in dir is the build directory), creates JOBS noop
jobs "@every EVERY" in one batch, lets them warm up, then counts the
committed run rows whose scheduled time falls in a steady window of
SECONDS. The offered load is JOBS / EVERY; when the worker keeps up the
measured rate equals it, so raise JOBS until it does not (saturation:
misfires, late starts, fewer rows than offered). Past saturation the
worker records the runs its queue has no room for as `skipped`
(plugin.queue, --queue here); the worker's resident size is printed at the
start and end of the window to show that its memory stays flat.

Run it against the test MariaDB (as scripts/test starts it):

    HG_VAR=var/test HG_DB_PORT=3317 scripts/db start
    export $(HG_VAR=var/test HG_DB_PORT=3317 scripts/db env | xargs)
    python3 tests/bench/bench_plugin.py --mode process --jobs 400 --every 100ms
    python3 tests/bench/bench_plugin.py --mode thread  --jobs 400 --every 100ms

Not part of ctest: a measurement, not a check.
"""

import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration"))
from harness import BUILD_DIR, Cluster, log  # noqa: E402


def duration_s(text):
    units = {"ms": 0.001, "s": 1.0, "m": 60.0}
    for u in ("ms", "s", "m"):
        if text.endswith(u):
            return float(text[: -len(u)]) * units[u]
    raise ValueError("duration like 100ms or 1s: %r" % text)


def vm_rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mode", choices=("process", "thread"), default="process")
    ap.add_argument("--jobs", type=int, default=200)
    ap.add_argument("--every", default="100ms")
    ap.add_argument("--seconds", type=float, default=10.0, help="length of the counted window")
    ap.add_argument("--warmup", type=float, default=4.0)
    ap.add_argument("--helpers", type=int, default=2, help="worker setting plugin.helpers")
    ap.add_argument("--threads", type=int, default=4, help="worker setting plugin.threads")
    ap.add_argument("--queue", type=int, default=5000, help="worker setting plugin.queue")
    args = ap.parse_args()
    period = duration_s(args.every)

    worker_args = ["--plugin-dir", BUILD_DIR, "--plugin-helpers", str(args.helpers),
                   "--plugin-threads", str(args.threads), "--plugin-queue", str(args.queue),
                   "--log-level", "warn"]
    with Cluster(workers=1, name="bench_plugin_" + args.mode, worker_args=worker_args,
                 master_args=["--log-level", "warn"]) as c:
        jobs = [{"name": "noop-%04d" % i, "schedule": "@every " + args.every, "kind": "plugin",
                 "misfire": "skip", "plugin": {"name": "noop", "isolation": args.mode}}
                for i in range(args.jobs)]
        status, body = c.api("POST", "/api/v1/jobs:batch", {"jobs": jobs}, timeout=60)
        assert status == 201, "batch create: HTTP %s %s" % (status, body)
        created = time.time()
        time.sleep(args.warmup)
        worker = c.workers["worker-1"]
        t0 = time.time()
        rss0 = vm_rss_kb(worker.pid)
        time.sleep(args.seconds)
        t1 = time.time()
        rss1 = vm_rss_kb(worker.pid)
        time.sleep(3.0)  # let the last records of the window reach MySQL

        def utc(t):
            return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t)) + ".%03d" % int((t % 1) * 1000)
        rows = c.sql("SELECT status, COUNT(*), "
                     "AVG(TIMESTAMPDIFF(MICROSECOND, scheduled_at, started_at)) / 1000, "
                     "MAX(TIMESTAMPDIFF(MICROSECOND, scheduled_at, started_at)) / 1000, "
                     "AVG(TIMESTAMPDIFF(MICROSECOND, started_at, finished_at)) / 1000 "
                     "FROM runs WHERE scheduled_at >= '%s' AND scheduled_at < '%s' GROUP BY status"
                     % (utc(t0), utc(t1)))
        total = sum(int(r[1]) for r in rows)
        offered = args.jobs / period
        window = t1 - t0
        log("mode %s, %d jobs @every %s (offered %.0f runs/s), helpers %d, threads %d, "
            "warm-up %.1f s after create (%.1f s ago)"
            % (args.mode, args.jobs, args.every, offered, args.helpers, args.threads, args.warmup,
               time.time() - created))
        for r in rows:
            log("  %-8s %7d runs  start lateness avg %.1f ms max %.1f ms  duration avg %.2f ms"
                % (r[0], int(r[1]), float(r[2] or 0), float(r[3] or 0), float(r[4] or 0)))
        log("  worker VmRSS %d KiB at the start of the window, %d KiB at its end" % (rss0, rss1))
        rate = total / window
        log("RESULT mode=%s committed %d runs in %.1f s = %.0f runs/s (offered %.0f runs/s)"
            % (args.mode, total, window, rate, offered))
        print("%s\t%d\t%.0f\t%.0f" % (args.mode, args.jobs, offered, rate), flush=True)


if __name__ == "__main__":
    main()
