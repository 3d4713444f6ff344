#!/usr/bin/env python3
"""Routing by labels (issue 11): a job whose label selector (=, !=,
exists, absent) no live worker matches waits, shown as "unplaced" with
the reason in GET /jobs/{name} and `hourglass job get`, and fires nothing;
it is placed, and fires, as soon as a matching worker joins. Jobs only
ever run on workers their selector matches (checked on every run row), a
selector is given in the CLI form --labels 'region=eu,!spot', and a bad
selector is refused naming the field."""

from harness import log, run_scenario

WORKERS = {
    "w-eu": {"region": "eu"},
    "w-eu-spot": {"region": "eu", "spot": "true"},
    "w-us": {"region": "us"},
}


def runs_by_node(c, job):
    out = {}
    for r in c.runs_in_db(job):
        out[r["node"]] = out.get(r["node"], 0) + 1
    return out


def scenario(c):
    for name, labels in WORKERS.items():
        c.start_worker(name, labels=labels, wait=False)
    c.wait_workers(3, names=list(WORKERS))

    # Nobody has a gpu: the job waits, unplaced, and says why.
    c.create_job("gpu-job", "@every 1s", c.hits.url("/gpu"),
                 executor={"labels": {"gpu": {"exists": True}}})
    job = c.wait_until(lambda: (lambda j: j if j.get("placement") else None)(c.job("gpu-job")),
                       timeout=10, what="a placement for gpu-job")
    pl = job["placement"]
    assert pl["state"] == "unplaced", "gpu-job should be unplaced: %r" % pl
    assert "executor.labels (gpu)" in pl["reason"], "the reason should name the selector: %r" % pl
    assert job["node"] is None, "an unplaced job has no node: %r" % job["node"]
    rc, out, err = c.cli("job", "get", "gpu-job")
    assert rc == 0, err
    assert "Placement:" in out and "unplaced" in out and "executor.labels (gpu)" in out, out
    assert "Labels:" in out and "gpu" in out, out

    # The CLI form: region=eu but not a spot instance; and != over the region.
    rc, out, err = c.cli("job", "create", "eu-steady", "--schedule", "@every 1s",
                         "--http-url", c.hits.url("/eu"), "--labels", "region=eu,!spot")
    assert rc == 0, "job create --labels: %s" % err
    assert c.job("eu-steady")["executor"]["labels"] == {"region": "eu", "spot": {"exists": False}}
    c.create_job("not-us", "@every 1s", c.hits.url("/notus"),
                 executor={"labels": {"region": {"not": "us"}}, "strategy": "round_robin"})
    c.wait_until(lambda: c.hits.count("/eu") >= 3 and c.hits.count("/notus") >= 3, timeout=20,
                 what="3 hits of eu-steady and of not-us")
    assert c.hits.count("/gpu") == 0, "gpu-job fired while unplaced"
    pl = c.job("eu-steady")["placement"]
    assert pl["state"] == "placed" and pl["nodes"] == ["w-eu"], pl

    # round_robin takes the matching workers in turn; random picks one of them.
    status, body = c.api("POST", "/api/v1/jobs:batch", {"jobs": [
        {"name": "rr-%d" % i, "schedule": "@yearly", "http": {"url": c.hits.url("/rr")},
         "executor": {"labels": {"region": "eu"}, "strategy": "round_robin"}} for i in range(4)]
        + [{"name": "rnd-%d" % i, "schedule": "@yearly", "http": {"url": c.hits.url("/rnd")},
            "executor": {"labels": {"region": "us"}, "strategy": "random"}} for i in range(2)]})
    assert status == 201, body
    rr = [c.job("rr-%d" % i)["node"] for i in range(4)]
    # (In turn as they are placed; a batch is placed in table order.)
    assert sorted(rr) == ["w-eu", "w-eu", "w-eu-spot", "w-eu-spot"], \
        "round_robin over w-eu and w-eu-spot: %r" % rr
    assert all(c.job("rnd-%d" % i)["node"] == "w-us" for i in range(2)), "random left region=us"

    # A worker with a gpu joins: the job is placed on it and fires there.
    c.start_worker("w-gpu", labels={"gpu": "yes", "region": "us"})
    job = c.wait_until(lambda: (lambda j: j if j["placement"]["state"] == "placed" else None)(
        c.job("gpu-job")), timeout=15, what="gpu-job placed")
    assert job["placement"]["nodes"] == ["w-gpu"] and job["node"] == "w-gpu", job["placement"]
    c.wait_until(lambda: c.hits.count("/gpu") >= 2, timeout=15, what="2 hits of gpu-job")
    log("gpu-job unplaced until w-gpu joined, then placed on it")

    # Every run ran where its selector allows.
    c.wait_until(lambda: sum(runs_by_node(c, "gpu-job").values()) >= 2, timeout=15,
                 what="gpu-job runs recorded")
    for job, allowed in (("eu-steady", {"w-eu"}), ("not-us", {"w-eu", "w-eu-spot"}),
                         ("gpu-job", {"w-gpu"})):
        nodes = runs_by_node(c, job)
        assert nodes and set(nodes) <= allowed, "%s ran on %r, allowed %r" % (job, nodes, allowed)
        log("%s ran on %r" % (job, nodes))

    # A bad selector is refused, naming the field.
    status, body = c.api("POST", "/api/v1/jobs", {
        "name": "bad", "schedule": "@every 1s", "http": {"url": c.hits.url("/bad")},
        "executor": {"labels": {"region": {"is": "eu"}}}})
    assert status == 400 and body["error"]["field"] == "executor.labels.region", (status, body)
    status, body = c.api("POST", "/api/v1/jobs", {
        "name": "bad", "schedule": "@every 1s", "http": {"url": c.hits.url("/bad")},
        "executor": {"strategy": "nearest"}})
    assert status == 400 and body["error"]["field"] == "executor.strategy", (status, body)


if __name__ == "__main__":
    run_scenario(scenario, workers=0)
