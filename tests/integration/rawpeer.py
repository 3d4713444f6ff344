"""rawpeer: a hand-made ZeroMQ peer that speaks the worker protocol to a
master, for tests that play a misbehaving or hostile worker.

    from rawpeer import RawPeer

    p = RawPeer(cluster.endpoint, routing_id="worker-9")
    p.hello("worker-9")
    p.recv_type("WELCOME")
    p.run_finished([RawPeer.run_record(job_id=3, run_id=b"...16 bytes...")])

A frame is a msgpack array [version, type, seq, body-map], as
common/hg_proto.c encodes it. curve = (server_public_z85,
client_public_z85, client_secret_z85) makes it a CURVE client; None
speaks plain text (masters started for tests with insecure.plaintext).

Needs Debian's python3-zmq and python3-msgpack (scripts/install-deps). The
interpreter running the tests may be another Python than the system one
(a pyenv shim, say): then this module starts the test again with the
system Python, which has them.
"""

import os
import sys
import time

try:
    import msgpack
    import zmq
except ImportError:  # pragma: no cover - depends on the machine
    SYSTEM_PYTHON = "/usr/bin/python3"
    if os.path.realpath(sys.executable) != os.path.realpath(SYSTEM_PYTHON) and \
            os.access(SYSTEM_PYTHON, os.X_OK) and not os.environ.get("HG_RAWPEER_REEXEC"):
        os.environ["HG_RAWPEER_REEXEC"] = "1"
        os.execv(SYSTEM_PYTHON, [SYSTEM_PYTHON] + sys.argv)
    raise

PROTO_VERSION = 1
TYPES = {
    "HELLO": 1, "WELCOME": 2, "HEARTBEAT": 3, "ASSIGN": 4, "REVOKE": 5, "TRIGGER": 6,
    "CANCEL": 7, "RUN_STARTED": 8, "RUN_FINISHED": 9, "RUN_LOG": 10, "ACK": 11,
    "PLUGIN_GET": 12, "PLUGIN_CHUNK": 13, "ERROR": 14, "LEAVE": 15,
}
TYPE_NAMES = {v: k for k, v in TYPES.items()}
RUN_SUCCESS = 1


class RawPeer:
    """One DEALER connected to a master's worker endpoint."""

    def __init__(self, endpoint, routing_id=None, curve=None, sndhwm=None, rcvhwm=None):
        self.ctx = zmq.Context.instance()
        self.sock = self.ctx.socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        if routing_id is not None:
            self.sock.setsockopt(zmq.ROUTING_ID, routing_id.encode()
                                 if isinstance(routing_id, str) else routing_id)
        if sndhwm is not None:
            self.sock.setsockopt(zmq.SNDHWM, sndhwm)
        if rcvhwm is not None:
            self.sock.setsockopt(zmq.RCVHWM, rcvhwm)
        if curve:
            server_pub, client_pub, client_sec = curve
            self.sock.curve_serverkey = server_pub.encode() if isinstance(server_pub, str) else server_pub
            self.sock.curve_publickey = client_pub.encode() if isinstance(client_pub, str) else client_pub
            self.sock.curve_secretkey = client_sec.encode() if isinstance(client_sec, str) else client_sec
        self.sock.connect(endpoint)
        self.seq = 0

    def close(self):
        self.sock.close(0)

    # ---- sending --------------------------------------------------------

    def send(self, type_name, body, block=True):
        """Send one message; returns False when it would block (block=False)."""
        self.seq += 1
        frame = msgpack.packb([PROTO_VERSION, TYPES[type_name], self.seq, body], use_bin_type=True)
        try:
            self.sock.send(frame, 0 if block else zmq.NOBLOCK)
            return True
        except zmq.Again:
            return False

    def hello(self, node, held=(), capacity=8, version="rawpeer", block=True):
        return self.send("HELLO", {"node": node, "ver": version, "cap": capacity,
                                   "held": list(held), "unacked": 0}, block)

    def heartbeat(self, echo=0, block=True):
        return self.send("HEARTBEAT", {"echo": echo, "running": 0, "jobs": 0, "unacked": 0}, block)

    def run_started(self, records, block=True):
        return self.send("RUN_STARTED", {"runs": list(records)}, block)

    def run_finished(self, records, block=True):
        return self.send("RUN_FINISHED", {"runs": list(records)}, block)

    def plugin_get(self, sha256, offset=0, block=True):
        return self.send("PLUGIN_GET", {"sha": sha256, "off": offset}, block)

    def leave(self, handover=0, block=True):
        return self.send("LEAVE", {"handover": handover}, block)

    @staticmethod
    def run_record(job_id, run_id, scheduled_ms, name="forged", status=RUN_SUCCESS,
                   reason="schedule", error="forged by a test peer", epoch=1):
        """One run record (a dict for run_started / run_finished); run_id is
        16 raw bytes or 32 hex digits."""
        if isinstance(run_id, str):
            run_id = bytes.fromhex(run_id.replace("-", ""))
        now = int(time.time() * 1000)
        return {"id": run_id, "job": int(job_id), "epoch": epoch, "name": name,
                "sched": int(scheduled_ms), "start": now, "fin": now, "att": 1,
                "reason": reason, "status": status, "http": 200, "err": error}

    # ---- receiving ------------------------------------------------------

    def recv(self, timeout_s=2.0):
        """The next message as (type name, body), or None after timeout_s."""
        if not self.sock.poll(int(timeout_s * 1000)):
            return None
        top = msgpack.unpackb(self.sock.recv(), raw=False, strict_map_key=False)
        return TYPE_NAMES.get(top[1], str(top[1])), top[3]

    def recv_type(self, type_name, timeout_s=5.0):
        """Read until a message of type_name comes; its body, or None."""
        deadline = time.monotonic() + timeout_s
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            m = self.recv(left)
            if m is None:
                return None
            if m[0] == type_name:
                return m[1]

    def drain(self, timeout_s=0.2):
        """Read and return every message that comes within timeout_s of the last."""
        got = []
        while True:
            m = self.recv(timeout_s)
            if m is None:
                return got
            got.append(m)
