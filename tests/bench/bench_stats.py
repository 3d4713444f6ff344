#!/usr/bin/env python3
"""bench_stats: several runs of one scenario made into one figure each, and
the comparison of two bench results (scripts/bench compare A.json B.json).

One run on a shared 2-core machine is noise; a figure is the median of N
runs with the range (min-max) beside it, and the JSON keeps every run so a
later reader can see how wide the spread was. Standard library only.

    python3 tests/bench/bench_stats.py compare A.json B.json
"""

import json
import sys


def flatten(res, prefix=""):
    """{"a": {"b": 1}} -> ("a.b", 1), ...; lists stay whole."""
    for k, v in res.items():
        if isinstance(v, dict):
            yield from flatten(v, prefix + k + ".")
        else:
            yield prefix + k, v


def _number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def median(xs):
    s = sorted(xs)
    n = len(s)
    if n == 0:
        return None
    m = s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2.0
    # Counts stay integers where the runs were (2 runs of 3 and 4 -> 3.5).
    return int(m) if all(isinstance(x, int) for x in s) and m == int(m) else m


def aggregate(runs):
    """runs: list of result dicts of one scenario. Returns a flat dict
    figure -> {"median", "min", "max", "n"} for numbers, and figure -> value
    for the rest (taken from the first run that has it)."""
    out = {}
    keys = []
    per_key = {}
    for r in runs:
        for k, v in flatten(r):
            if k not in per_key:
                keys.append(k)
                per_key[k] = []
            per_key[k].append(v)
    for k in keys:
        vals = per_key[k]
        nums = [v for v in vals if _number(v)]
        if nums and len(nums) == len(vals):
            out[k] = {"median": median(nums), "min": min(nums), "max": max(nums), "n": len(nums)}
        else:
            out[k] = next((v for v in vals if v is not None), None)
    return out


def show(v):
    """A figure for the table: "median (min-max)" for several runs."""
    if isinstance(v, dict) and "median" in v:
        m, lo, hi = v["median"], v["min"], v["max"]
        if v.get("n", 1) <= 1 or lo == hi:
            return _fmt(m)
        return "%s (%s-%s)" % (_fmt(m), _fmt(lo), _fmt(hi))
    return _fmt(v)


def _fmt(v):
    if isinstance(v, float):
        return "%.2f" % v
    if isinstance(v, list):
        return ", ".join(_fmt(x) for x in v)
    return str(v)


def figures(doc):
    """Scenario -> flat figure -> number, from a bench JSON of any version:
    the median of the runs when it has several (results[s]["summary"]),
    else the single run's values."""
    out = {}
    for sc, res in (doc.get("results") or {}).items():
        flat = {}
        if isinstance(res, dict) and isinstance(res.get("summary"), dict):
            for k, v in res["summary"].items():
                if isinstance(v, dict) and "median" in v:
                    flat[k] = v["median"]
                elif _number(v):
                    flat[k] = v
        elif isinstance(res, dict):
            for k, v in flatten(res):
                if _number(v):
                    flat[k] = v
        out[sc] = flat
    return out


# Figures that vary by construction (window lengths, run counts): left out
# of the comparison so that it shows what changed in the product.
_IGNORED = ("window_s", ".n", "loadavg_start")


def compare(a, b):
    """Rows (scenario, figure, a, b, diff, pct) for every figure in both."""
    fa, fb = figures(a), figures(b)
    rows = []
    for sc in fa:
        if sc not in fb:
            continue
        for k, va in fa[sc].items():
            if k not in fb[sc] or any(k.endswith(x) or x + "." in k for x in _IGNORED):
                continue
            vb = fb[sc][k]
            d = vb - va
            pct = (100.0 * d / va) if va else None
            rows.append((sc, k, va, vb, d, pct))
    return rows


def print_compare(path_a, path_b, out=sys.stdout):
    with open(path_a) as f:
        a = json.load(f)
    with open(path_b) as f:
        b = json.load(f)
    print("A: %s  commit %s  %s  load %s" % (path_a, a.get("git_commit"), a.get("timestamp"),
                                            _load(a)), file=out)
    print("B: %s  commit %s  %s  load %s" % (path_b, b.get("git_commit"), b.get("timestamp"),
                                            _load(b)), file=out)
    rows = [("scenario", "figure", "A", "B", "B-A", "%")]
    for sc, k, va, vb, d, pct in compare(a, b):
        rows.append((sc, k, _fmt(va), _fmt(vb), ("+" if d > 0 else "") + _fmt(d),
                     "" if pct is None else "%+.1f%%" % pct))
    if len(rows) == 1:
        print("no figure in common", file=out)
        return 1
    w = [max(len(r[i]) for r in rows) for i in range(6)]
    for i, r in enumerate(rows):
        print("  ".join(r[j].ljust(w[j]) for j in range(6)).rstrip(), file=out)
        if i == 0:
            print("  ".join("-" * w[j] for j in range(6)), file=out)
    return 0


def _load(doc):
    la = doc.get("loadavg_start")
    return "%.2f" % la[0] if isinstance(la, list) and la else "?"


def main(argv):
    if len(argv) != 3 or argv[0] != "compare":
        print("usage: scripts/bench compare A.json B.json", file=sys.stderr)
        return 2
    try:
        return print_compare(argv[1], argv[2])
    except (OSError, ValueError) as e:
        print("bench compare: %s" % e, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
