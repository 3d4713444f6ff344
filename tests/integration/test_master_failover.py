#!/usr/bin/env python3
"""Master high availability (issue 5, test 4): two masters on one MariaDB,
two workers configured with both endpoints.

Before the failover: the standby refuses API writes (503 not_leader naming
the leader's URL, in the body and the Hourglass-Leader header) but serves
reads; a worker that dials only the standby is refused ("not the leader")
and joins the leader it was pointed to; the CLI pointed at the standby
follows to the leader.

Then `kill -9` of the leader: the standby leads with a higher fencing
epoch, the workers follow, the jobs keep firing, every hit at the
endpoint has its run row in MySQL (no record lost), no scheduled time is
hit twice, and a fire_all job has every scheduled second hit exactly once.
The CLI given the dead and the new master's URLs works, and the killed
master, restarted, stands by behind the new leader.

Last, the new leader hangs (SIGSTOP) and its lock connection is killed: the
standby takes over, the workers follow, and the hung master, woken up,
steps down (exit status 3). The checks on records and doubles cover the
whole test.

Prints: time from the kill to the standby leading, to both workers active
on it, to the first fire after that, and the longest silence per job at the
endpoint around the kill."""

import collections
import os
import signal
import subprocess
import time

from harness import log, norm_run_id, parse_time, run_scenario

JOBS = {"steady-once": "fire_once", "steady-all": "fire_all"}
BOUND_S = 30  # generous: guards against hangs, not a measurement


def hits_of(c, job=None):
    return [h for h in c.hits.hits() if (h["job"] == job if job else h["job"] in JOBS)]


def longest_silences(c, since):
    """Per job, the longest time between two hits from 3 s before since
    on; 1 s means not a beat missed for these @every 1s jobs."""
    gaps = {}
    for j in JOBS:
        times = sorted(h["time"] for h in hits_of(c, j) if h["time"] > since - 3)
        gaps[j] = max(b - a for a, b in zip(times, times[1:]))
    return ", ".join("%s %.2f s" % kv for kv in sorted(gaps.items()))


def standby_checks(c):
    leader_url, standby_url = c.master_urls
    health = c.wait_until(lambda: (c.health(1) or {}).get("leader_api") == leader_url and c.health(1),
                          timeout=BOUND_S, what="the standby to name the leader in /healthz")
    assert health["role"] == "standby", health
    lead = c.health(0)
    assert lead["role"] == "leader" and lead["leader"] == "master-1", lead
    assert health["epoch"] == lead["epoch"], (health, lead)
    log("master-1 leads (epoch %d); master-2 stands by" % lead["epoch"])

    # API writes on the standby: 503 not_leader naming the leader.
    spec = {"name": "refused", "schedule": "@every 1s", "http": {"url": c.hits.url("/refused")}}
    hdrs = {}
    status, body = c.api_at(standby_url, "POST", "/api/v1/jobs", spec, reply_headers=hdrs)
    assert status == 503, (status, body)
    assert body["error"]["code"] == "not_leader", body
    assert body["error"]["leader"] == leader_url, body
    assert "master-1" in body["error"]["message"], body
    assert hdrs.get("hourglass-leader") == leader_url, hdrs
    status, body = c.api_at(standby_url, "GET", "/api/v1/nodes")
    assert status == 503 and body["error"]["code"] == "not_leader", (status, body)
    # Reads from MySQL are served by the standby.
    status, body = c.api_at(standby_url, "GET", "/api/v1/jobs")
    assert status == 200 and body["jobs"] == [], (status, body)

    # Worker sessions on the standby: refused with the leader's endpoint,
    # which the worker then dials.
    probe = c.start_worker("probe", endpoints=[c.endpoints[1]])
    text = open(probe.log_path, encoding="utf-8", errors="replace").read()
    assert "is a standby; the leader is at %s" % c.endpoints[0] in text, probe.tail(20)
    assert "welcomed by master master-1" in text, probe.tail(20)
    standby_log = open(c.extra_masters[1].log_path, encoding="utf-8", errors="replace").read()
    assert "standby refuses worker probe" in standby_log, c.extra_masters[1].tail(20)
    c.kill_worker("probe", signal.SIGTERM)
    c.wait_until(lambda: "probe" not in c.active_nodes(), timeout=BOUND_S, what="probe to leave")

    # The CLI pointed at the standby alone follows to the leader.
    rc, out, err = c.cli("job", "create", "steady-once", "--schedule", "@every 1s",
                         "--http-url", c.hits.url("/steady-once"), master=standby_url)
    assert rc == 0, (rc, out, err)
    c.create_job("steady-all", "@every 1s", c.hits.url("/steady-all"), misfire="fire_all")
    return lead["epoch"]


def hung_leader(c, epoch):
    """The leader (master-2) hangs (SIGSTOP) and its lock connection is
    killed: master-1 takes over, the workers follow once their lease with
    the hung one lapses, and the hung master, woken up, finds the lock
    gone and steps down: it exits with status 3 at once."""
    lock = "hourglass.leader." + c.db_name
    conn_id = c.sql("SELECT IS_USED_LOCK('%s')" % lock)[0][0]
    assert conn_id, "nobody holds the leader lock %s" % lock
    hung = c.master_proc(1)
    log("stopping the leader master-2 (SIGSTOP) and killing its lock connection %s" % conn_id)
    hung.send_signal(signal.SIGSTOP)
    stopped_at = time.time()
    t0 = time.monotonic()
    try:
        c.sql("KILL %s" % conn_id)
        took = c.wait_until(lambda: (c.health(0) or {}).get("role") == "leader" and c.health(0),
                            timeout=BOUND_S, interval=0.05, what="master-1 to lead again")
        lead_s = time.monotonic() - t0
        assert took["epoch"] > epoch, (took, epoch)
        c.use_master(0)
        c.wait_workers(2, names=["worker-1", "worker-2"], timeout=BOUND_S)
        join_s = time.monotonic() - t0
    finally:
        os.kill(hung.pid, signal.SIGCONT)
    try:
        rc = hung.popen.wait(BOUND_S)
    except subprocess.TimeoutExpired:
        raise AssertionError("the deposed master-2 is still running %d s after waking up" % BOUND_S)
    assert rc == 3, "the deposed master-2 exited with %s, expected 3 (stepped down)" % rc
    text = open(hung.log_path, encoding="utf-8", errors="replace").read()
    assert "stepping down (another master holds the leader lock)" in text, hung.tail(20)
    joined_at = time.time()
    c.wait_until(lambda: all(len([h for h in hits_of(c, j) if h["time"] > joined_at]) >= 2 for j in JOBS),
                 timeout=BOUND_S, what="2 hits per job under master-1 again")
    log("HUNG LEADER: master-1 leading %.2f s after the kill of the lock connection, workers on it "
        "after %.2f s; longest silence per job %s; the woken master-2 stepped down with status 3"
        % (lead_s, join_s, longest_silences(c, stopped_at)))


def scenario(c):
    old_epoch = standby_checks(c)
    c.wait_until(lambda: all(len(hits_of(c, j)) >= 3 for j in JOBS), timeout=BOUND_S,
                 what="3 hits per job before the kill")

    killed_at = c.kill_master(0)
    t0 = time.monotonic()
    health = c.wait_until(lambda: (c.health(1, timeout=1) or {}).get("role") == "leader" and c.health(1),
                          timeout=BOUND_S, interval=0.05, what="master-2 to lead")
    lead_s = time.monotonic() - t0
    assert health["epoch"] > old_epoch, (health, old_epoch)
    c.use_master(1)
    c.wait_workers(2, names=["worker-1", "worker-2"], timeout=BOUND_S)
    join_s = time.monotonic() - t0
    joined_at = time.time()
    c.wait_until(lambda: all(len([h for h in hits_of(c, j) if h["time"] > joined_at]) >= 3 for j in JOBS),
                 timeout=BOUND_S, what="3 hits per job under the new leader")

    # What a user sees at the endpoint: the longest silence per job around
    # the kill (1 s means not a beat missed for these @every 1s jobs), and
    # the first fire once the workers are on the new leader.
    first = min(h["time"] for h in hits_of(c) if h["time"] > joined_at)
    log("FAILOVER: standby leading %.2f s after kill -9 of the leader; workers on it after %.2f s; "
        "first fire after that %.2f s after the kill; longest silence per job %s; epoch %d -> %d"
        % (lead_s, join_s, first - killed_at, longest_silences(c, killed_at), old_epoch, health["epoch"]))

    # The CLI with the dead master first, then the new leader.
    both = ",".join(c.master_urls)
    runs = c.cli_json("runs", "--job", "steady-once", "--limit", "5", master=both)
    assert runs and runs.get("runs"), runs
    rc, out, err = c.cli("job", "create", "after-failover", "--schedule", "@every 1h",
                         "--http-url", c.hits.url("/after"), master=both)
    assert rc == 0, (rc, out, err)
    assert c.job("after-failover")["status"] == "active"
    rc, out, err = c.cli("job", "delete", "after-failover", master=both)
    assert rc == 0, (rc, out, err)

    # The killed master comes back as a standby behind the new leader.
    c.start_master_n(0, wait=False)
    back = c.wait_until(lambda: (c.health(0) or {}).get("role") == "standby" and c.health(0),
                        timeout=BOUND_S, what="master-1 to stand by after its restart")
    c.wait_until(lambda: (c.health(0) or {}).get("leader") == "master-2", timeout=BOUND_S,
                 what="master-1 to name master-2 as the leader")
    assert back["epoch"] <= health["epoch"], (back, health)
    assert (c.health(1) or {}).get("role") == "leader"

    hung_leader(c, health["epoch"])

    # No record lost: every hit has its run row in MySQL.
    hits = hits_of(c)
    want = {norm_run_id(h["run_id"]): h for h in hits}

    def missing():
        have = set()
        for j in JOBS:
            have |= {r["run_id"] for r in c.runs_in_db(j)}
        return sorted(set(want) - have)

    try:
        c.wait_until(lambda: not missing(), timeout=BOUND_S, interval=0.5,
                     what="a run row for each of %d hits" % len(want))
    except AssertionError:
        lost = missing()
        raise AssertionError("%d of %d hits have no run row (lost records), e.g. %r" % (
            len(lost), len(want), [(want[r]["job"], want[r]["scheduled_at"]) for r in lost[:5]]))

    # No doubles: each scheduled time of each job hit once.
    counts = collections.Counter((h["job"], h["scheduled_at"]) for h in hits)
    dups = {k: v for k, v in counts.items() if v > 1}
    assert not dups, "scheduled times hit more than once across the failover: %r" % dups

    # fire_all: every scheduled second from the first to the last was hit.
    sched = sorted(parse_time(h["scheduled_at"]) for h in hits_of(c, "steady-all"))
    holes = [(a, b) for a, b in zip(sched, sched[1:]) if b - a > 1.001]
    assert not holes, "fire_all job skipped scheduled times: %r" % holes
    log("%d hits, all with run rows, none twice; fire_all job: %d consecutive seconds, no hole"
        % (len(hits), len(sched)))


if __name__ == "__main__":
    run_scenario(scenario, workers=2, masters=2)
