"""exactly_once: count, per job, how often each scheduled time reached the
hit server (hits carry the Hourglass-Scheduled-At header).

A job "@every N" has its scheduled times on one grid, whoever fires it.
Between the first and the last scheduled time seen, every grid point must
have been hit exactly once: a point hit twice is a double, a point never
hit is a loss. Standard library only."""

import collections

from harness import parse_time


def tally(hits, period_s=1.0):
    """Doubles and losses among hits (dicts with "scheduled_at") of one job.
    Returns a dict: hits, times (distinct scheduled times), doubles
    ({time: count} for times hit more than once), losses (missing grid
    points, as Unix seconds), first, last (Unix seconds or None)."""
    counts = collections.Counter(h["scheduled_at"] for h in hits)
    doubles = {k: v for k, v in counts.items() if v > 1}
    times = sorted(parse_time(k) for k in counts)
    losses = []
    for a, b in zip(times, times[1:]):
        steps = round((b - a) / period_s)
        # Scheduled times carry milliseconds: a grid point is within 2 ms.
        if abs((b - a) - steps * period_s) > 0.002:
            raise AssertionError("scheduled times %.3f and %.3f are off the %.3f s grid" % (a, b, period_s))
        losses.extend(a + i * period_s for i in range(1, steps))
    return {
        "hits": len(hits),
        "times": len(times),
        "doubles": doubles,
        "losses": losses,
        "first": times[0] if times else None,
        "last": times[-1] if times else None,
    }


def summary(name, t):
    return "%s: %d hits over %d scheduled times, %d doubled, %d lost" % (
        name, t["hits"], t["times"], len(t["doubles"]), len(t["losses"]))
