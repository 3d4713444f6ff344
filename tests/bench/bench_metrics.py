"""Bench scenarios of issue 12 (metrics and retention), run by scripts/bench:

  metrics  a master holding `jobs` jobs, of which `firing` fire every second
           (enough of them to fill metrics.job_series_max per-job series):
           firing lateness over a window without scrapes, then over a
           window in which GET /metrics is scraped once a second (fifteen
           times as often as Prometheus does by default; --scrape-every-s 0
           scrapes back to back, a stress test of CPU on a small machine);
           the scrape time (p50, max), its size and the series it holds.
  purge    `rows` runs 40 days old inserted in SQL, and `firing` noop
           plug-in jobs firing every second: lateness and runs recorded per second over
           a window without a purge, then over the whole purge of the old rows
           (POST /api/v1/runs:purge, the same paced batches as the
           retention rule); the purge's duration and rows per second.

Lateness is computed by MySQL from the run rows (started_at -
scheduled_at), as for the lateness scenario."""

import json
import threading
import time
import urllib.request

DEFAULTS = {
    "full": {
        "metrics": {"jobs": 1000000, "firing": 10000, "workers": 2, "seconds": 20,
                    "scrape_every_s": 1.0},
        "purge": {"rows": 10000000, "firing": 10000, "workers": 2, "seconds": 20},
    },
    "quick": {
        "metrics": {"jobs": 20000, "firing": 2000, "workers": 2, "seconds": 5,
                    "scrape_every_s": 1.0},
        "purge": {"rows": 200000, "firing": 1000, "workers": 2, "seconds": 5},
    },
}


def _lateness(b, c, t0, t1):
    hist = c.lateness_hist(t0, t1)
    n = c.count_runs(t0, t1)
    return {
        "recorded_per_s": round(n / (t1 - t0)),
        "p50_ms": b.percentile_from_hist(hist, 0.50),
        "p99_ms": b.percentile_from_hist(hist, 0.99),
        "max_ms": hist[-1][0] if hist else None,
        "early": sum(k for v, k in hist if v < 0),
    }


def _scrape(c):
    req = urllib.request.Request(c.api_url + "/metrics",
                                 headers={"Authorization": "Bearer " + c.token})
    t = time.monotonic()
    with urllib.request.urlopen(req, timeout=60) as r:
        body = r.read()
    return time.monotonic() - t, body


def _start(b, name, opts, firing_prefix="f", master_args=(), plugin=None):
    c = b.BenchCluster(name, workers=opts["workers"], master_args=master_args)
    c.prepare()
    c.start_endpoint()
    c.bulk_jobs(opts["firing"], "@every 1000ms", url=c.endpoint_url("/hit"), interval_ms=1000,
                prefix=firing_prefix, plugin=plugin)
    return c


def _warm(b, c, jobs, firing):
    """Measure only a cluster in its steady state: every job held by the
    workers (placing a million takes a while), then a full second of
    records at 90% of the firing rate or more. A window measured before
    that compares a cluster still busy with placement against itself."""
    def held():
        return sum(int(n.get("held") or 0) for n in c.nodes())
    c.wait_until(lambda: held() >= jobs, timeout=900, interval=0.5,
                 what="%d jobs held by the workers" % jobs)

    def steady():
        now = time.time()
        return c.count_runs(now - 3, now - 2) >= 0.9 * firing
    c.wait_until(steady, timeout=300, interval=1.0,
                 what="records at the firing rate (%d/s)" % firing)


def run_metrics(b, opts, ctx):
    c = _start(b, "metrics", opts)
    try:
        rest = opts["jobs"] - opts["firing"]
        if rest > 0:
            b.log("metrics: inserting %d @daily jobs" % rest)
            c.bulk_jobs(rest, "@daily", url="http://127.0.0.1:9/never", prefix="d")
        c.start_all()
        _warm(b, c, opts["jobs"], opts["firing"])
        w = opts["seconds"]
        t0 = time.time()
        time.sleep(w)
        t1 = time.time()
        times, size = [], 0
        t2 = time.time()
        every = opts.get("scrape_every_s", 1.0)
        while time.time() - t2 < w:
            dt, body = _scrape(c)
            times.append(dt)
            size = len(body)
            time.sleep(max(0.0, every - dt))
        t3 = time.time()
        series = 0
        for line in body.decode().splitlines():
            if line.startswith("hourglass_metrics_job_series "):
                series = int(float(line.split()[1]))
        time.sleep(3)  # the window's records are committed
        times.sort()
        return {
            "jobs": opts["jobs"],
            "firing_per_s": opts["firing"],
            "scrapes": len(times),
            "scrape_every_s": every,
            "scrape_p50_ms": round(times[len(times) // 2] * 1000, 1),
            "scrape_max_ms": round(times[-1] * 1000, 1),
            "scrape_bytes": size,
            "job_series": series,
            "without_scrapes": _lateness(b, c, t0, t1),
            "while_scraping": _lateness(b, c, t2, t3),
        }
    except BaseException:
        c.mark_failed()
        raise
    finally:
        c.stop()


def _insert_old_runs(b, c, rows):
    """rows runs of job 1 scheduled 40 days ago, ids carrying that time."""
    ms = int((time.time() - 40 * 86400) * 1000)
    chunk = 1000000
    for lo in range(1, rows + 1, chunk):
        hi = min(rows, lo + chunk - 1)
        c.sql("INSERT INTO runs (run_id, job_id, job_name, node, scheduled_at, started_at,"
              " finished_at, status)"
              " SELECT UNHEX(CONCAT(LPAD(HEX(%d + seq DIV 1000), 12, '0'), '7000',"
              " LPAD(HEX(seq), 16, '0'))), 1, 'old', 'worker-x',"
              " FROM_UNIXTIME((%d + seq DIV 1000) / 1000), FROM_UNIXTIME((%d + seq DIV 1000) / 1000),"
              " FROM_UNIXTIME((%d + seq DIV 1000) / 1000), IF(seq %% 10 = 0, 'failed', 'success')"
              " FROM seq_%d_to_%d" % (ms, ms, ms, ms, lo, hi))
    c.sql("INSERT INTO runs_by_status (run_id, status) SELECT run_id, status FROM runs"
          " WHERE job_name = 'old' AND status <> 'success'")


def run_purge(b, opts, ctx):
    # The leader's own retention pass would purge the same old rows at the
    # same time (they are past retention.runs): off, so that the window is
    # the manual purge's alone and its count is every row.
    # The firing jobs run the noop plug-in, as in the lateness scenario:
    # 10,000 HTTP calls/s alone take about a core of this machine's two
    # (README, http), which leaves MySQL no room to show what a purge does.
    c = _start(b, "purge", opts, master_args=("--retention-runs", "0s"),
               plugin={"name": "noop", "isolation": "thread"})
    try:
        b.log("purge: inserting %d runs 40 days old" % opts["rows"])
        t = time.monotonic()
        _insert_old_runs(b, c, opts["rows"])
        b.log("purge: inserted in %.1f s" % (time.monotonic() - t))
        c.start_all()
        _warm(b, c, opts["firing"], opts["firing"])
        w = opts["seconds"]
        t0 = time.time()
        time.sleep(w)
        t1 = time.time()
        done = {}

        def purge():
            cut = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 30 * 86400))
            t = time.monotonic()
            status, body = c.api("POST", "/api/v1/runs:purge", {"before": cut}, timeout=3600)
            done.update(status=status, body=body, seconds=time.monotonic() - t)

        th = threading.Thread(target=purge, daemon=True)
        t2 = time.time()
        th.start()
        th.join()  # the whole purge is the window, not its first seconds
        t3 = time.time()
        time.sleep(3)
        if done.get("status") != 200:
            raise AssertionError("purge: HTTP %s %s" % (done.get("status"), done.get("body")))
        deleted = done["body"]["deleted"]["runs"]
        return {
            "rows": opts["rows"],
            "firing_per_s": opts["firing"],
            "purged": deleted,
            "purge_s": round(done["seconds"], 1),
            "purged_per_s": round(deleted / done["seconds"]) if done["seconds"] else None,
            "without_purge": _lateness(b, c, t0, t1),
            "during_purge": _lateness(b, c, t2, t3),
        }
    except BaseException:
        c.mark_failed()
        raise
    finally:
        c.stop()
