#!/usr/bin/env python3
"""The API the dashboard stands on (issue 13), against a real master,
worker and MariaDB:

- GET /api/v1/jobs in keyset mode: walking every page with `after`
  returns each job exactly once, in (namespace, name) order, and `next` is
  null on the last page; `prefix` (with "_" taken literally, not as a
  LIKE wildcard), `status`, `kind` and `namespace` filter; a page shows each
  job's next fire (active jobs only) and its last run; a bad cursor or kind
  is a 400 naming the field.
- GET /api/v1/whoami names the token and its role.
- GET /api/v1/schedule/explain gives the next fires of a schedule in its
  zone, and refuses a bad schedule or zone with the field and message a job
  creation gives.
- GET /api/v1/runs/stats counts the runs of the last hour by minute and
  status; GET /api/v1/runs takes a node filter.
- The dashboard's files are served without a token at / and /ui/*, with
  a strict Content-Security-Policy, nosniff and an ETag (304 on a repeat);
  nothing under /api/ becomes public.
- A standby serves the files and every read the dashboard makes; a write
  there answers not_leader with the leader's URL.
"""

import time
import urllib.error
import urllib.request

from harness import log, parse_time, run_scenario

N_DEFAULT = 230
N_OTHER = 25


def page_all(c, query, limit):
    """Every job of a keyset walk, and the number of pages it took."""
    jobs, after, pages = [], "", 0
    while True:
        st, body = c.api("GET", "/api/v1/jobs?limit=%d&after=%s%s" % (limit, after, query))
        assert st == 200, (st, body)
        pages += 1
        assert len(body["jobs"]) <= limit, len(body["jobs"])
        jobs += body["jobs"]
        if body["next"] is None:
            return jobs, pages
        # A short page with a cursor only when the walk was cut short
        # (docs/api.md, partial; test_jobs_partial.py).
        assert len(body["jobs"]) == limit or body["partial"], "a short page with a next cursor"
        after = body["next"]
        assert pages < 100, "the walk does not end"


def make_catalogue(c, url):
    jobs = []
    for i in range(N_DEFAULT):
        job = {"name": "job-%03d" % i, "schedule": "0 0 12 * * ?", "http": {"url": url}}
        if i % 10 == 0:
            job["status"] = "paused"
        jobs.append(job)
    # Underscore and letters: prefix "a_" must not match "ab-1".
    jobs += [{"name": n, "schedule": "@every 1h", "http": {"url": url}}
             for n in ("a_1", "a_2", "ab-1", "axb")]
    for i in range(N_OTHER):
        jobs.append({"name": "job-%03d" % i, "namespace": "other", "schedule": "@every 1h",
                     "http": {"url": url}})
    st, body = c.api("POST", "/api/v1/jobs:batch", {"jobs": jobs})
    assert st == 201, (st, body)
    return jobs


def check_paging(c):
    # The columns' collation ignores case: "B" (0x42) sorts before "_".
    want = sorted((("other" if j.get("namespace") else "default"), j["name"])
                  for j in c.catalogue)
    want.sort(key=lambda k: (k[0].upper(), k[1].upper()))
    got, pages = page_all(c, "", 40)
    keys = [(j["namespace"], j["name"]) for j in got]
    assert keys == want, "keyset walk: %d jobs, want %d (first diff %r)" % (
        len(keys), len(want), next((a, b) for a, b in zip(keys, want) if a != b) if keys else None)
    log("keyset walk: %d jobs in %d pages of 40, each once, in order" % (len(keys), pages))

    got, _ = page_all(c, "&namespace=default&prefix=job-1", 30)
    names = [j["name"] for j in got]
    assert names == ["job-%03d" % i for i in range(100, 200)], names[:5]
    got, _ = page_all(c, "&prefix=a_", 10)
    assert [j["name"] for j in got] == ["a_1", "a_2"], [j["name"] for j in got]
    # A prefix in every namespace pages by (name, namespace).
    got, _ = page_all(c, "&prefix=job-02", 3)
    keys = [(j["name"], j["namespace"]) for j in got]
    assert keys == sorted(("job-%03d" % i, ns) for i in range(20, 30)
                          for ns in ("default", "other") if ns == "default" or i < N_OTHER), keys
    got, _ = page_all(c, "&status=paused", 7)
    assert {j["status"] for j in got} == {"paused"} and len(got) == N_DEFAULT // 10, len(got)
    got, _ = page_all(c, "&kind=plugin", 10)
    assert got == [], got
    got, _ = page_all(c, "&namespace=other&kind=http", 10)
    assert len(got) == N_OTHER and {j["namespace"] for j in got} == {"other"}
    log("prefix (literal _), status, kind and namespace filters")

    st, body = c.api("GET", "/api/v1/jobs?prefix=job-00&namespace=default&limit=5")
    assert st == 200, body
    paused, active = body["jobs"][0], body["jobs"][1]
    assert paused["status"] == "paused" and paused["next_fire"] is None, paused
    # "0 0 12 * * ?" in UTC: the next noon.
    nf = parse_time(active["next_fire"])
    assert nf > time.time() and time.gmtime(nf).tm_hour == 12, active["next_fire"]
    assert "last_run" in active and "node" in active, active

    for q, field in (("after=nonsense", "after"), ("kind=shell", "kind"),
                     ("prefix=-x", "prefix"), ("after=other/job-001&namespace=default", "after")):
        st, body = c.api("GET", "/api/v1/jobs?" + q)
        assert st == 400 and body["error"]["field"] == field, (q, st, body)
    # The paged list without keyset arguments is unchanged (total, offset).
    st, body = c.api("GET", "/api/v1/jobs?limit=2&offset=1")
    assert st == 200 and body["total"] == len(c.catalogue) and len(body["jobs"]) == 2, body


def check_whoami_explain(c):
    st, me = c.api("GET", "/api/v1/whoami")
    assert st == 200 and me["role"] == "admin" and me["name"] == "bootstrap-admin", me
    st, tok = c.api("POST", "/api/v1/tokens", {"name": "dash-viewer", "role": "viewer"})
    assert st == 201, tok
    st, me = c.api("GET", "/api/v1/whoami", token=tok["token"])
    assert st == 200 and me["role"] == "viewer" and me["namespace"] is None, me

    st, ex = c.api("GET", "/api/v1/schedule/explain?schedule=0+30+9+*+*+%3F"
                          "&timezone=Europe/Paris&count=3&from=2026-07-01T00:00:00Z",
                   token=tok["token"])
    assert st == 200, ex
    # 09:30 in Paris in July is 07:30 UTC.
    assert ex["next"] == ["2026-07-01T07:30:00.000Z", "2026-07-02T07:30:00.000Z",
                          "2026-07-03T07:30:00.000Z"], ex
    assert ex["timezone"] == "Europe/Paris" and ex["description"], ex
    st, bad = c.api("GET", "/api/v1/schedule/explain?schedule=0+0+25+*+*+%3F")
    assert st == 400 and bad["error"]["field"] == "schedule", bad
    st, create = c.api("POST", "/api/v1/jobs", {"name": "bad", "schedule": "0 0 25 * * ?",
                                                 "http": {"url": c.hits.url("/x")}})
    assert create["error"]["message"] == bad["error"]["message"], (create, bad)
    st, bad = c.api("GET", "/api/v1/schedule/explain?schedule=@daily&timezone=Mars/Olympus")
    assert st == 400 and bad["error"]["field"] == "timezone", bad
    log("whoami; explain: next fires in the zone, errors as a creation gives them: %s"
        % bad["error"]["message"])


def check_stats(c):
    c.create_job("tick", "@every 1s", c.hits.url("/tick"))

    def counted():
        st, s = c.api("GET", "/api/v1/runs/stats?window=10m")
        assert st == 200, s
        return s if sum(b["counts"].get("success", 0) for b in s["buckets"]) >= 2 else None
    s = c.wait_until(counted, timeout=30, what="two successful runs in the stats")
    assert s["bucket_s"] == 60 and 10 <= len(s["buckets"]) <= 11, (s["bucket_s"], len(s["buckets"]))
    node = c.job("tick")["node"] or next(iter(c.workers))
    st, runs = c.api("GET", "/api/v1/runs?job=tick&node=%s" % node)
    assert st == 200 and runs["runs"] and {r["node"] for r in runs["runs"]} == {node}, runs
    st, runs = c.api("GET", "/api/v1/runs?job=tick&node=elsewhere")
    assert st == 200 and runs["runs"] == [], runs
    st, bad = c.api("GET", "/api/v1/runs?node=-x")
    assert st == 400 and bad["error"]["field"] == "node", bad
    st, bad = c.api("GET", "/api/v1/runs/stats?window=2d")
    assert st == 400 and bad["error"]["field"] == "window", bad
    log("runs/stats: %d buckets, successes counted" % len(s["buckets"]))


def check_static(c):
    def get(path, method="GET", headers=None):
        req = urllib.request.Request(c.api_url + path, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, r.headers, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read()
    st, h, body = get("/")
    assert st == 200 and h["Content-Type"].startswith("text/html"), (st, dict(h))
    assert b"<script" in body and b"type=\"module\"" in body, body[:200]
    csp = h["Content-Security-Policy"]
    for part in ("default-src 'none'", "script-src 'self'", "frame-ancestors 'none'"):
        assert part in csp, csp
    assert "unsafe-inline" not in csp, csp
    assert h["X-Content-Type-Options"] == "nosniff" and h["Cache-Control"] == "no-cache", dict(h)
    st, h2, _ = get("/", headers={"If-None-Match": h["ETag"]})
    assert st == 304, st
    st, h, _ = get("/ui/app.js")
    assert st == 200 and h["Content-Type"].startswith("text/javascript"), (st, dict(h))
    st, h, _ = get("/ui/style.css")
    assert st == 200 and h["Content-Type"].startswith("text/css"), (st, dict(h))
    assert get("/ui/nothing.js")[0] == 404
    assert get("/", method="POST")[0] == 405
    assert get("/ui/../api/v1/jobs")[0] in (401, 404)
    for path in ("/api/v1/whoami", "/api/v1/jobs?after=", "/api/v1/schedule/explain",
                 "/api/v1/runs/stats"):
        st, _ = c.api("GET", path, token=None)
        assert st == 401, (path, st)
    log("static files public with CSP, nosniff, ETag/304; new API routes need a token")


def check_standby(c):
    """The standby serves the dashboard and everything it reads; a write
    names the leader, which the dashboard shows."""
    url = c.master_urls[1]
    c.wait_until(lambda: (c.health(1) or {}).get("role") == "standby", timeout=20,
                 what="master 2 standing by")
    for path in ("/api/v1/whoami", "/api/v1/jobs?after=&limit=5",
                 "/api/v1/schedule/explain?schedule=@daily", "/api/v1/runs/stats"):
        st, body = c.api_at(url, "GET", path)
        assert st == 200, (path, st, body)
    st, body = c.api_at(url, "POST", "/api/v1/jobs/job-001/pause")
    assert st == 503 and body["error"]["code"] == "not_leader", (st, body)
    assert body["error"]["leader"] == c.master_urls[0], body
    req = urllib.request.Request(url + "/")
    with urllib.request.urlopen(req, timeout=10) as r:
        assert r.status == 200
    log("standby: dashboard files and its reads served; a write names the leader")


def scenario(c):
    c.catalogue = make_catalogue(c, c.hits.url("/unused"))
    check_static(c)
    check_paging(c)
    check_whoami_explain(c)
    check_stats(c)
    check_standby(c)


if __name__ == "__main__":
    run_scenario(scenario, workers=1, masters=2)
