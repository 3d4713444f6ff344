#!/usr/bin/env python3
"""Leader and standbys, writes through a standby, and the jobs list's node
and last-run filters (issue 13), against two real masters on one MariaDB
and a real worker.

- GET /api/v1/masters, on the leader and on the standby, lists both
  masters: the leader first with its epoch (the one /healthz reports), the
  standby with the same epoch (the leader's it follows), both up; it needs
  a token (401 without one); `hourglass masters` prints them.
- A write sent to the standby is refused with 503 not_leader naming the
  leader, as before; with "Hourglass-Forward: leader" (what the dashboard
  sends) the standby passes it to the leader and answers with the
  leader's reply: the job is created, then paused, as the leader shows. A
  request already forwarded once is never forwarded again.
- GET /api/v1/jobs?last_run=failed lists the job whose last run failed and
  not the one whose last run succeeded (and the other way round);
  node=<worker> lists the jobs it holds, an unknown node none; bad values
  are refused naming the field. Runs listed name their job's namespace.
- A master that stops is shown as down once its heartbeat is 10 s old.
"""

import time

from harness import log, run_scenario


def masters_at(c, url):
    st, body = c.api_at(url, "GET", "/api/v1/masters")
    assert st == 200, (url, st, body)
    return body["masters"]


def check_masters(c):
    leader_url, standby_url = c.master_urls
    st, health = c.api_at(leader_url, "GET", "/healthz", token=None)
    epoch = health["epoch"]

    def both_reported():
        ms = masters_at(c, standby_url)
        return ms if len(ms) == 2 and ms[1].get("epoch") == epoch else None
    ms = c.wait_until(both_reported, timeout=20, what="both masters in GET /api/v1/masters")
    assert masters_at(c, leader_url) == ms or len(masters_at(c, leader_url)) == 2
    lead, stand = ms
    assert lead["role"] == "leader" and lead["state"] == "up", lead
    assert lead["epoch"] == epoch and lead["api_url"] == leader_url, (lead, epoch)
    assert stand["role"] == "standby" and stand["state"] == "up", stand
    assert stand["api_url"] == standby_url and stand["name"] != lead["name"], stand
    assert lead["last_heartbeat"] and stand["endpoint"], ms
    st, body = c.api_at(standby_url, "GET", "/api/v1/masters", token=None)
    assert st == 401, (st, body)
    # `hourglass masters`, asked of the standby.
    rc, out, err = c.cli("masters", master=standby_url)
    assert rc == 0, err
    lines = out.splitlines()
    assert lines[0].split()[:4] == ["NAME", "ROLE", "STATE", "EPOCH"] or "name" in lines[0].lower(), out
    assert lead["name"] in lines[1] and "leader" in lines[1] and str(epoch) in lines[1], out
    assert stand["name"] in lines[2] and "standby" in lines[2] and "up" in lines[2], out
    got = c.cli_json("masters", master=standby_url)
    assert [m["role"] for m in got["masters"]] == ["leader", "standby"], got
    log("masters: %s leads (epoch %d), %s stands by; both up" % (lead["name"], epoch,
                                                                  stand["name"]))
    return lead, stand


def check_forward(c):
    leader_url, standby_url = c.master_urls
    spec = {"name": "via-standby", "schedule": "@every 1h", "http": {"url": c.hits.url("/v")}}
    st, body = c.api_at(standby_url, "POST", "/api/v1/jobs", spec)
    assert st == 503 and body["error"]["code"] == "not_leader", (st, body)
    assert body["error"]["leader"] == leader_url, body
    fwd = {"Hourglass-Forward": "leader"}
    st, body = c.api_at(standby_url, "POST", "/api/v1/jobs", spec, headers=fwd)
    assert st == 201 and body["name"] == "via-standby", (st, body)
    st, job = c.api_at(leader_url, "GET", "/api/v1/jobs/via-standby")
    assert st == 200 and job["status"] == "active", (st, job)
    # The leader's refusals come back as they are (a second create: 409).
    st, body = c.api_at(standby_url, "POST", "/api/v1/jobs", spec, headers=fwd)
    assert st == 409, (st, body)
    st, body = c.api_at(standby_url, "POST", "/api/v1/jobs/via-standby/pause?namespace=default",
                        {"note": "through the standby"}, headers=fwd)
    assert st == 200, (st, body)
    st, job = c.api_at(leader_url, "GET", "/api/v1/jobs/via-standby")
    assert job["status"] == "paused", job
    # Never a second hop.
    st, body = c.api_at(standby_url, "POST", "/api/v1/jobs/via-standby/resume", headers=dict(
        fwd, **{"Hourglass-Forwarded": "1"}))
    assert st == 503 and body["error"]["code"] == "not_leader", (st, body)
    # The token is the caller's: a viewer's write is refused (by the standby
    # already, which checks roles too).
    st, view = c.api("POST", "/api/v1/tokens", {"name": "peek", "role": "viewer"})
    assert st == 201, (st, view)
    st, body = c.api_at(standby_url, "POST", "/api/v1/jobs/via-standby/resume", headers=fwd,
                        token=view["token"])
    assert st == 403, (st, body)
    log("standby: writes refused (503 not_leader) unless forwarded; forwarded ones reach the "
        "leader (create 201, duplicate 409, pause); no second hop; roles hold")


def check_filters(c, node):
    c.create_job("ends-well", "@every 1h", c.hits.url("/ok"))
    c.create_job("ends-badly", "@every 1h", c.hits.url("/status/500"))
    for name in ("ends-well", "ends-badly"):
        st, body = c.api("POST", "/api/v1/jobs/%s/trigger" % name)
        assert st in (200, 201, 202), (name, st, body)

    def finished():
        st, b = c.api("GET", "/api/v1/runs?limit=50")
        done = {r["job"]: r for r in b["runs"] if r["status"] != "running"}
        return b["runs"] if {"ends-well", "ends-badly"} <= set(done) else None
    runs = c.wait_until(finished, timeout=30, what="both runs finished")
    assert all(r.get("namespace") == "default" for r in runs if r["job"].startswith("ends-")), runs

    def names(query):
        st, b = c.api("GET", "/api/v1/jobs?" + query)
        assert st == 200, (query, st, b)
        return sorted(j["name"] for j in b["jobs"])
    assert names("last_run=failed") == ["ends-badly"], names("last_run=failed")
    assert names("last_run=success") == ["ends-well"], names("last_run=success")
    assert names("last_run=failed&prefix=ends-w") == []
    held = c.wait_until(lambda: (lambda n: n if {"ends-well", "ends-badly"} <= set(n) else None)(
        names("node=" + node)), timeout=20, what="the worker's jobs by node")
    assert "via-standby" not in held, held  # paused: no node holds it
    assert names("node=no-such-node") == []
    # Every filter at once, past a cursor: one statement still.
    assert names("namespace=default&prefix=ends-&status=active&kind=http&node=%s"
                 "&last_run=failed&after=default/ends-a&limit=10" % node) == ["ends-badly"]
    for query, field in (("node=bad%20name", "node"), ("last_run=fine", "last_run")):
        st, b = c.api("GET", "/api/v1/jobs?" + query)
        assert st == 400 and b["error"].get("field") == field, (query, st, b)
    log("jobs list: last_run=failed/success and node=%s filter server-side (%d jobs held)" % (
        node, len(held)))


def check_down(c, stand):
    leader_url = c.master_urls[0]
    t0 = time.monotonic()
    c.kill_master(1)

    def shown_down():
        ms = {m["name"]: m for m in masters_at(c, leader_url)}
        return ms.get(stand["name"], {}).get("state") == "down"
    c.wait_until(shown_down, timeout=25, what="the stopped standby shown as down")
    lead = masters_at(c, leader_url)[0]
    assert lead["role"] == "leader" and lead["state"] == "up", lead
    log("a killed standby is shown as down after %.1f s" % (time.monotonic() - t0))


def scenario(c):
    lead, stand = check_masters(c)
    check_forward(c)
    worker = c.wait_until(lambda: (c.active_nodes() or [None])[0], timeout=20, what="a worker")
    check_filters(c, worker)
    check_down(c, stand)


if __name__ == "__main__":
    run_scenario(scenario, workers=1, masters=2)
