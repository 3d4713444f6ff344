#!/usr/bin/env python3
"""nodes.forget_after: a worker lost (or left) for longer than that is
removed from the node list and from the nodes table, and its run history
stays (issue 15: nodes that connected once stayed `lost` in
`hourglass node list` forever). Here forget_after is 3 s.

What a user must see: worker-2, killed, shows as lost, then disappears
from GET /api/v1/nodes and from the nodes table within a few seconds;
the runs it made are still in the history under its name; worker-1 is
listed throughout; worker-2 started again is listed again."""

import time

from harness import log, run_scenario

FORGET_S = 3


def scenario(c):
    for i in range(4):
        c.create_job("job-%d" % i, "@every 1s", c.hits.url("/job-%d" % i))

    def ran_on_both():
        rows = c.sql("SELECT DISTINCT node FROM runs")
        return {r[0] for r in rows} >= {"worker-1", "worker-2"}

    c.wait_until(ran_on_both, timeout=20, what="runs on both workers")
    c.kill_worker("worker-2")
    c.wait_until(lambda: any(n["name"] == "worker-2" and n["state"] == "lost" for n in c.nodes()),
                 timeout=15, what="worker-2 listed as lost")
    lost_at = time.time()
    c.wait_until(lambda: "worker-2" not in [n["name"] for n in c.nodes()], timeout=20,
                 what="worker-2 to leave the node list")
    gone_s = time.time() - lost_at
    c.wait_until(lambda: not c.sql("SELECT name FROM nodes WHERE name = 'worker-2'"), timeout=10,
                 what="worker-2's row to leave the nodes table")
    log("worker-2 forgotten %.1f s after it was listed lost (forget_after %d s)"
        % (gone_s, FORGET_S))
    assert gone_s >= FORGET_S - 1.0, "forgotten too early: %.1f s" % gone_s
    names = [n["name"] for n in c.nodes()]
    assert "worker-1" in names, names
    kept = c.sql("SELECT COUNT(*) FROM runs WHERE node = 'worker-2'")
    assert int(kept[0][0]) > 0, "worker-2's runs were removed with it"
    assert c.sql("SELECT name FROM nodes WHERE name = 'worker-1'"), "worker-1's row went too"

    c.start_worker("worker-2")
    assert "worker-2" in c.active_nodes()
    c.wait_until(lambda: c.sql("SELECT state FROM nodes WHERE name = 'worker-2'"), timeout=10,
                 what="worker-2's row back")


if __name__ == "__main__":
    run_scenario(scenario, workers=2, master_args=["--nodes-forget-after", "%ds" % FORGET_S])
