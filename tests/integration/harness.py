"""harness: real Hourglass clusters for the integration tests.

Standard library only. A test reads like this:

    from harness import Cluster, run_scenario

    def scenario(c):
        job = c.create_job("ping", "@every 1s", c.hits.url("/ping"))
        c.wait_until(lambda: c.hits.count("/ping") >= 3, timeout=15, what="3 hits")

    if __name__ == "__main__":
        run_scenario(scenario, workers=2)

Cluster(...) creates a fresh database hourglass_it_<test> on the private
MariaDB that scripts/test starts (settings from HOURGLASS_MYSQL_*), picks
free loopback ports, starts a real hourglass-master, N real
hourglass-workers (worker-1..N) and an in-process hit server, and waits
until the master answers /healthz and lists the N workers as active. Logs go
to var/test/log/<test>/<proc>.log and are printed when a test fails. Every
process is stopped on exit, on failure, and (through the kernel's
parent-death signal) even when the test process itself is killed.

Several masters (high availability): Cluster(masters=2) starts master 1
("master", which leads) and then master 2 ("master-2", a standby) on the
same database, each with its own API and ZeroMQ ports (master_urls,
endpoints); workers get every endpoint (--master-endpoints). api_at(),
health(), kill_master(), start_master_n() and use_master() address one
master; api() and cli() keep talking to api_url, which use_master()
repoints.

Keys (CURVE): every Cluster runs as shipped, with CURVE on the worker
links. It makes one master key pair (shared by all its masters) and one
key pair per worker name, registered for that node through the masters'
keys.workers directory; cluster.worker_key(name) returns (public_z85,
secret_z85) of that node's key (made on first use), cluster.master_public_key
is the masters' public key in Z85, and cluster.key_files(name) the
worker's certificate paths. Cluster(plaintext=True) runs every daemon with
insecure.plaintext instead (tests that must speak to the master without
keys; loopback only).

Environment: HG_BUILD_DIR (binaries), HG_SOURCE_DIR (repository),
HG_TEST_VAR (default $HG_SOURCE_DIR/var/test), HOURGLASS_MYSQL_HOST, _PORT,
_USER, _PASSWORD (defaults match scripts/test: 127.0.0.1:3317,
hourglass/hourglass), HG_IT_KEEP_LOGS_TAIL (lines shown per log on
failure, default 80).
"""

import atexit
import datetime
import json
import os
import random
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
import unittest
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hitserver import HitServer, pump  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.environ.get("HG_SOURCE_DIR") or os.path.dirname(os.path.dirname(HERE))
BUILD_DIR = os.environ.get("HG_BUILD_DIR") or os.path.join(SOURCE_DIR, "build")
TEST_VAR = os.environ.get("HG_TEST_VAR") or os.path.join(SOURCE_DIR, "var", "test")

MASTER_BIN = os.path.join(BUILD_DIR, "hourglass-master")
WORKER_BIN = os.path.join(BUILD_DIR, "hourglass-worker")
CLI_BIN = os.path.join(BUILD_DIR, "hourglass")

# Generous bounds: these guard against hangs, they are not the measurements.
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0
SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")


def log(msg):
    print("[%s] %s" % (time.strftime("%H:%M:%S"), msg), flush=True)


def test_name():
    """test_fire.py -> "fire"."""
    base = os.path.splitext(os.path.basename(sys.argv[0] or "adhoc"))[0]
    if base.startswith("test_"):
        base = base[5:]
    return re.sub(r"[^A-Za-z0-9_]", "_", base)[:40] or "adhoc"


_PORTS_GIVEN = set()
# Ports handed to daemons come from below the kernel's ephemeral range
# (net.ipv4.ip_local_port_range, 32768-60999 by default): a port from that
# range, free when probed, can be taken before the daemon binds it by the
# source port of any outgoing connection (a worker dialling its master, a
# client of MariaDB), and a master that cannot bind its port exits.
_PORT_LOW, _PORT_HIGH = 20000, 32767
_port_rng = random.Random(os.getpid() ^ int(time.time() * 1000))


def _port_free(port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port():
    """A loopback TCP port nobody listens on right now, outside the
    ephemeral range, and one this test has not been given before (two
    daemons of one test must never share one, as a master's API and
    ZeroMQ ports once did)."""
    for _ in range(1000):
        port = _port_rng.randint(_PORT_LOW, _PORT_HIGH)
        if port not in _PORTS_GIVEN and _port_free(port):
            _PORTS_GIVEN.add(port)
            return port
    raise AssertionError("no free loopback port in %d-%d that this test was not given before"
                         % (_PORT_LOW, _PORT_HIGH))


class WaitTimeout(AssertionError):
    pass


def wait_until(predicate, timeout=20.0, interval=0.2, what=None, on_poll=None):
    """Poll predicate() until it returns something truthy and return that.
    Raises WaitTimeout (an AssertionError) after timeout seconds, naming
    `what` and the last value seen. Exceptions from predicate propagate."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        if on_poll is not None:
            on_poll()
        last = predicate()
        if last:
            return last
        if time.monotonic() >= deadline:
            raise WaitTimeout(
                "timed out after %.1f s waiting for %s (last value: %r)"
                % (timeout, what or getattr(predicate, "__name__", "condition"), last)
            )
        time.sleep(interval)


def parse_time(text):
    """RFC 3339 ("2026-11-21T10:00:00.123Z", "+00:00" offsets) or MySQL
    DATETIME(3) in UTC ("2026-11-21 10:00:00.123") -> Unix seconds."""
    if text is None:
        return None
    t = text.strip().replace(" ", "T")
    if t.endswith("Z") or t.endswith("z"):
        t = t[:-1] + "+00:00"
    if not re.search(r"[+-]\d\d:\d\d$", t):
        t += "+00:00"
    return datetime.datetime.fromisoformat(t).timestamp()


RFC3339_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}(Z|[+-]\d\d:\d\d)$")


def norm_run_id(run_id):
    """Run ids compare as 32 lower-case hex digits (UUID dashes dropped)."""
    return (run_id or "").replace("-", "").strip().lower()


def max_in_window(times, window_s):
    """Largest number of the given instants within any window_s span."""
    ts = sorted(times)
    best, lo = 0, 0
    for hi in range(len(ts)):
        while ts[hi] - ts[lo] > window_s:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


_BATCH_ESCAPES = {"\\\\": "\\", "\\t": "\t", "\\n": "\n", "\\0": "\0"}


def _unescape(value):
    """Undo the mariadb client's --batch escaping of \\, tab, newline, NUL."""
    return re.sub(r"\\[\\tn0]", lambda m: _BATCH_ESCAPES[m.group(0)], value)


def read_cert(path):
    """The keys and metadata of a czmq certificate file: {"public": z85,
    "secret": z85 or None, "meta": {name: value}}."""
    out = {"public": None, "secret": None, "meta": {}}
    section = None
    with open(path) as f:
        for line in f:
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            if not line[0].isspace():
                section = line.strip()
                continue
            m = re.match(r'\s*([^=\s]+)\s*=\s*"(.*)"\s*$', line)
            if not m:
                continue
            if section == "curve" and m.group(1) == "public-key":
                out["public"] = m.group(2)
            elif section == "curve" and m.group(1) == "secret-key":
                out["secret"] = m.group(2)
            elif section == "metadata":
                out["meta"][m.group(1)] = m.group(2)
    return out


class Proc:
    """One daemon: command, log file, Popen handle."""

    def __init__(self, name, argv, log_path):
        self.name = name
        self.argv = argv
        self.log_path = log_path
        self.popen = None
        self.expected_exit = False  # set when a test stops or kills it on purpose

    def start(self, env):
        with open(self.log_path, "ab") as f:
            f.write(("==== %s start: %s\n" % (time.strftime("%H:%M:%S"), " ".join(self.argv))).encode())
        logf = open(self.log_path, "ab")
        argv = self.argv
        # The kernel kills the daemon when this test process dies, even by
        # SIGKILL (ctest timeout): no stray daemons between tests.
        if shutil.which("setpriv"):
            argv = ["setpriv", "--pdeathsig", "KILL", "--"] + argv
        self.popen = subprocess.Popen(
            argv, stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env=env, cwd=SOURCE_DIR, start_new_session=True,
        )
        logf.close()
        self.expected_exit = False

    @property
    def pid(self):
        return self.popen.pid if self.popen else None

    def running(self):
        return self.popen is not None and self.popen.poll() is None

    def send_signal(self, sig):
        if self.running():
            self.expected_exit = True
            os.kill(self.popen.pid, sig)

    def stop(self, sig=signal.SIGTERM, timeout=STOP_TIMEOUT_S):
        """Signal and reap; SIGKILL after timeout. Returns the exit code."""
        if self.popen is None:
            return None
        if self.running():
            self.send_signal(sig)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                log("%s did not exit %.0f s after %s; killing it" % (self.name, timeout, signal.Signals(sig).name))
                os.kill(self.popen.pid, signal.SIGKILL)
                self.popen.wait(10)
        return self.popen.returncode

    def tail(self, lines=80):
        try:
            with open(self.log_path, "rb") as f:
                data = f.read().decode("utf-8", errors="replace").splitlines()
        except OSError:
            return "(no log)"
        return "\n".join(data[-lines:])

    def sanitizer_report(self):
        try:
            with open(self.log_path, "rb") as f:
                text = f.read().decode("utf-8", errors="replace")
        except OSError:
            return None
        for mark in SANITIZER_MARKS:
            i = text.find(mark)
            if i >= 0:
                return text[max(0, i - 200): i + 3000]
        return None


class Cluster:
    """A real master, N real workers, a hit server and a fresh database.

    Use as a context manager; stop() is also registered with atexit."""

    def __init__(self, workers=2, name=None, master_args=(), worker_args=(),
                 worker_labels=None, start=True, masters=1, bind_host="127.0.0.1",
                 hits_host="127.0.0.1", start_master=True, plaintext=False):
        """start_master: False leaves the first master for the test to
        start (with workers=0 too, nothing dials it before then);
        bind_host: address the masters' worker endpoints listen on;
        hits_host: address of the hit server (both loopback unless a test
        runs workers in another network namespace); plaintext: no CURVE
        (insecure.plaintext on every daemon)."""
        self.name = name or test_name()
        self.plaintext = plaintext
        self.n_masters = masters
        self._master_at_start = start_master
        self.db_name = "hourglass_it_" + self.name
        self.n_workers = workers
        self.master_args = list(master_args)
        self.worker_args = list(worker_args)
        self.worker_labels = worker_labels or {}
        self.mysql = {
            "host": os.environ.get("HOURGLASS_MYSQL_HOST", "127.0.0.1"),
            "port": os.environ.get("HOURGLASS_MYSQL_PORT", "3317"),
            "user": os.environ.get("HOURGLASS_MYSQL_USER", "hourglass"),
            "password": os.environ.get("HOURGLASS_MYSQL_PASSWORD", "hourglass"),
        }
        self.log_dir = os.path.join(TEST_VAR, "log", self.name)
        # The master's and each worker's data dir (plug-in copies and
        # cache, the master's run-record spill file, ...), fresh for every run.
        self.data_dir = os.path.join(TEST_VAR, "data", self.name)
        self.spill_path = os.path.join(self.data_dir, "master", "runs.spill")
        self.api_port = free_port()
        self.zmq_port = free_port()
        self.api_url = "http://127.0.0.1:%d" % self.api_port
        self.endpoint = "tcp://%s:%d" % (bind_host, self.zmq_port)
        self.hits_host = hits_host
        # Master i (0-based) listens on api_ports[i] / zmq_ports[i]; master 0
        # is self.master, the others are in self.extra_masters.
        self.api_ports = [self.api_port] + [free_port() for _ in range(masters - 1)]
        self.zmq_ports = [self.zmq_port] + [free_port() for _ in range(masters - 1)]
        self.master_urls = ["http://127.0.0.1:%d" % p for p in self.api_ports]
        self.endpoints = ["tcp://%s:%d" % (bind_host, p) for p in self.zmq_ports]
        self.extra_masters = {}  # index (>= 1) -> Proc
        self.master = None
        self.workers = {}  # name -> Proc
        self.hits = None  # HitServer
        self._stopped = False
        self._failed = False
        if start:
            self.start()

    # ---- lifecycle -------------------------------------------------------

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            self._failed = True
        self.stop()
        return False

    def start(self):
        for b in (MASTER_BIN, WORKER_BIN):
            if not os.access(b, os.X_OK):
                raise AssertionError("%s is missing: build first (scripts/build)" % b)
        if shutil.which("mariadb") is None:
            raise AssertionError("the mariadb client is missing (scripts/install-deps)")
        atexit.register(self.stop)
        shutil.rmtree(self.log_dir, ignore_errors=True)
        os.makedirs(self.log_dir, exist_ok=True)
        shutil.rmtree(self.data_dir, ignore_errors=True)
        try:
            if not self.plaintext:
                self._make_master_key()
                for i in range(1, self.n_workers + 1):
                    self.worker_key("worker-%d" % i)
            self._fresh_database()
            self.hits = HitServer(host=self.hits_host).start()
            if self._master_at_start:
                self.start_master()
                if self.n_masters == 1:
                    # /healthz answers before the election is won; a test
                    # with no worker to wait for would race it (503
                    # not_leader on its first write).
                    self.wait_until(lambda: (self.health(0) or {}).get("role") == "leader",
                                    START_TIMEOUT_S, what="the master to lead")
            for i in range(1, self.n_masters):
                self.start_master_n(i)
            for i in range(1, self.n_workers + 1):
                self.start_worker("worker-%d" % i, wait=False)
            self.wait_workers(self.n_workers)
            log("cluster %s up: api %s, workers %s, endpoint %s, db %s"
                % (self.name, self.api_url, ",".join(self.workers) or "-", self.hits.url("/"), self.db_name))
        except BaseException:
            self._failed = True
            self.stop()
            raise
        return self

    def _daemon_env(self):
        # Daemons get their settings from explicit flags only: drop any
        # HOURGLASS_* (and config file) the caller's shell may carry.
        env = {k: v for k, v in os.environ.items() if not k.startswith("HOURGLASS_")}
        env.setdefault("ASAN_OPTIONS", "abort_on_error=0:detect_leaks=1")
        env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=0")
        return env

    # ---- keys ------------------------------------------------------------

    @property
    def keys_dir(self):
        return os.path.join(self.data_dir, "keys")

    @property
    def workers_keys_dir(self):
        """The masters' keys.workers directory (admitted worker public certs)."""
        return os.path.join(self.keys_dir, "workers")

    @property
    def master_key_file(self):
        """The masters' public certificate (what workers pin)."""
        return os.path.join(self.keys_dir, "master.key")

    def _make_master_key(self):
        os.makedirs(self.workers_keys_dir, exist_ok=True)
        if not os.path.exists(self.master_key_file):
            subprocess.run([MASTER_BIN, "keygen", "--out", self.master_key_file], check=True,
                           stdout=subprocess.DEVNULL)

    @property
    def master_public_key(self):
        """The masters' CURVE public key, Z85."""
        return read_cert(self.master_key_file)["public"]

    def key_files(self, name):
        """(public, secret) certificate paths of worker name's key."""
        path = os.path.join(self.keys_dir, name + ".key")
        return path, path + "_secret"

    def worker_key(self, name, register=True):
        """(public_z85, secret_z85) of the key made for node name (made on
        first use and, with register, admitted by copying its public
        certificate into the masters' keys.workers directory)."""
        pub, sec = self.key_files(name)
        if not os.path.exists(sec):
            os.makedirs(self.keys_dir, exist_ok=True)
            subprocess.run([WORKER_BIN, "keygen", "--name", name, "--out", pub], check=True,
                           stdout=subprocess.DEVNULL)
        if register:
            os.makedirs(self.workers_keys_dir, exist_ok=True)
            dest = os.path.join(self.workers_keys_dir, name + ".key")
            if not os.path.exists(dest):
                shutil.copyfile(pub, dest + ".tmp")
                os.rename(dest + ".tmp", dest)
        cert = read_cert(sec)
        return cert["public"], cert["secret"]

    def master_argv(self, index=0):
        m = self.mysql
        argv = [MASTER_BIN,
                "--mysql-host", m["host"], "--mysql-port", str(m["port"]),
                "--mysql-user", m["user"], "--mysql-password", m["password"],
                "--mysql-database", self.db_name,
                "--api-port", str(self.api_ports[index]),
                "--bind", self.endpoints[index],
                "--data-dir", self.master_data_dir(index)]
        if self.plaintext:
            argv += ["--insecure-plaintext", "true"]
        else:
            self._make_master_key()
            argv += ["--keys-secret", self.master_key_file + "_secret",
                     "--keys-workers", self.workers_keys_dir]
        if self.n_masters > 1:
            argv += ["--name", "master-%d" % (index + 1)]
        return argv + self.master_args

    def worker_argv(self, name, labels=None, endpoints=None, netns=None, register_key=True):
        """endpoints: the master endpoints this worker dials (default: every
        master's); netns: run it in that network namespace (ip netns exec);
        register_key: False leaves the worker's key out of keys.workers
        (a test admits it another way, e.g. the worker_keys table)."""
        endpoints = list(endpoints) if endpoints is not None else self.endpoints
        # master.endpoints, not master: HOURGLASS_MASTER is the CLI's URL.
        argv = [WORKER_BIN, "--name", name, "--master-endpoints", ",".join(endpoints),
                "--data-dir", self.worker_data_dir(name)]
        if self.plaintext:
            argv += ["--insecure-plaintext", "true"]
        else:
            self.worker_key(name, register=register_key)
            argv += ["--key", self.key_files(name)[1], "--master-key", self.master_key_file]
        if netns:
            argv = ["ip", "netns", "exec", netns] + argv
        labels = labels if labels is not None else self.worker_labels
        if labels:
            argv += ["--labels", ",".join("%s=%s" % kv for kv in sorted(labels.items()))]
        return argv + self.worker_args

    def master_data_dir(self, index=0):
        """The master's data dir (plug-in copies are <dir>/plugins/<sha256>.so);
        master index > 0 (HA tests) has its own."""
        return os.path.join(self.data_dir, "master" if index == 0 else "master-%d" % (index + 1))

    def worker_data_dir(self, name):
        """The worker's data dir (its plug-in cache is <dir>/plugins)."""
        return os.path.join(self.data_dir, name)

    def start_master(self, wait=True):
        if self.master is None:
            self.master = Proc("master", self.master_argv(), os.path.join(self.log_dir, "master.log"))
        self.master.start(self._daemon_env())
        if wait:
            self.wait_healthy()
        return self.master

    def start_master_n(self, index, wait=True):
        """Start master number index (0-based; 0 is self.master) and, with
        wait, until its /healthz answers 200."""
        if index == 0:
            return self.start_master(wait=wait)
        proc = self.extra_masters.get(index)
        if proc is None:
            proc = Proc("master-%d" % (index + 1), self.master_argv(index),
                        os.path.join(self.log_dir, "master-%d.log" % (index + 1)))
            self.extra_masters[index] = proc
        proc.start(self._daemon_env())
        if wait:
            self.wait_until(lambda: (self.health(index) or {}).get("status") == "ok",
                            START_TIMEOUT_S, what="master-%d /healthz to answer 200" % (index + 1))
        return proc

    def master_proc(self, index):
        return self.master if index == 0 else self.extra_masters.get(index)

    def kill_master(self, index, sig=signal.SIGKILL):
        """Send sig to master index and reap it; returns the time.time() of
        the signal."""
        proc = self.master_proc(index)
        log("sending %s to %s (pid %d)" % (signal.Signals(sig).name, proc.name, proc.pid))
        at = time.time()
        proc.send_signal(sig)
        proc.stop(signal.SIGKILL)
        return at

    def use_master(self, index):
        """Point api(), cli() and the node helpers at master index."""
        self.api_url = self.master_urls[index]

    def health(self, index=None, timeout=2):
        """/healthz of master index (default: the one api_url points at) as
        a dict, or None when it does not answer."""
        url = self.api_url if index is None else self.master_urls[index]
        try:
            status, body = self.api_at(url, "GET", "/healthz", timeout=timeout)
        except OSError:
            return None
        return body if isinstance(body, dict) else None

    def start_worker(self, name, wait=True, labels=None, endpoints=None, netns=None,
                     register_key=True):
        """Start (or restart) a worker; netns runs it in that network
        namespace (ip netns exec); register_key as in worker_argv."""
        proc = self.workers.get(name)
        if proc is None:
            proc = Proc(name, self.worker_argv(name, labels, endpoints, netns, register_key),
                        os.path.join(self.log_dir, name + ".log"))
            self.workers[name] = proc
        proc.start(self._daemon_env())
        if wait:
            self.wait_until(lambda: name in self.active_nodes(), timeout=START_TIMEOUT_S,
                            what="%s to show as active in /api/v1/nodes" % name)
        return proc

    def kill_worker(self, name, sig=signal.SIGKILL):
        """Send sig to a worker; for SIGKILL/SIGTERM wait until it is gone."""
        proc = self.workers[name]
        log("sending %s to %s (pid %d)" % (signal.Signals(sig).name, name, proc.pid))
        proc.send_signal(sig)
        if sig in (signal.SIGKILL, signal.SIGTERM):
            proc.stop(signal.SIGKILL)
        return time.time()

    def stop_master(self, sig=signal.SIGTERM):
        log("stopping master with %s" % signal.Signals(sig).name)
        rc = self.master.stop(sig)
        log("master exited with %s" % rc)
        return rc

    def restart_master(self, sig=signal.SIGTERM, down_s=0.0, wait_workers=True):
        """Stop the master (sig), wait down_s, start it on the same ports
        and database, wait for /healthz and (optionally) for every running
        worker to be active again. Returns seconds from start to workers back."""
        self.stop_master(sig)
        if down_s:
            time.sleep(down_s)
        t0 = time.monotonic()
        self.start_master()
        if wait_workers:
            alive = [n for n, p in self.workers.items() if p.running()]
            self.wait_workers(len(alive), names=alive)
        took = time.monotonic() - t0
        log("master back, workers reconnected after %.2f s" % took)
        return took

    def stop(self):
        """Stop every process (SIGTERM, then SIGKILL) and the hit server.
        Prints the logs when the test failed; fails on sanitizer reports."""
        if self._stopped:
            return
        self._stopped = True
        if sys.exc_info()[0] is not None:
            self._failed = True
        procs = list(self.workers.values()) + ([self.master] if self.master else [])
        procs += [self.extra_masters[i] for i in sorted(self.extra_masters)]
        for p in procs:
            if p.running():
                p.send_signal(signal.SIGTERM)
        for p in procs:
            rc = p.stop(signal.SIGTERM)
            if rc not in (None, 0) and not p.expected_exit and rc != -signal.SIGTERM:
                log("%s exited with code %s" % (p.name, rc))
        if self.hits is not None:
            self.hits.stop()
        reports = [(p.name, p.sanitizer_report()) for p in procs]
        reports = [(n, r) for n, r in reports if r]
        if self._failed or reports:
            self.show_logs()
        for name, rep in reports:
            print("---- sanitizer report from %s ----\n%s" % (name, rep), flush=True)
        if reports:
            raise AssertionError("sanitizer errors in: " + ", ".join(n for n, _ in reports))

    def show_logs(self, lines=None):
        lines = lines or int(os.environ.get("HG_IT_KEEP_LOGS_TAIL", "80"))
        procs = ([self.master] if self.master else []) + list(self.workers.values())
        procs += [self.extra_masters[i] for i in sorted(self.extra_masters)]
        for p in procs:
            print("---- last %d lines of %s (%s) ----\n%s" % (lines, p.name, p.log_path, p.tail(lines)),
                  flush=True)

    def mark_failed(self):
        self._failed = True

    def check_alive(self):
        """Fail fast when a daemon died that the test did not stop."""
        procs = ([self.master] if self.master else []) + list(self.workers.values())
        procs += [self.extra_masters[i] for i in sorted(self.extra_masters)]
        for p in procs:
            if p.popen is not None and not p.running() and not p.expected_exit:
                raise AssertionError("%s died unexpectedly (exit code %s); see %s"
                                     % (p.name, p.popen.returncode, p.log_path))

    def wait_until(self, predicate, timeout=20.0, interval=0.2, what=None):
        """wait_until() that also fails at once if a daemon crashed."""
        return wait_until(predicate, timeout, interval, what, on_poll=self.check_alive)

    def wait_healthy(self, timeout=START_TIMEOUT_S):
        def healthy():
            try:
                status, body = self.api("GET", "/healthz", timeout=2)
            except OSError:
                return False
            return status == 200 and body
        return self.wait_until(healthy, timeout, what="master /healthz to answer 200")

    def wait_workers(self, n, names=None, timeout=START_TIMEOUT_S):
        def enough():
            active = self.active_nodes()
            if names is not None:
                return all(x in active for x in names) and active
            return len(active) >= n and active
        if n == 0 and not names:
            return []
        return self.wait_until(enough, timeout, what="%d active workers in /api/v1/nodes" % n)

    # ---- database --------------------------------------------------------

    def _mariadb(self, args, database=None, input_sql=None):
        m = self.mysql
        argv = ["mariadb", "--no-defaults", "--protocol=tcp", "-h", m["host"], "-P", str(m["port"]),
                "-u", m["user"], "--batch", "--skip-column-names"] + args
        if database:
            argv.append(database)
        env = dict(os.environ, MYSQL_PWD=m["password"])
        r = subprocess.run(argv, input=input_sql, capture_output=True, text=True, env=env, timeout=60)
        if r.returncode != 0:
            raise AssertionError("mariadb failed (%s:%s as %s): %s"
                                 % (m["host"], m["port"], m["user"], r.stderr.strip()))
        return r.stdout

    def _fresh_database(self):
        try:
            self._mariadb([], input_sql="DROP DATABASE IF EXISTS `%s`;\nCREATE DATABASE `%s` CHARACTER SET utf8mb4;\n"
                          % (self.db_name, self.db_name))
        except AssertionError as e:
            raise AssertionError("%s\nIs the private MariaDB up? Run the tests with scripts/test, or start it "
                                 "with: HG_VAR=var/test HG_DB_PORT=3317 scripts/db start" % e)

    def sql(self, query):
        """Rows of a query on this test's database, as lists of strings
        (None for NULL)."""
        out = self._mariadb(["-e", query], database=self.db_name)
        rows = []
        for line in out.splitlines():
            rows.append([None if v == "NULL" else _unescape(v) for v in line.split("\t")])
        return rows

    def runs_in_db(self, job):
        """Run rows of a job: dicts with run_id (32 hex), status, http_status,
        node, scheduled_at (Unix s), attempt, trigger, error."""
        rows = self.sql(
            "SELECT LOWER(HEX(run_id)), status, http_status, node, scheduled_at, attempt, "
            "trigger_reason, error FROM runs WHERE job_name = '%s' ORDER BY scheduled_at"
            % job.replace("\\", "\\\\").replace("'", "''"))
        keys = ("run_id", "status", "http_status", "node", "scheduled_at", "attempt", "trigger", "error")
        runs = []
        for r in rows:
            d = dict(zip(keys, r))
            d["scheduled_at"] = parse_time(d["scheduled_at"])
            d["http_status"] = int(d["http_status"]) if d["http_status"] is not None else None
            runs.append(d)
        return runs

    # ---- API and CLI -----------------------------------------------------

    @property
    def token(self):
        """The admin token the first master wrote to <data dir>/admin.token
        when it created the database's first token (None before that).
        Read afresh each time: a data dir kept from an earlier run (the
        bench keeps its own) holds an old token until the master of a
        fresh database writes the new one."""
        for i in range(self.n_masters):
            path = os.path.join(self.master_data_dir(i), "admin.token")
            try:
                with open(path) as f:
                    token = f.read().strip()
            except OSError:
                continue
            if token:
                return token
        return None

    def api(self, method, path, body=None, timeout=15, raw=None, headers=None, token=True):
        """Call the master's REST API. body: a JSON-able object; raw: bytes
        or str sent as is. Returns (status, parsed JSON or text or None).
        token: True sends the admin token, None or False none, a string
        that token."""
        return self.api_at(self.api_url, method, path, body, timeout, raw, headers, token=token)

    def api_at(self, base_url, method, path, body=None, timeout=15, raw=None, headers=None,
               reply_headers=None, token=True):
        """api() against any master's base URL. reply_headers: a dict that
        receives the response headers (lower-case names). An Authorization
        header in headers wins over token."""
        data = None
        hdrs = dict(headers or {})
        if token and not any(k.lower() == "authorization" for k in hdrs):
            text = self.token if token is True else token
            if text:
                hdrs["Authorization"] = "Bearer " + text
        if raw is not None:
            data = raw.encode() if isinstance(raw, str) else raw
            hdrs.setdefault("Content-Type", "application/json")
        elif body is not None:
            data = json.dumps(body).encode()
            hdrs.setdefault("Content-Type", "application/json")
        req = urllib.request.Request(base_url + path, data=data, method=method, headers=hdrs)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                status, payload = resp.status, resp.read()
                got = resp.headers
        except urllib.error.HTTPError as e:
            status, payload = e.code, e.read()
            got = e.headers
        if reply_headers is not None and got is not None:
            reply_headers.update({k.lower(): v for k, v in got.items()})
        text = payload.decode("utf-8", errors="replace")
        try:
            return status, json.loads(text) if text.strip() else None
        except ValueError:
            return status, text

    def cli(self, *args, timeout=30, env=None, master=None):
        """Run the real `hourglass` CLI against this master (or master: any
        --master value, e.g. a comma-separated list of URLs).
        Returns (exit code, stdout, stderr)."""
        e = {k: v for k, v in os.environ.items() if not k.startswith("HOURGLASS_")}
        if self.token:
            e["HOURGLASS_TOKEN"] = self.token
        # Never the token file of whoever runs the tests.
        e["XDG_CONFIG_HOME"] = os.path.join(self.data_dir, "cli-config")
        e.update(env or {})
        if not os.access(CLI_BIN, os.X_OK):
            raise AssertionError("%s is missing: build first (scripts/build)" % CLI_BIN)
        argv = [CLI_BIN, "--master", master or self.api_url] + [str(a) for a in args]
        r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=e, cwd=SOURCE_DIR)
        return r.returncode, r.stdout, r.stderr

    def cli_json(self, *args, timeout=30, master=None):
        """Run the CLI with -o json; returns the parsed output (asserts rc 0)."""
        rc, out, err = self.cli(*(list(args) + ["-o", "json"]), timeout=timeout, master=master)
        assert rc == 0, "hourglass %s -o json: exit %d: %s" % (" ".join(args), rc, err.strip())
        try:
            return json.loads(out)
        except ValueError:
            raise AssertionError("hourglass %s -o json printed no JSON: %r" % (" ".join(args), out[:500]))

    def nodes(self):
        status, body = self.api("GET", "/api/v1/nodes", timeout=5)
        if status != 200 or not isinstance(body, dict):
            return []
        return body.get("nodes") or []

    def active_nodes(self):
        try:
            return sorted(n["name"] for n in self.nodes() if n.get("state") == "active")
        except OSError:
            return []

    def create_job(self, name, schedule, url, method="GET", body=None, **extra):
        """Create an HTTP job through the API; returns the job object."""
        spec = {"name": name, "schedule": schedule, "http": {"method": method, "url": url}}
        if body is not None:
            spec["http"]["body"] = body
        spec.update(extra)
        status, job = self.api("POST", "/api/v1/jobs", spec)
        assert status == 201, "create job %s: HTTP %s %s" % (name, status, job)
        return job

    def job(self, name):
        status, job = self.api("GET", "/api/v1/jobs/" + name)
        assert status == 200, "get job %s: HTTP %s %s" % (name, status, job)
        return job

    def job_node(self, name):
        """The worker holding the job right now, or None."""
        return self.job(name).get("node") or None

    def delete_job(self, name):
        status, body = self.api("DELETE", "/api/v1/jobs/" + name)
        assert status == 200, "delete job %s: HTTP %s %s" % (name, status, body)
        return time.time()


class Relay:
    """A TCP relay on loopback (to MySQL, say) that a test can cut (every
    connection closed, new ones refused) and restore, so that an outage is
    real for the daemon behind it while the server itself keeps running."""

    def __init__(self, target_port, target_host="127.0.0.1"):
        self.target = (target_host, int(target_port))
        self.port = free_port()
        self.conns = []
        self.lock = threading.Lock()
        self.listener = None
        self.down = False
        self.up()

    def up(self):
        self.down = False
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", self.port))
        s.listen(64)
        self.listener = s
        threading.Thread(target=self._accept, args=(s,), daemon=True).start()

    def cut(self):
        self.down = True
        try:
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes accept() and stops listening
        except OSError:
            pass
        self.listener.close()
        with self.lock:
            for c in self.conns:
                try:
                    c.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                c.close()
            self.conns = []

    def _accept(self, listener):
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            if self.down:
                client.close()
                return
            try:
                server = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.conns += [client, server]
            threading.Thread(target=pump, args=(client, server), daemon=True).start()


def run_scenario(scenario, **cluster_kwargs):
    """Run scenario(cluster) in a fresh cluster; print PASS/FAIL and exit
    0 or 1. Logs of every process are printed when it fails."""
    name = test_name()
    t0 = time.monotonic()
    rc = 0
    try:
        with Cluster(**cluster_kwargs) as cluster:
            scenario(cluster)
    except BaseException as e:  # also KeyboardInterrupt: still report
        traceback.print_exc()
        print("FAIL %s (%.1f s): %s" % (name, time.monotonic() - t0, e), flush=True)
        rc = 1
    else:
        print("PASS %s (%.1f s)" % (name, time.monotonic() - t0), flush=True)
    sys.exit(rc)


def run_tests(case_class, **cluster_kwargs):
    """Run a unittest.TestCase class against one shared cluster, set as
    case_class.cluster; exit 0 or 1. Logs are printed when a case fails."""
    name = test_name()
    t0 = time.monotonic()
    ok = False
    try:
        with Cluster(**cluster_kwargs) as cluster:
            case_class.cluster = cluster
            suite = unittest.defaultTestLoader.loadTestsFromTestCase(case_class)
            result = unittest.TextTestRunner(stream=sys.stdout, verbosity=2).run(suite)
            ok = result.wasSuccessful()
            if not ok:
                cluster.mark_failed()
    except BaseException:
        traceback.print_exc()
        ok = False
    print("%s %s (%.1f s)" % ("PASS" if ok else "FAIL", name, time.monotonic() - t0), flush=True)
    sys.exit(0 if ok else 1)
