#!/usr/bin/env python3
"""A worker whose connection to its only master broke in the handshake
must not stay away for good. ZeroMQ never retries a connection whose
handshake failed, so the worker dials again on a fresh socket when its
master has not answered for a lease.

The test puts an impostor on the master's port that accepts and answers
with bytes that are not ZMTP, starts a worker against it, then replaces
the impostor with the real master: the worker must join and fire."""

import socket
import threading
import time

from harness import Cluster, log, run_scenario


class Impostor:
    """Accepts TCP connections on a port and answers each with garbage."""

    def __init__(self, port):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(16)
        self.sock.settimeout(0.1)  # accept wakes up to see stopped
        self.accepted = 0
        self.conns = []
        self.stopped = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stopped:
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.accepted += 1
            try:
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n" + b"\x00" * 64)
            except OSError:
                pass
            self.conns.append(conn)

    def close(self):
        # The listening socket is closed only once accept() has returned:
        # closing it under a blocked accept() would leave it listening.
        self.stopped = True
        self.thread.join(timeout=5)
        self.sock.close()
        for c in self.conns:
            c.close()


def scenario(c):
    impostor = Impostor(c.zmq_port)
    c.start_worker("worker-1", wait=False)
    c.wait_until(lambda: impostor.accepted >= 1, timeout=20, what="the worker to reach the impostor")
    time.sleep(0.5)  # let the handshake fail on the worker's side
    impostor.close()
    log("impostor saw %d connection(s); starting the real master on its port" % impostor.accepted)

    t0 = time.monotonic()
    c.start_master()
    c.wait_workers(1, names=["worker-1"], timeout=30)
    log("worker joined %.2f s after the master started" % (time.monotonic() - t0))
    c.create_job("redial", "@every 1s", c.hits.url("/redial"))
    c.wait_until(lambda: c.hits.count("/redial") >= 2, timeout=20, what="2 hits of the job")
    assert "dialling it again" in open(c.workers["worker-1"].log_path).read(), \
        "the worker log does not say it dialled the master again"


if __name__ == "__main__":
    run_scenario(scenario, workers=0, start_master=False)
