#!/usr/bin/env python3
"""A network partition between the master and a worker, for real.

The worker "worker-ns" runs in a network namespace of its own, joined to
the host by a veth pair with private addresses; the master's worker
endpoint and the hit server listen on the host end. The test creates the
namespace and the link and removes them again, also on failure (and a
later run removes those a killed run left behind).

Three cuts, each while the namespaced worker holds jobs:
  1. both directions: the host end of the link is set down;
  2. master -> worker only: a pfifo queue of length 0 on the host end
     drops everything the host sends into the namespace, while what the
     worker sends still arrives (the master keeps hearing it for a while,
     the worker hears no echo, so its lease lapses first);
  3. worker -> master only: the same queue on the namespace end.
(netem and iptables/nftables are not needed: the kernel's pfifo with
limit 0 is a one-way drop on any Linux with tc.)

Asserted: jobs with misfire policy fire_all have every scheduled time hit
(fire_once ones may skip part of the gap, as their policy says), every hit
has its run record, the worker rejoins each time the link returns, and no
(job, scheduled time) is hit twice, with one exception that no lease can
rule out and that is counted and reported, not hidden: a request the cut-off
worker sent while it still held its lease (within lease_ms of the cut) that
reached the endpoint while its run record could not reach the master (the
master -> worker cut), so the new owner's catch-up fires that time again. Receivers deduplicate those by the
Hourglass-Scheduled-At / Hourglass-Run-Id headers. A double outside the
lease (a worker firing after its lease lapsed) fails the test."""

import collections
import os
import re
import subprocess
import sys
import time

from harness import log, norm_run_id, parse_time, run_scenario

CUT_S = 6.0  # longer than lease + margin (2.5 s), so the jobs move
LEASE_S = 2.0  # the default lease
PREFIX = "hgpart-"


def sh(*argv, check=True):
    r = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    if check and r.returncode != 0:
        raise AssertionError("%s failed (%d): %s" % (" ".join(argv), r.returncode, r.stderr.strip()))
    return r


class Link:
    """A network namespace joined to the host by a veth pair."""

    def __init__(self):
        pid = os.getpid()
        self.ns = "%s%d" % (PREFIX, pid)
        self.host_if = "hgph%d" % (pid % 100000)
        self.ns_if = "hgpn%d" % (pid % 100000)
        used = sh("ip", "-4", "-o", "addr").stdout
        for k in range(256):
            a, b = 200 + (pid + k) % 50, (pid // 50 + k) % 256
            if " 10.%d.%d." % (a, b) not in used:
                break
        self.host_ip = "10.%d.%d.1" % (a, b)
        self.ns_ip = "10.%d.%d.2" % (a, b)

    @staticmethod
    def remove_stale():
        """Namespaces of earlier runs whose test process is gone."""
        r = sh("ip", "netns", "list", check=False)
        for m in re.finditer(r"^%s(\d+)" % PREFIX, r.stdout, re.M):
            if not os.path.exists("/proc/%s" % m.group(1)):
                sh("ip", "netns", "del", PREFIX + m.group(1), check=False)

    def create(self):
        sh("ip", "netns", "add", self.ns)
        sh("ip", "link", "add", self.host_if, "type", "veth", "peer", "name", self.ns_if)
        sh("ip", "link", "set", self.ns_if, "netns", self.ns)
        sh("ip", "addr", "add", self.host_ip + "/30", "dev", self.host_if)
        sh("ip", "link", "set", self.host_if, "up")
        self.in_ns("ip", "addr", "add", self.ns_ip + "/30", "dev", self.ns_if)
        self.in_ns("ip", "link", "set", self.ns_if, "up")
        self.in_ns("ip", "link", "set", "lo", "up")
        log("namespace %s: %s (%s) <-> %s (%s)" % (self.ns, self.host_if, self.host_ip, self.ns_if, self.ns_ip))

    def in_ns(self, *argv, check=True):
        return sh("ip", "netns", "exec", self.ns, *argv, check=check)

    def remove(self):
        # Deleting the namespace deletes its veth end and so the pair.
        sh("ip", "netns", "del", self.ns, check=False)
        sh("ip", "link", "del", self.host_if, check=False)

    # ---- cuts ------------------------------------------------------------

    def cut_both(self):
        sh("ip", "link", "set", self.host_if, "down")

    def heal_both(self):
        sh("ip", "link", "set", self.host_if, "up")

    def cut_to_ns(self):
        """Drop what the host sends into the namespace."""
        sh("tc", "qdisc", "add", "dev", self.host_if, "root", "pfifo", "limit", "0")

    def heal_to_ns(self):
        sh("tc", "qdisc", "del", "dev", self.host_if, "root")

    def cut_from_ns(self):
        """Drop what the namespace sends to the host."""
        self.in_ns("tc", "qdisc", "add", "dev", self.ns_if, "root", "pfifo", "limit", "0")

    def heal_from_ns(self):
        self.in_ns("tc", "qdisc", "del", "dev", self.ns_if, "root")


def probe_netns():
    """None when namespaces work here, else why not."""
    if os.geteuid() != 0:
        return "network namespaces need root (CI runs as root)"
    r = sh("ip", "netns", "add", PREFIX + "probe%d" % os.getpid(), check=False)
    if r.returncode != 0:
        return "ip netns add refused: %s" % r.stderr.strip()
    sh("ip", "netns", "del", PREFIX + "probe%d" % os.getpid(), check=False)
    return None


def runs_by_id(c):
    rows = c.sql("SELECT LOWER(HEX(run_id)), job_name, node, started_at FROM runs")
    return {r[0]: (r[1], r[2], parse_time(r[3])) for r in rows}


def partition(c, link, label, jobs, cut, heal):
    """Create jobs (placed on worker-ns, the least loaded), cut, wait for
    them to fire from worker-1, heal, wait for worker-ns to rejoin."""
    for j in jobs:
        extra = {"misfire": "fire_all"} if j.endswith("-all") else {}
        c.create_job(j, "@every 1s", c.hits.url("/" + j), **extra)
    c.wait_until(lambda: all(c.job_node(j) == "worker-ns" for j in jobs), timeout=15,
                 what="the %s jobs to be placed on worker-ns" % label)
    c.wait_until(lambda: all(c.hits.count("/" + j) >= 2 for j in jobs), timeout=15,
                 what="2 hits of every %s job from worker-ns" % label)
    if "worker-1" not in c.workers:
        # Started only now, so that the first jobs all went to worker-ns;
        # later ones go there too, as it is the least loaded after a cut.
        c.start_worker("worker-1")
    log("%s: cutting the link" % label)
    t_cut = time.time()
    cut()
    try:
        def moved():
            runs = runs_by_id(c)
            first = {}
            for h in c.hits.hits():
                r = runs.get(norm_run_id(h["run_id"]))
                if h["time"] > t_cut and r and r[1] == "worker-1" and r[0] in jobs:
                    first.setdefault(r[0], h["time"])
            return first if len(first) == len(jobs) else None
        first = c.wait_until(moved, timeout=25, interval=0.3,
                             what="every %s job to fire from worker-1" % label)
        took = min(first.values()) - t_cut
        log("%s: jobs fire from worker-1 %.2f s after the cut" % (label, took))
        remaining = CUT_S - (time.time() - t_cut)
        if remaining > 0:
            time.sleep(remaining)
    finally:
        heal()
    t_heal = time.time()
    log("%s: link restored after %.1f s" % (label, t_heal - t_cut))
    rejoin = log_time_after(c.workers["worker-ns"].log_path, "welcomed by master", t_heal - 0.05, c)
    log("%s: worker-ns rejoined %.2f s after the link returned" % (label, rejoin - t_heal))
    CUTS.append(t_cut)
    return took, rejoin - t_heal


def log_time_after(path, needle, after, c, timeout=40):
    def find():
        with open(path, "rb") as f:
            for line in f.read().decode("utf-8", errors="replace").splitlines():
                if needle in line and line[:4].isdigit():
                    t = parse_time(line.split(" ", 1)[0])
                    if t >= after:
                        return t
        return None
    t = c.wait_until(find, timeout=timeout, interval=0.3, what="'%s' in %s" % (needle, path))
    c.wait_until(lambda: "worker-ns" in c.active_nodes(), timeout=10, what="worker-ns active")
    return t


LINK = None
CUTS = []  # wall time of each cut


def scenario(c):
    c.start_worker("worker-ns", netns=LINK.ns)
    phases = [
        ("both directions", ("both-all", "both-once"), LINK.cut_both, LINK.heal_both),
        ("master->worker dropped", ("tons-all", "tons-once"), LINK.cut_to_ns, LINK.heal_to_ns),
        ("worker->master dropped", ("fromns-all", "fromns-once"), LINK.cut_from_ns, LINK.heal_from_ns),
    ]
    figures = []
    for label, jobs, cut, heal in phases:
        figures.append((label,) + partition(c, LINK, label, jobs, cut, heal))

    # Let everything fire a few more times, then compare hits and history.
    counts = {p: c.hits.count(p) for p in set(h["path"] for h in c.hits.hits())}
    c.wait_until(lambda: all(c.hits.count(p) >= n + 2 for p, n in counts.items()), timeout=20,
                 what="every job firing after the last heal")
    all_jobs = [j for _, jobs, _, _ in phases for j in jobs]

    def recorded():
        runs = runs_by_id(c)
        return all(norm_run_id(h["run_id"]) in runs for h in c.hits.hits())
    c.wait_until(recorded, timeout=30, interval=0.5, what="every hit to have its run record")

    hits = c.hits.hits()
    runs = runs_by_id(c)
    per_time = collections.defaultdict(list)
    for h in hits:
        per_time[(h["job"], h["scheduled_at"])].append(h)
    dups = {k: v for k, v in per_time.items() if len(v) > 1}
    in_lease, bad = {}, {}
    for key, hs in dups.items():
        # Fired by worker-ns within the lease it held at a cut?
        starts = [runs[norm_run_id(h["run_id"])][2] for h in hs
                  if runs[norm_run_id(h["run_id"])][1] == "worker-ns"]
        ok = len(hs) == 2 and len(starts) == 1 and any(
            t <= starts[0] <= t + LEASE_S for t in CUTS)
        (in_lease if ok else bad)[key] = len(hs)
    lost = {}
    gaps = {}
    for j in all_jobs:
        ts = sorted({parse_time(h["scheduled_at"]) for h in hits if h["job"] == j})
        gaps[j] = max(b - a for a, b in zip(ts, ts[1:]))
        if j.endswith("-all"):
            lost[j] = sum(int(round(b - a)) - 1 for a, b in zip(ts, ts[1:]))
    for label, took, rejoin in figures:
        log("%s: failover %.2f s, rejoin %.2f s after the link returned" % (label, took, rejoin))
    log("partition: %d hits, %d scheduled times hit twice (%d sent by the cut-off worker within "
        "its lease, delivered or recorded only after the cut: %s; %d other), %d scheduled times "
        "of fire_all jobs never hit; largest gap per job %s"
        % (len(hits), len(dups), len(in_lease), sorted(in_lease), len(bad), sum(lost.values()),
           {j: round(g, 1) for j, g in gaps.items()}))
    assert not bad, "scheduled times hit twice outside any lease: %r" % bad
    assert not any(lost.values()), "fire_all jobs missed scheduled times: %r" % lost


if __name__ == "__main__":
    why = probe_netns()
    if why:
        print("SKIP partition: %s" % why, flush=True)
        sys.exit(0)
    Link.remove_stale()
    LINK = Link()
    try:
        LINK.create()
        run_scenario(scenario, workers=0, bind_host=LINK.host_ip, hits_host=LINK.host_ip)
    finally:
        LINK.remove()
