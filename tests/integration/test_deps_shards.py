#!/usr/bin/env python3
"""A sharded parent's fire triggers its dependents once, when all its
shards have ended (issue 11; docs/jobs.md "Dependencies"): a parent with
shards 3 over 2 workers, each shard a 2 s request, fired twice by hand;
its child (on success) runs exactly once per fire, each time after the
last shard of that fire ended, and not again later (the engine's rescan
of recent runs finds the same fire and counts it once)."""

import time

from harness import log, run_scenario

SHARD_MS = 2000


def scenario(c):
    c.create_job("shp", "@every 1h", c.hits.url("/slow/%d" % SHARD_MS), timeout="20s",
                 executor={"shards": 3})
    c.create_job("shc", "@every 1h", c.hits.url("/child"), depends_on=[{"job": "shp"}])
    c.wait_until(lambda: (lambda p: p and p["state"] == "placed")(c.job("shp")["placement"]),
                 timeout=20, what="the 3 shards placed")
    c.wait_until(lambda: c.job_node("shc"), timeout=20, what="the child placed")
    time.sleep(1.5)  # the engine reads the new edge (every second)

    for fire in (1, 2):
        status, body = c.api("POST", "/api/v1/jobs/shp/trigger", {})
        assert status in (200, 202), (status, body)
        c.wait_until(lambda: c.hits.count("/child") >= fire, timeout=25,
                     what="the child's run after fire %d" % fire)
        shards = [h for h in c.hits.hits("/slow/%d" % SHARD_MS)]
        assert len(shards) == 3 * fire, "%d shard hits after fire %d" % (len(shards), fire)
        child = c.hits.hits("/child")[fire - 1]
        last_end = max(h.get("end") or 1e18 for h in shards[-3:])
        assert child["time"] >= last_end - 0.05, \
            "the child ran %.3f s before the last shard ended" % (last_end - child["time"])
        log("fire %d: 3 shards ended, then the child ran once" % fire)

    time.sleep(7)  # past the engine's scan of recent runs (every 5 s)
    assert c.hits.count("/child") == 2, "child hits: %d, want 2" % c.hits.count("/child")
    rows = c.sql("SELECT trigger_reason, COUNT(*) FROM runs WHERE job_name = 'shc' "
                 "GROUP BY trigger_reason")
    assert [(r[0], int(r[1])) for r in rows] == [("dependency", 2)], rows


if __name__ == "__main__":
    run_scenario(scenario, workers=2)
