#!/usr/bin/env python3
"""chaos: a soak that checks Hourglass keeps its failover promises under
repeated faults (issue 15). Run it with scripts/chaos [--minutes N] [--jobs N].

It starts a private MariaDB (scripts/db, its own HG_VAR and port), a
leading master and a standby, four workers (one in its own network
namespace when `ip netns` works here), a fast HTTP endpoint (listen
backlog 128) and one slow to accept connections (backlog 5 and a
connection per request, as Python's http.server as shipped: a burst of connections waits for the kernel's
SYN retries, as a busy service makes them wait), and HTTP jobs @every 1s under every misfire policy, with and
without recover, against both endpoints. Then, every 3 to 8 s, a random
fault: a worker killed -9 (started again 1-3 s later), a worker frozen
(SIGSTOP 2-5 s, then SIGCONT), the leading master killed -9 (started
again as a standby), MariaDB stopped 3-6 s, the namespaced worker's link
cut both ways 3-7 s. Masters that exit because they lost MariaDB or the
leadership are started again, as a supervisor would.

After the faults stop and the cluster settles it prints, per misfire
policy and recover: scheduled times, duplicates at the endpoint,
scheduled times never served (and how many of those the history records
as lost or not run again without recover, which the promise allows),
rows left running, and the largest gap between served times. It exits 1
when the promise breaks: a duplicate for a job without recover, a
fire_all scheduled time never served that the history does not record
as lost without recover, a row left running."""

import argparse
import collections
import os
import random
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import SOURCE_DIR, TEST_VAR, Cluster, free_port, log, parse_time  # noqa: E402
from hitserver import HitServer  # noqa: E402

POLICIES = ("fire_all", "fire_once", "skip")
DB_SCRIPT = os.path.join(SOURCE_DIR, "scripts", "db")
SETTLE_S = 20  # after the last fault, before counting
EXCUSED = ("not run again", "not fired again")  # what the history may say of an unserved time
# A run that tried and failed at the endpoint (its connect or answer timed
# out) is the endpoint's failure, not a lost fire: counted apart.
ENDPOINT_FAILED = ("timeout", "failed")


class Chaos:
    def __init__(self, args):
        self.args = args
        self.rng = random.Random(args.seed)
        self.db_var = os.path.join(TEST_VAR, "private-db", "chaos")
        self.db_port = free_port()
        self.link = None
        self.faults = collections.Counter()
        self.notes = []
        self.c = None

    # ---- MariaDB ------------------------------------------------------------
    def db(self, cmd):
        env = dict(os.environ, HG_VAR=self.db_var, HG_DB_PORT=str(self.db_port))
        r = subprocess.run([DB_SCRIPT, cmd], env=env, capture_output=True, text=True, timeout=180)
        if r.returncode != 0 and cmd != "stop":
            raise AssertionError("scripts/db %s failed: %s%s" % (cmd, r.stdout, r.stderr))

    # ---- set-up ---------------------------------------------------------------
    def netns(self):
        if not self.args.netns:
            self.notes.append("netns partition skipped: --no-netns")
            return None
        import test_partition as tp
        why = tp.probe_netns()
        if why:
            self.notes.append("netns partition skipped: %s" % why)
            return None
        tp.Link.remove_stale()
        link = tp.Link()
        link.create()
        return link

    def start(self):
        self.db("stop")
        shutil.rmtree(self.db_var, ignore_errors=True)
        self.db("start")
        os.environ["HOURGLASS_MYSQL_PORT"] = str(self.db_port)
        self.link = self.netns()
        host = self.link.host_ip if self.link else "127.0.0.1"
        self.c = Cluster(workers=3, masters=2, name="chaos", bind_host=host, hits_host=host)
        self.fast = HitServer(host=host, backlog=128).start()
        # As Python's http.server as shipped (issue 15): backlog 5 and a
        # connection per request.
        self.slow = HitServer(host=host, backlog=5, keepalive=False).start()
        self.workers = ["worker-1", "worker-2", "worker-3"]
        if self.link:
            self.c.start_worker("worker-ns", netns=self.link.ns)
            self.workers.append("worker-ns")
        else:
            self.c.start_worker("worker-4")
            self.workers.append("worker-4")
        self.jobs = {}
        combos = [(p, r, e) for p in POLICIES for r in (False, True) for e in ("fast", "slow")]
        for i in range(max(self.args.jobs, len(combos))):
            p, r, e = combos[i % len(combos)]
            name = "%s-%s-%s-%d" % (p.replace("_", ""), "rec" if r else "norec", e, i)
            srv = self.fast if e == "fast" else self.slow
            self.c.create_job(name, "@every 1s", srv.url("/" + name), misfire=p, recover=r,
                              timeout="20s")
            self.jobs[name] = (p, r, srv)
        log("%d jobs created; faults for %.1f min" % (len(self.jobs), self.args.minutes))

    # ---- faults ---------------------------------------------------------------
    def leader_index(self):
        for i in range(2):
            h = self.c.health(i, timeout=2) or {}
            if h.get("role") == "leader":
                return i
        return None

    def supervise(self):
        """Start again what exited on its own (a master that lost MariaDB or
        the leadership exits by design; a worker must not)."""
        for i in range(2):
            p = self.c.master_proc(i)
            if p is not None and not p.running() and not p.expected_exit:
                self.notes.append("master-%d exited with %s (restarted)" % (i + 1, p.popen.returncode))
                self.c.start_master_n(i, wait=False)
        for w in self.workers:
            p = self.c.workers[w]
            if not p.running() and not p.expected_exit:
                self.notes.append("UNEXPECTED: %s exited with %s" % (w, p.popen.returncode))
                self.broken.append("%s exited on its own (code %s)" % (w, p.popen.returncode))
                self.restart_worker(w)

    def restart_worker(self, w):
        self.c.start_worker(w, wait=False, netns=self.link.ns if w == "worker-ns" else None)

    def fault(self):
        table = [("kill", 4), ("stop", 4), ("master", 1), ("mysql", 1)]
        if self.link:
            table.append(("partition", 2))
        table = [(k, w) for k, w in table if k in self.args.faults]
        kind = self.rng.choices([k for k, _ in table], [w for _, w in table])[0]
        self.faults[kind] += 1
        if kind == "kill":
            w = self.rng.choice(self.workers)
            self.c.kill_worker(w)
            time.sleep(self.rng.uniform(1, 3))
            self.restart_worker(w)
        elif kind == "stop":
            w = self.rng.choice(self.workers)
            p = self.c.workers[w]
            if p.running():
                log("freezing %s" % w)
                p.send_signal(signal.SIGSTOP)
                time.sleep(self.rng.uniform(2, 5))
                os.kill(p.pid, signal.SIGCONT)
                p.expected_exit = False
        elif kind == "master":
            i = self.leader_index()
            if i is not None:
                self.c.kill_master(i)
                time.sleep(self.rng.uniform(1, 3))
                self.c.start_master_n(i, wait=False)
                self.c.master_proc(i).expected_exit = False
        elif kind == "mysql":
            log("stopping MariaDB")
            self.db("stop")
            time.sleep(self.rng.uniform(3, 6))
            self.db("start")
            log("MariaDB started again")
        elif kind == "partition":
            log("cutting worker-ns's link")
            self.link.cut_both()
            time.sleep(self.rng.uniform(3, 7))
            self.link.heal_both()

    def run(self):
        self.broken = []
        end = time.time() + self.args.minutes * 60
        self.c.wait_until(lambda: all(self.jobs[j][2].count("/" + j) >= 2 for j in self.jobs),
                          timeout=40, what="every job to fire")
        while time.time() < end:
            time.sleep(self.rng.uniform(3, 8))
            self.supervise()
            if time.time() < end:
                self.fault()
        self.supervise()
        log("faults over (%s); settling %d s" % (dict(self.faults), SETTLE_S))
        t_end = time.time()
        for _ in range(SETTLE_S):
            time.sleep(1)
            self.supervise()
        self.c.wait_until(lambda: any((self.c.health(i) or {}).get("status") == "ok"
                                      for i in range(2)), timeout=60, what="a master up")
        return self.report(t_end)

    # ---- the promise ----------------------------------------------------------
    def rows(self):
        rows = self.c.sql("SELECT job_name, scheduled_at, status, error FROM runs")
        by_job = collections.defaultdict(list)
        for name, at, status, err in rows:
            by_job[name].append((round(parse_time(at), 3), status, err or ""))
        return by_job

    def report(self, t_end):
        c = self.c
        for i in range(2):
            if (c.health(i) or {}).get("status") == "ok":
                c.use_master(i)
        by_job = self.rows()
        agg = collections.OrderedDict()
        for p in POLICIES:
            for r in (False, True):
                agg[(p, r)] = collections.Counter()
        for name, (p, r, srv) in self.jobs.items():
            served = collections.Counter(round(parse_time(h["scheduled_at"]), 3)
                                         for h in srv.hits("/" + name) if h["scheduled_at"])
            if not served:
                self.broken.append("%s: never served" % name)
                continue
            first = min(served)
            horizon = t_end - 2
            expected = [round(first + k, 3) for k in range(int(horizon - first) + 1)]
            rows = by_job.get(name, [])
            excused = {t for t, st, err in rows if not r and any(e in err for e in EXCUSED)}
            excused |= {t for t, st, err in rows if not r and st == "lost"}
            tried = {t for t, st, err in rows
                     if st in ENDPOINT_FAILED and not err.startswith("aborted: the worker")}
            a = agg[(p, r)]
            a["jobs"] += 1
            a["scheduled"] += len(expected)
            dups = sum(n - 1 for n in served.values() if n > 1)
            a["duplicates"] += dups
            unserved = [t for t in expected if not served[t]]
            a["unserved"] += len(unserved)
            a["unserved_excused"] += sum(1 for t in unserved if t in excused)
            a["endpoint_failed"] += sum(1 for t in unserved if t in tried and t not in excused)
            running = [t for t, st, _ in rows if st == "running" and t < t_end - 25]
            a["running"] += len(running)
            times = sorted(served)
            gap = max([b - a_ for a_, b in zip(times, times[1:])] or [0])
            a["max_gap_ms"] = max(a["max_gap_ms"], int(gap * 1000))
            if dups and not r:
                self.broken.append("%s: %d duplicates without recover: %s" % (
                    name, dups, sorted(t for t, n in served.items() if n > 1)[:5]))
            bad = [t for t in unserved if t not in excused and t not in tried]
            if p == "fire_all" and bad:
                detail = ["%s %s" % (t, [(st, e[:120]) for tt, st, e in rows if tt == t])
                          for t in bad[:3]]
                self.broken.append("%s: %d fire_all times never served: %s" % (
                    name, len(bad), "; ".join(detail)))
            if running:
                self.broken.append("%s: %d rows left running" % (name, len(running)))
        print("\nchaos: %.1f min, %d jobs, faults %s" % (self.args.minutes, len(self.jobs),
                                                         dict(self.faults)), flush=True)
        for n in self.notes:
            print("  note: %s" % n)
        counts = c.sql("SELECT SUM(error LIKE 'not sent:%'), SUM(trigger_reason = 'refire'), "
                       "SUM(error LIKE 'aborted: the worker''s lease%'), SUM(status = 'lost'), "
                       "SUM(trigger_reason = 'recover'), SUM(status = 'skipped'), COUNT(*) "
                       "FROM runs")[0]
        print("  rows: %s not sent, %s refired, %s reset on the wire (unknown), %s lost, "
              "%s recover re-runs, %s skipped, %s in all" % tuple(x or 0 for x in counts))
        print("%-10s %-8s %5s %10s %5s %9s %18s %16s %8s %11s" % (
            "policy", "recover", "jobs", "scheduled", "dups", "unserved", "(lost, no recover)",
            "(endpoint failed)", "running", "max gap ms"))
        for (p, r), a in agg.items():
            print("%-10s %-8s %5d %10d %5d %9d %18d %16d %8d %11d" % (
                p, "yes" if r else "no", a["jobs"], a["scheduled"], a["duplicates"],
                a["unserved"], a["unserved_excused"], a["endpoint_failed"], a["running"],
                a["max_gap_ms"]))
        if self.broken:
            print("PROMISE BROKEN:")
            for b in self.broken:
                print("  " + b)
            return 1
        print("promise kept: 0 duplicates without recover, every fire_all time served, recorded "
              "lost/not run again without recover, or tried and failed at the endpoint; 0 rows "
              "left running")
        return 0

    def stop(self):
        try:
            if self.c:
                self.c.stop()
        finally:
            for s in (getattr(self, "fast", None), getattr(self, "slow", None)):
                if s:
                    s.stop()
            if self.link:
                self.link.remove()
            self.db("stop")


# Every fault the soak knows: worker kill -9 and restart, SIGSTOP/SIGCONT,
# leader master kill -9, MariaDB restart (which also ends the leadership),
# and a partition of the namespaced worker.
FAULT_KINDS = ("kill", "stop", "master", "mysql", "partition")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=10.0, help="how long faults go on")
    ap.add_argument("--jobs", type=int, default=24, help="HTTP jobs @every 1s (at least 12)")
    ap.add_argument("--seed", type=int, default=None, help="random seed (default: time)")
    ap.add_argument("--no-netns", dest="netns", action="store_false",
                    help="no network-namespace worker, no partitions")
    ap.add_argument("--faults", default=",".join(FAULT_KINDS),
                    help="fault kinds to inject, comma-separated (default: all of %s)"
                    % ",".join(FAULT_KINDS))
    args = ap.parse_args()
    args.faults = set(args.faults.split(","))
    unknown = args.faults - set(FAULT_KINDS)
    if unknown or not args.faults - {"partition"} and not args.netns:
        ap.error("--faults: unknown or empty: %s (kinds: %s)"
                 % (",".join(sorted(unknown)) or "(none left)", ",".join(FAULT_KINDS)))
    if args.seed is None:
        args.seed = int(time.time())
    log("chaos seed %d" % args.seed)
    chaos = Chaos(args)
    rc = 1
    try:
        chaos.start()
        rc = chaos.run()
    finally:
        try:
            chaos.stop()
        except AssertionError as e:  # sanitizer reports fail the run
            print(e, flush=True)
            rc = 1
    return rc


if __name__ == "__main__":
    harness.STOP_TIMEOUT_S = 20.0
    sys.exit(main())
