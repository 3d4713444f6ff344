#!/usr/bin/env python3
"""MySQL unreachable for a while: workers keep firing, the API answers 503
at once (no hang) and names the database, and when MySQL is back every
run appears in the history; nothing is lost.

The master reaches MySQL through a TCP relay owned by this test, so the
outage is real for the master (connections cut and refused) while the
private MariaDB other tests share keeps running."""

import os
import select
import socket
import threading
import time
import urllib.request

from harness import free_port, log, norm_run_id, run_scenario

JOB = "outage"
OUTAGE_S = 6.0


class Relay:
    """A TCP relay to MySQL that can be cut (all connections closed, new
    ones refused) and restored."""

    def __init__(self, target_port):
        self.target = ("127.0.0.1", int(target_port))
        self.port = free_port()
        self.conns = []
        self.lock = threading.Lock()
        self.listener = None
        self.stop_flag = False
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
            threading.Thread(target=self._pump, args=(client, server), daemon=True).start()

    def _pump(self, a, b):
        try:
            while True:
                r, _, _ = select.select([a, b], [], [], 1.0)
                for s in r:
                    data = s.recv(65536)
                    if not data:
                        return
                    (b if s is a else a).sendall(data)
        except OSError:
            return
        finally:
            for s in (a, b):
                try:
                    s.close()
                except OSError:
                    pass


RELAY = Relay(os.environ.get("HOURGLASS_MYSQL_PORT", "3317"))


def scenario(c):
    c.create_job(JOB, "@every 1s", c.hits.url("/outage"))
    c.wait_until(lambda: c.hits.count("/outage") >= 2, timeout=15, what="2 hits before the outage")

    log("cutting the master off MySQL for %.0f s" % OUTAGE_S)
    RELAY.cut()
    cut_at = time.time()
    before = c.hits.count("/outage")

    # The API must answer promptly with 503 naming the database.
    t0 = time.monotonic()
    status, body = c.api("GET", "/api/v1/jobs", timeout=20)
    took = time.monotonic() - t0
    log("GET /api/v1/jobs during the outage: HTTP %s in %.2f s: %s" % (status, took, body))
    assert status == 503, "expected 503 while MySQL is down, got %s %r" % (status, body)
    assert "database" in body["error"]["message"], body
    assert took < 12, "the API took %.1f s to answer during the outage" % took
    status, health = c.api("GET", "/healthz")
    assert status == 503 and health.get("db") == "down", (status, health)

    remaining = OUTAGE_S - (time.time() - cut_at)
    if remaining > 0:
        time.sleep(remaining)
    during = c.hits.count("/outage") - before
    log("%d hits while MySQL was unreachable" % during)
    assert during >= OUTAGE_S - 3, "jobs stopped firing during the outage (%d hits)" % during

    RELAY.up()
    log("MySQL reachable again")
    c.wait_until(lambda: c.api("GET", "/healthz")[0] == 200, timeout=20, what="/healthz back to 200")

    def all_recorded():
        hits = c.hits.hits("/outage")
        ids = {r["run_id"] for r in c.runs_in_db(JOB)}
        missing = [h for h in hits if norm_run_id(h["run_id"]) not in ids]
        return (hits, missing) if not missing else None

    hits, _ = c.wait_until(all_recorded, timeout=30, interval=0.5,
                           what="every hit to have its run row after the outage")
    unfinished = c.sql("SELECT COUNT(*) FROM runs WHERE job_name = '%s' AND status = 'running' "
                       "AND scheduled_at < NOW(3) - INTERVAL 5 SECOND" % JOB)
    log("all %d hits have their run rows (%d during the outage)" % (len(hits), during))
    assert int(unfinished[0][0]) == 0, "runs left 'running' after the outage"


if __name__ == "__main__":
    run_scenario(scenario, workers=1,
                 master_args=("--mysql-host", "127.0.0.1", "--mysql-port", str(RELAY.port)))
