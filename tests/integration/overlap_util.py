"""Helpers of the overlap tests: runs at a /slow/MS endpoint of the hit
server as intervals [arrival, end], and the overlaps between them."""


def intervals(hits, now):
    """(start, end, hit) per hit, sorted by start; a run still going ends now."""
    return sorted(((h["time"], h.get("end") or now, h) for h in hits), key=lambda t: t[0])


def overlaps(hits, now, tolerance=0.0):
    """Pairs of runs that were at the endpoint at the same time (one started
    more than tolerance seconds before the other ended)."""
    iv = intervals(hits, now)
    bad = []
    for i, (s1, e1, h1) in enumerate(iv):
        for s2, e2, h2 in iv[i + 1:]:
            if s2 >= e1 - tolerance:
                break
            bad.append((h1["scheduled_at"], h2["scheduled_at"], round(e1 - s2, 3)))
    return bad


def max_concurrent(hits, now):
    """Most runs at the endpoint at once."""
    events = []
    for s, e, _ in intervals(hits, now):
        events += [(s, 1), (e, -1)]
    best = cur = 0
    for _, d in sorted(events, key=lambda x: (x[0], x[1])):
        cur += d
        best = max(best, cur)
    return best
