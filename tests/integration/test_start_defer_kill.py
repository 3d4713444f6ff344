#!/usr/bin/env python3
"""kill -9 of a worker while the store is under back-pressure (issue 14):
every run that reached the endpoint has its row, none missing.

store.queue_max is 1 record, so nearly every finished-run message arrives
while the store is busy and is deferred (the worker keeps it and sends it
again 3 s later) and no start row is written. The master still tracks
every start in memory, so when a worker is killed with runs in flight and
finished records deferred, each of its runs is written `lost` from memory
when the worker is declared lost. Before issue 14 only the runs of
recover jobs were tracked while finished records were deferred: the
others vanished with the worker (no row at all, the double-failure loss
docs/resilience.md used to describe).

What a user must see: every hit of the test's jobs has exactly one row,
`success` or `lost` (a `lost` one only on the killed worker), and none is
left `running`."""

import re

from harness import log, norm_run_id, run_scenario

JOBS = ["sk%d" % i for i in range(8)]


def text(path):
    with open(path, "rb") as f:
        return f.read().decode("utf-8", errors="replace")


def scenario(c):
    # 300 ms at the endpoint: runs are always in flight on each worker.
    for j in JOBS:
        c.create_job(j, "@every 200ms", c.hits.url("/%s?delay_ms=300" % j))
    c.wait_until(lambda: c.hits.count() >= 150, timeout=30, what="150 hits")

    def deferred():
        n = sum(int(x) for x in re.findall(r"(\d+) finished records deferred", text(c.master.log_path)))
        return n if n > 0 else None

    n = c.wait_until(deferred, timeout=20, what="the master to report deferred finished records")
    log("the master deferred %d finished records so far" % n)
    victim = "worker-1"
    c.kill_worker(victim)
    log("killed %s -9 under back-pressure" % victim)
    c.wait_until(lambda: victim not in c.active_nodes(), timeout=20, what="%s declared lost" % victim)
    for j in JOBS:
        c.delete_job(j)
    hits = [h for h in c.hits.hits() if h["run_id"] and h["path"].lstrip("/") in JOBS]
    want = {norm_run_id(h["run_id"]) for h in hits}
    names = ",".join("'%s'" % j for j in JOBS)
    log("%d hits; waiting for their rows" % len(want))

    def rows():
        got = {}
        for r in c.sql("SELECT LOWER(HEX(run_id)), status, node FROM runs WHERE job_name IN (%s)" % names):
            got.setdefault(r[0], []).append(r)
        missing = [rid for rid in want if rid not in got or got[rid][0][1] == "running"]
        return (got, missing)

    # The survivor's deferred records come back after its 3 s resend delay.
    try:
        got = c.wait_until(lambda: (lambda g: g[0] if not g[1] else None)(rows()), timeout=30,
                           interval=0.5, what="a finished row for every hit")
    except AssertionError:
        got, missing = rows()
        raise AssertionError("%d of %d hits have no finished row, e.g. %r"
                             % (len(missing), len(want), [(m, got.get(m)) for m in missing[:5]]))
    assert all(len(v) == 1 for v in got.values()), "a run recorded twice"
    lost = [rid for rid in want if got[rid][0][1] == "lost"]
    bad = [(rid, got[rid][0]) for rid in want if got[rid][0][1] not in ("success", "lost")]
    assert not bad, "unexpected statuses: %r" % bad[:5]
    wrong = [got[rid][0] for rid in lost if got[rid][0][2] != victim]
    assert not wrong, "runs lost on a live worker: %r" % wrong[:5]
    assert lost, "no run was in flight on %s when it was killed" % victim
    # Runs still going when the jobs were deleted may have had their start
    # written (their finished records deferred past start_write_after):
    # those end too, once the survivor sends its records again.
    c.wait_until(lambda: c.sql("SELECT COUNT(*) FROM runs WHERE job_name IN (%s) AND status = 'running'"
                               % names)[0][0] == "0", timeout=20, interval=0.5, what="no row left running")
    log("every one of %d hits has its row: %d success, %d lost with %s"
        % (len(want), len(want) - len(lost), len(lost), victim))


if __name__ == "__main__":
    run_scenario(scenario, workers=2,
                 master_args=("--store-queue-max", "1", "--store-start-write-after", "1000ms"))
