#!/usr/bin/env python3
"""bench_overload: the `overload` scenario of scripts/bench (issue 14).

Offers twice a sustainable rate and reports what a user sees when demand
exceeds capacity: how many firings are still recorded per second, how many
fires were recorded as `skipped` and why, how late the runs that did start
were (p99), and master and worker memory, each next to the same figures at
the sustainable rate itself (run first, on a fresh cluster) so that
"memory stays within 2x" and "records at least 95% of the sustainable rate"
read straight off the table.

The sustainable rate is --offered, else what the throughput scenario
sustained earlier in the same invocation, else a fixed size (DEFAULTS).
"""

DEFAULTS = {
    "full": {"offered": 40000, "interval_ms": 200, "workers": 2, "seconds": 20},
    "quick": {"offered": 1000, "interval_ms": 200, "workers": 2, "seconds": 4},
}


def _started_lateness(bench, c, t0, t1):
    """Lateness histogram of the runs of the window that started (not skipped)."""
    rows = c.sql(
        "SELECT TIMESTAMPDIFF(MICROSECOND, scheduled_at, started_at) DIV 1000 AS l, COUNT(*)"
        " FROM runs WHERE scheduled_at >= '%s' AND scheduled_at < '%s' AND started_at IS NOT NULL"
        " AND status <> 'skipped' GROUP BY l ORDER BY l" % (bench.utc_sql(t0), bench.utc_sql(t1)))
    return [(int(a), int(b)) for a, b in rows]


def _skips(bench, c, t0, t1):
    """Skipped runs of the window by reason (the error, cut at its first
    digit so "42 runs waiting" and "43 runs waiting" count together)."""
    rows = c.sql("SELECT COALESCE(error, ''), COUNT(*) FROM runs WHERE scheduled_at >= '%s' AND"
                 " scheduled_at < '%s' AND status = 'skipped' GROUP BY error"
                 % (bench.utc_sql(t0), bench.utc_sql(t1)))
    out = {}
    for err, n in rows:
        reason = err.split(":")[0].strip() or "(no reason)"
        out[reason] = out.get(reason, 0) + int(n)
    # A backlog row stands for many fires (worker/backlog.h): count those.
    _, fires = c.backlog_fires(t0, t1)
    if fires:
        out["backlog"] = fires
    return out


def _one(bench, name, rate, opts, plugin):
    """A fresh cluster offered `rate` firings/s: the figures of its window."""
    interval = opts["interval_ms"]
    jobs = max(1, rate * interval // 1000)
    o = dict(opts, jobs=jobs)
    c, res = bench.scenario_firing(name, o, plugin=plugin)
    try:
        # measure_firings counted the window after its grace; the same window
        # again for what only this scenario reports.
        win = res["window_s"]
        t0, t1 = c.last_window
        hist = _started_lateness(bench, c, t0, t1)
        skips = _skips(bench, c, t0, t1)
        skipped = sum(skips.values())
        rss = res.get("rss_mb", {})
        out = {
            "offered_per_s": rate,
            "recorded_per_s": res["recorded_per_s"],
            "started_per_s": res["ran_per_s"],
            "skipped": skipped,
            "skipped_by_reason": skips,
            # Fires of the window not in MySQL after the grace: neither run
            # nor recorded as skipped (yet): the unbounded-delay signal.
            "not_recorded": max(0, round(rate * win) - res["recorded"]),
            "started_p50_ms": bench.percentile_from_hist(hist, 0.50),
            "started_p99_ms": bench.percentile_from_hist(hist, 0.99),
            "master_rss_mb": rss.get("master"),
            "worker_rss_mb": max([v for k, v in rss.items() if k.startswith("worker")] or [0]),
            "cpu_us_per_firing": res.get("cpu_us_per_firing"),
        }
        return res, out
    finally:
        c.stop()


def run_overload(bench, opts, ctx):
    base = int(opts.get("offered") or 0)
    if ctx.get("sustained_per_s") and "offered_explicit" not in opts:
        base = int(ctx["sustained_per_s"])
    # The same jobs as the throughput scenario, whose rate it doubles.
    plugin = {"name": "noop", "isolation": "thread"} if ctx.get("plugin_jobs") else None
    bench.log("overload: sustainable %d/s, then offered %d/s" % (base, 2 * base))
    _, at_base = _one(bench, "overload_base", base, opts, plugin)
    _, over = _one(bench, "overload", 2 * base, opts, plugin)
    out = {"sustainable": at_base, "offered_2x": over,
           "kind": "plugin noop (thread)" if plugin else "http"}
    if at_base.get("started_per_s") and over.get("started_per_s") is not None:
        out["started_vs_sustainable"] = round(over["started_per_s"] / at_base["started_per_s"], 3)
    if at_base.get("master_rss_mb") and over.get("master_rss_mb"):
        out["master_rss_ratio"] = round(over["master_rss_mb"] / at_base["master_rss_mb"], 2)
    if at_base.get("worker_rss_mb") and over.get("worker_rss_mb"):
        out["worker_rss_ratio"] = round(over["worker_rss_mb"] / at_base["worker_rss_mb"], 2)
    return out
