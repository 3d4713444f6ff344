#!/usr/bin/env python3
"""Filtered job pages stay bounded (issue 13), against a real master and
MariaDB: a master whose walk reads one window of 100 jobs per request
(api.scan_budget 0, api.scan_window 100) over a catalogue of 3,000 jobs.

- A rare filter (last_run=success: 10 jobs) answers at once with what the
  first window held (nothing), "partial": true, and next = scanned_to = the
  100th job, scanned = 100.
- Following next to the end gives exactly the jobs SQL counts, in order,
  none twice: for last_run=success (pages of 3, partial ones on the way),
  kind=plugin (none at all: every page partial but the last), a namespace
  with kind=http (full pages, never partial).
- A page of index columns only (prefix, status) is never partial.
- A bad or foreign cursor is a 400 naming "after".
- `hourglass job list --last-run success` follows the partial answers and
  prints the jobs; with a limit it says which --cursor carries on; with
  --search 0 it makes one request and says the answer was partial.
"""

import time

from harness import log, run_scenario

N = 3000  # jobs: bulk/bulk-0001 .. bulk-2999 and the template
WINDOW = 100
NUM = "CAST(SUBSTRING(name, 6) AS UNSIGNED)"


def fill(c):
    """N - 1 paused copies of one paused job, written in SQL; a successful
    run for every 250th, and a later failed one for bulk-1000."""
    c.create_job("template", "0 0 3 * * ?", c.hits.url("/t"), namespace="bulk", status="paused")
    c.sql("INSERT INTO jobs (namespace, name, kind, schedule, timezone, status, misfire,"
          " timeout_ms, spec, version, created_at, updated_at)"
          " SELECT 'bulk', CONCAT('bulk-', LPAD(seq, 4, '0')), kind, schedule, timezone,"
          " 'paused', misfire, timeout_ms, spec, 1, UTC_TIMESTAMP(3), UTC_TIMESTAMP(3)"
          " FROM seq_1_to_%d JOIN jobs t ON t.name = 'template'" % (N - 1))
    run = ("INSERT INTO runs (run_id, job_id, job_name, node, scheduled_at, started_at,"
           " finished_at, status) SELECT UNHEX(LPAD(CONV(id * 4 + %d, 10, 16), 32, '0')), id,"
           " name, 'w1', UTC_TIMESTAMP(3) - INTERVAL %d MINUTE,"
           " UTC_TIMESTAMP(3) - INTERVAL %d MINUTE, UTC_TIMESTAMP(3) - INTERVAL %d MINUTE, '%s'"
           " FROM jobs WHERE name LIKE 'bulk-%%' AND %s")
    c.sql(run % (1, 20, 20, 20, "success", NUM + " % 250 = 0"))
    c.sql(run % (2, 10, 10, 10, "failed", "name = 'bulk-1000'"))
    c.sql("INSERT INTO runs_by_status (run_id, status) SELECT run_id, status FROM runs"
          " WHERE status = 'failed'")
    assert int(c.sql("SELECT COUNT(*) FROM jobs")[0][0]) == N


def expected(c, where):
    return [r[0] + "/" + r[1] for r in
            c.sql("SELECT namespace, name FROM jobs j WHERE %s ORDER BY namespace, name" % where)]


def walk(c, query, limit):
    """Every job of a walk from the start, and its answers."""
    keys, answers, after = [], [], ""
    while True:
        st, b = c.api("GET", "/api/v1/jobs?limit=%d&after=%s%s" % (limit, after, query))
        assert st == 200, (query, st, b)
        assert len(b["jobs"]) <= limit, (query, len(b["jobs"]))
        answers.append(b)
        keys += ["%s/%s" % (j["namespace"], j["name"]) for j in b["jobs"]]
        if b["partial"]:
            assert b["next"] and b["scanned_to"] == b["next"] and b["scanned"] == WINDOW, b
        elif b["next"] is not None:
            assert len(b["jobs"]) == limit, "a short complete page with a next cursor"
        if b["next"] is None:
            return keys, answers
        after = b["next"]
        assert len(answers) <= N, "the walk does not end"


def check_rare_filter(c):
    t0 = time.monotonic()
    st, b = c.api("GET", "/api/v1/jobs?limit=20&last_run=success&after=")
    took = time.monotonic() - t0
    assert st == 200, b
    # The first window: bulk/bulk-0001 .. bulk-0100, no success among them.
    assert b["jobs"] == [] and b["partial"] is True, b
    assert b["next"] == b["scanned_to"] == "bulk/bulk-0100" and b["scanned"] == WINDOW, b
    assert took < 5, "a one-window page took %.2f s" % took
    log("last_run=success: first answer in %.0f ms: partial, next %s, %d scanned"
        % (took * 1000, b["next"], b["scanned"]))

    last_success = ("(SELECT r.status FROM runs r WHERE r.job_id = j.id"
                    " ORDER BY r.scheduled_at DESC LIMIT 1) = 'success'")
    want = expected(c, last_success)
    assert len(want) == 10, want
    keys, answers = walk(c, "&last_run=success", 3)
    assert keys == want, (keys, want)
    assert len(set(keys)) == len(keys)
    partial = sum(a["partial"] for a in answers)
    assert partial >= N // WINDOW - 5, "%d partial answers of %d" % (partial, len(answers))
    log("last_run=success: %d jobs, as SQL counts, in %d answers (%d partial), none twice"
        % (len(keys), len(answers), partial))

    keys, answers = walk(c, "&kind=plugin", 50)
    assert keys == [] and expected(c, "kind = 'plugin'") == []
    assert len(answers) in (N // WINDOW, N // WINDOW + 1), len(answers)
    assert all(a["partial"] for a in answers[:-1]) and not answers[-1]["partial"], answers[-1]
    log("kind=plugin: nothing, in %d answers, each reading one window" % len(answers))

    keys, answers = walk(c, "&namespace=bulk&kind=http", 40)
    assert keys == expected(c, "namespace = 'bulk' AND kind = 'http'") and len(keys) == N
    assert not any(a["partial"] for a in answers), "a frequent filter came back partial"
    keys, answers = walk(c, "&namespace=bulk&prefix=bulk-1&status=paused", 70)
    assert keys == expected(c, "name LIKE 'bulk-1%' AND status = 'paused'") and len(keys) == 1000
    assert not any(a["partial"] for a in answers)
    log("frequent filter, index-only filters: full pages, never partial")

    for q in ("after=bulk", "after=bulk/..x", "after=other/bulk-0100&namespace=bulk&kind=plugin",
              "after=bulk/bulk-0100/x&kind=plugin"):
        st, b = c.api("GET", "/api/v1/jobs?" + q)
        assert st == 400 and b["error"]["field"] == "after", (q, st, b)


def check_cli(c):
    rc, out, err = c.cli("job", "list", "--last-run", "success", "--limit", "5")
    assert rc == 0, err
    names = [line.split()[0] for line in out.splitlines()[1:] if line.strip()]
    assert names == ["bulk-0250", "bulk-0500", "bulk-0750", "bulk-1250", "bulk-1500"], out
    assert "--cursor bulk/bulk-1500" in err and "partial" not in err, err
    doc = c.cli_json("job", "list", "--last-run", "success", "--cursor", "bulk/bulk-1500")
    assert [j["name"] for j in doc["jobs"]] == ["bulk-1750", "bulk-2000", "bulk-2250",
                                                "bulk-2500", "bulk-2750"], doc
    assert doc["next"] is None and doc["partial"] is False, doc
    rc, out, err = c.cli("job", "list", "--last-run", "success", "--search", "0")
    assert rc == 0, err
    assert "partial: searched 100 jobs up to bulk/bulk-0100" in err, err
    assert "--cursor bulk/bulk-0100" in err, err
    log("CLI: follows partial answers; --cursor to carry on; --search 0: %s" % err.strip())
    rc, out, bad = c.cli("job", "list", "--kind", "shell")
    assert rc != 0 and "kind" in bad, (rc, bad)


def scenario(c):
    fill(c)
    check_rare_filter(c)
    check_cli(c)


if __name__ == "__main__":
    run_scenario(scenario, workers=1,
                 master_args=["--api-scan-budget", "0s", "--api-scan-window", str(WINDOW)])
