#!/usr/bin/env python3
"""A peer may speak only for itself (issue 10, test 3): run records that
a peer forges change nothing a user sees.

A peer with no session (it never said HELLO) and a peer WITH a session
(it said HELLO as a node of its own and was welcomed) each send
RUN_FINISHED records for a job they do not hold: one that copies a real
run id from the runs table to overwrite that run, and one whose fire time
is in the year 9999 (which, taken, would make the job never fire again
after its next move). Afterwards:
  - the real run's row is unchanged, no forged row exists, the job's
    latest fire time in MySQL is not in the future;
  - the session-less peer is told to say HELLO and gets no ACK; the peer
    with a session gets its refused records acknowledged (so it would not
    resend them forever);
  - the master logs the refusal once per peer for a burst of 200 forged
    records, then one summary line per burst;
  - when the job's worker dies, the job moves and fires on time on the
    other worker (a taken year-9999 fire time would stop it for good).
"""

import os
import re
import time

from harness import log, run_scenario, wait_until
from peer_keys import curve_for
from rawpeer import RawPeer

YEAR_9999_MS = 253370764800000  # 9999-01-01T00:00:00Z
ENOTFOUND = -13


def run_rows(c, job):
    return {r["run_id"]: (r["status"], r["node"], r["scheduled_at"], r["error"])
            for r in c.runs_in_db(job)}


def keep_alive(peer, seconds):
    """Heartbeat (the lease is 2 s) while waiting; returns what came in."""
    got = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        peer.heartbeat()
        got += peer.drain(0.25)
    return got


def master_log(c):
    with open(os.path.join(c.log_dir, "master.log"), errors="replace") as f:
        return f.read()


def scenario(c):
    job = c.create_job("tick", "@every 1s", c.hits.url("/tick"))
    job_id = job["id"]
    c.wait_until(lambda: sum(1 for r in c.runs_in_db("tick") if r["status"] == "success") >= 3,
                 timeout=20, what="3 recorded runs of tick")
    before = run_rows(c, "tick")
    real = next(r for r in c.runs_in_db("tick") if r["status"] == "success")
    log("real run to overwrite: %s (%s on %s)" % (real["run_id"], real["status"], real["node"]))
    now_ms = int(time.time() * 1000)

    def forged(run_id, sched_ms):
        return RawPeer.run_record(job_id, run_id, sched_ms, name="tick", status=2,
                                  error="forged by a test peer")

    overwrite = forged(real["run_id"], int(real["scheduled_at"] * 1000))
    future = forged(os.urandom(16), YEAR_9999_MS)

    # 1. No session at all.
    intruder = RawPeer(c.endpoint, routing_id="intruder", curve=curve_for(c, "intruder"))
    intruder.run_finished([overwrite, future])
    intruder.plugin_get("0" * 64)
    got = intruder.drain(1.0)
    log("intruder got: %s" % [m[0] for m in got])
    assert not any(t == "ACK" for t, _ in got), "a peer without a session got an ACK: %s" % got
    assert any(t == "ERROR" and b.get("code") == ENOTFOUND for t, b in got), \
        "a peer without a session was not told to say HELLO: %s" % got
    assert not any(t == "PLUGIN_CHUNK" for t, _ in got), "PLUGIN_GET answered without a session"

    # 2. A session of its own, as node rogue-1.
    rogue = RawPeer(c.endpoint, routing_id="rogue-1", curve=curve_for(c, "rogue-1"))
    rogue.hello("rogue-1")
    assert rogue.recv_type("WELCOME", 5.0) is not None, "rogue-1 was not welcomed"
    rogue.run_started([forged(os.urandom(16), now_ms)])
    rogue.run_finished([overwrite, future])
    burst = [forged(os.urandom(16), now_ms - 1000 * i) for i in range(200)]
    rogue.run_finished(burst[:100])
    rogue.run_finished(burst[100:])
    got = keep_alive(rogue, 2.0)
    acked = set()
    for t, b in got:
        if t == "ACK":
            acked.update(bytes(x).hex() for x in b.get("runs", []))
    want = {real["run_id"], future["id"].hex()} | {r["id"].hex() for r in burst}
    assert want <= acked, "refused records not acknowledged: %d of %d missing" \
        % (len(want - acked), len(want))

    # Nothing changed: the real run, no forged row, no future fire time.
    time.sleep(1.0)
    after = run_rows(c, "tick")
    assert after[real["run_id"]] == before[real["run_id"]], \
        "the real run was overwritten: %s -> %s" % (before[real["run_id"]], after[real["run_id"]])
    forged_rows = c.sql("SELECT COUNT(*) FROM runs WHERE error = 'forged by a test peer'")
    assert forged_rows[0][0] == "0", "forged rows were stored: %s" % forged_rows
    ids = ",".join("UNHEX('%s')" % i for i in want - {real["run_id"]})
    stored = c.sql("SELECT COUNT(*) FROM runs WHERE run_id IN (%s)" % ids)
    assert stored[0][0] == "0", "forged run ids were stored: %s" % stored
    latest = c.sql("SELECT UNIX_TIMESTAMP(MAX(scheduled_at)) FROM runs WHERE job_id = %d" % job_id)
    assert float(latest[0][0]) < time.time() + 60, "the job's last fire time is %s" % latest

    # Logged once per burst, then summed up.
    text = wait_until(lambda: (lambda t: t if re.search(r"records refused from rogue-1 over", t)
                               else None)(master_log(c)),
                      timeout=10, what="the refusal summary for rogue-1",
                      on_poll=lambda: rogue.heartbeat())
    first_lines = re.findall(r"from rogue-1 refused", text)
    assert len(first_lines) == 1, "refusals from rogue-1 logged %d times" % len(first_lines)
    assert len(re.findall(r"from intruder refused", text)) == 1, "intruder refusal not logged once"
    log("log: %s" % [l for l in text.splitlines() if "refused" in l])

    # The peer ends its session; then the job's worker dies and the job
    # moves: it must fire on the other worker.
    rogue.leave()
    c.wait_until(lambda: "rogue-1" not in c.active_nodes(), timeout=10, what="rogue-1 gone")
    holder = c.job_node("tick")
    other = next(w for w in c.workers if w != holder)
    killed_at = time.time()
    c.kill_worker(holder)
    c.wait_until(lambda: any(r["node"] == other and r["scheduled_at"] > killed_at + 1
                             for r in c.runs_in_db("tick")),
                 timeout=20, what="tick firing on %s after %s died" % (other, holder))
    intruder.close()
    rogue.close()


if __name__ == "__main__":
    run_scenario(scenario, workers=2)
