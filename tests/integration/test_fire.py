#!/usr/bin/env python3
"""A job "@every 1s" fires at least 3 times within 5 s, on time (never
early), with the four Hourglass headers, and every hit has a run row in
MySQL with status success."""

import time

from harness import RFC3339_MS, log, max_in_window, norm_run_id, parse_time, run_scenario

JOB = "fire"
WINDOW_S = 5.0
MIN_HITS_IN_WINDOW = 3


def scenario(c):
    created = time.time()
    c.create_job(JOB, "@every 1s", c.hits.url("/fire"))
    c.wait_until(lambda: c.hits.count("/fire") >= 6, timeout=15, what="6 hits on /fire")
    hits = c.hits.hits("/fire")
    times = [h["time"] for h in hits]

    first_after_create = times[0] - created
    best = max_in_window(times, WINDOW_S)
    gaps = ["%.3f" % (b - a) for a, b in zip(times, times[1:])]
    from_create = sum(1 for t in times if t - created <= WINDOW_S)
    log("%d hits within %.0f s of the create call" % (from_create, WINDOW_S))
    log("first hit %.3f s after create; max %d hits in a %.0f s window; gaps %s"
        % (first_after_create, best, WINDOW_S, " ".join(gaps)))
    assert best >= MIN_HITS_IN_WINDOW, "only %d hits within %.0f s" % (best, WINDOW_S)

    scheduled = []
    for h in hits:
        for header in ("job", "run_id", "scheduled_at", "attempt"):
            assert h[header], "hit without Hourglass-%s header: %r" % (header, h["headers"])
        assert h["job"] == JOB, "Hourglass-Job is %r, want %r" % (h["job"], JOB)
        assert h["attempt"] == "1", "Hourglass-Attempt is %r, want 1" % h["attempt"]
        assert RFC3339_MS.match(h["scheduled_at"]), \
            "Hourglass-Scheduled-At %r is not RFC 3339 with milliseconds" % h["scheduled_at"]
        at = parse_time(h["scheduled_at"])
        # Never early: the request arrives at or after its scheduled time
        # (the header has ms resolution, hence the 1 ms allowance).
        assert h["time"] >= at - 0.001, "fired %.3f s early (scheduled %s)" % (at - h["time"], h["scheduled_at"])
        scheduled.append(at)
    lateness = sorted(h["time"] - s for h, s in zip(hits, scheduled))
    log("lateness vs Scheduled-At: min %.1f ms, median %.1f ms, max %.1f ms"
        % (lateness[0] * 1e3, lateness[len(lateness) // 2] * 1e3, lateness[-1] * 1e3))
    assert len(set(scheduled)) == len(scheduled), "a scheduled time was fired twice: %r" % sorted(scheduled)
    steps = sorted(round(b - a, 3) for a, b in zip(scheduled, scheduled[1:]))
    assert all(abs(s - 1.0) < 0.002 for s in steps), "scheduled times not 1 s apart: %r" % steps

    # Every hit has its run row, with status success and HTTP 200.
    want = {norm_run_id(h["run_id"]): h for h in hits}

    # A run's row says "running" until the worker's record of its end
    # lands (records travel in batches): wait for the ends.
    def all_recorded():
        runs = {r["run_id"]: r for r in c.runs_in_db(JOB)}
        done = all(rid in runs and runs[rid]["status"] != "running" for rid in want)
        return runs if done else None

    runs = c.wait_until(all_recorded, timeout=20, what="a finished run row for each of %d hits" % len(want))
    for rid, h in want.items():
        r = runs[rid]
        assert r["status"] == "success", "run %s has status %r" % (rid, r["status"])
        assert r["http_status"] == 200, "run %s has http_status %r" % (rid, r["http_status"])
        assert abs(r["scheduled_at"] - parse_time(h["scheduled_at"])) < 0.0015, \
            "run %s: scheduled_at %s in MySQL, %s in the header" % (rid, r["scheduled_at"], h["scheduled_at"])
    log("%d hits, %d run rows in MySQL (all hits recorded, status success)" % (len(hits), len(runs)))


if __name__ == "__main__":
    run_scenario(scenario, workers=2)
