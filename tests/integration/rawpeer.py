"""rawpeer: a hand-driven ZeroMQ peer of the master, for tests that play a
worker (or an attacker) without the real worker's manners.

    from rawpeer import RawPeer, WELCOME, names

    with RawPeer(c.endpoint, routing_id="worker-2",
                 curve=(c.master_public_key, pub, sec)) as p:
        p.hello("worker-2")
        got = p.recv_for(2.0)              # [(type, seq, body), ...]
        welcome = p.recv_type("WELCOME")   # its body, or None
        p.run_finished([RawPeer.run_record(job_id=3, run_id=b"...16 bytes...",
                                           scheduled_ms=...)])

The wire format is common/hg_proto.h: one frame, a msgpack array
[version, type, seq, body-map]. curve=(server_public, client_public,
client_secret), each Z85 text; without curve the peer speaks plaintext
(NULL mechanism; masters started for tests with insecure.plaintext).
Needs Debian python3-zmq (with CURVE) and python3-msgpack
(scripts/install-deps).
"""

import glob
import itertools
import sys
import time

try:
    import msgpack
    import zmq
except ImportError:
    # Debian's python3-zmq and python3-msgpack live in the system
    # interpreter's dist-packages; a python3 of the same version installed
    # elsewhere (pyenv, venv) first on PATH does not look there.
    sys.path.extend(glob.glob("/usr/lib/python3/dist-packages"))
    import msgpack
    import zmq

PROTO_VERSION = 1
(HELLO, WELCOME, HEARTBEAT, ASSIGN, REVOKE, TRIGGER, CANCEL, RUN_STARTED, RUN_FINISHED,
 RUN_LOG, ACK, PLUGIN_GET, PLUGIN_CHUNK, ERROR, LEAVE) = range(1, 16)
TYPES = dict(
    HELLO=HELLO, WELCOME=WELCOME, HEARTBEAT=HEARTBEAT, ASSIGN=ASSIGN, REVOKE=REVOKE,
    TRIGGER=TRIGGER, CANCEL=CANCEL, RUN_STARTED=RUN_STARTED, RUN_FINISHED=RUN_FINISHED,
    RUN_LOG=RUN_LOG, ACK=ACK, PLUGIN_GET=PLUGIN_GET, PLUGIN_CHUNK=PLUGIN_CHUNK, ERROR=ERROR,
    LEAVE=LEAVE)
TYPE_NAMES = {v: k for k, v in TYPES.items()}
RUN_SUCCESS = 1
NOBLOCK = zmq.NOBLOCK


def curve_available():
    return zmq.has("curve")


def new_keypair():
    """A fresh CURVE key pair (public_z85, secret_z85) as text."""
    pub, sec = zmq.curve_keypair()
    return pub.decode(), sec.decode()


class RawPeer:
    """One DEALER (or socket_type) connected to a master's worker endpoint."""

    def __init__(self, endpoint, routing_id=None, curve=None, socket_type=zmq.DEALER,
                 sndhwm=None, rcvhwm=None):
        self.endpoint = endpoint
        self.ctx = zmq.Context()
        self.sock = self.ctx.socket(socket_type)
        self.sock.setsockopt(zmq.LINGER, 0)
        if routing_id is not None:
            self.sock.setsockopt(zmq.ROUTING_ID, _b(routing_id))
        if sndhwm is not None:
            self.sock.setsockopt(zmq.SNDHWM, sndhwm)
        if rcvhwm is not None:
            self.sock.setsockopt(zmq.RCVHWM, rcvhwm)
        if curve is not None:
            server_pub, client_pub, client_sec = curve
            self.sock.curve_serverkey = _b(server_pub)
            self.sock.curve_publickey = _b(client_pub)
            self.sock.curve_secretkey = _b(client_sec)
        self.sock.connect(endpoint)
        self._seq = itertools.count(1)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def close(self):
        if self.sock is not None:
            self.sock.close(0)
            self.ctx.term()
            self.sock = None

    # ---- sending ---------------------------------------------------------

    def send(self, msg_type, body=None, seq=None, block=True):
        """Send one message (msg_type: a number or a name such as "HELLO";
        body: a dict with the codec's field names). block waits up to
        200 ms for room; False (or no room) returns False at once."""
        if isinstance(msg_type, str):
            msg_type = TYPES[msg_type]
        frame = msgpack.packb([PROTO_VERSION, msg_type, next(self._seq) if seq is None else seq,
                               body or {}], use_bin_type=True)
        return self.send_raw(frame, block)

    def send_raw(self, data, block=True):
        try:
            if block and not self.sock.poll(200, zmq.POLLOUT):
                return False
            self.sock.send(data, flags=zmq.DONTWAIT)
            return True
        except zmq.ZMQError:
            return False

    def hello(self, node, capacity=16, held=(), unacked=0, version="rawpeer", block=True):
        return self.send(HELLO, {"node": node, "ver": version, "cap": capacity,
                                 "held": list(held), "unacked": unacked}, block=block)

    def heartbeat(self, echo=0, running=0, jobs=0, unacked=0, block=True):
        return self.send(HEARTBEAT, {"echo": echo, "running": running, "jobs": jobs,
                                     "unacked": unacked}, block=block)

    def run_started(self, records, block=True):
        return self.send(RUN_STARTED, {"runs": list(records)}, block=block)

    def run_finished(self, records, block=True):
        return self.send(RUN_FINISHED, {"runs": list(records)}, block=block)

    def plugin_get(self, sha256, offset=0, block=True):
        return self.send(PLUGIN_GET, {"sha": sha256, "off": offset}, block=block)

    def leave(self, handover=0, block=True):
        return self.send(LEAVE, {"handover": handover}, block=block)

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

    # ---- receiving -------------------------------------------------------

    def recv(self, timeout=1.0):
        """The next message as (type, seq, body), or None after timeout s."""
        if not self.sock.poll(int(timeout * 1000), zmq.POLLIN):
            return None
        data = self.sock.recv()
        msg = msgpack.unpackb(data, raw=False, strict_map_key=False)
        return msg[1], msg[2], msg[3]

    def recv_for(self, seconds, until=None):
        """Every message received within seconds (stops early once until(msg)
        holds for one)."""
        out, deadline = [], time.monotonic() + seconds
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return out
            m = self.recv(left)
            if m is None:
                return out
            out.append(m)
            if until and until(m):
                return out

    def recv_type(self, type_name, timeout=5.0):
        """Read until a message of type_name comes; its body, or None."""
        want = TYPES[type_name]
        got = self.recv_for(timeout, until=lambda m: m[0] == want)
        return got[-1][2] if got and got[-1][0] == want else None

    def drain(self, quiet=0.2):
        """(type name, body) of every message that comes within quiet s of
        the one before."""
        got = []
        while True:
            m = self.recv(quiet)
            if m is None:
                return got
            got.append((TYPE_NAMES.get(m[0], str(m[0])), m[2]))


def names(msgs):
    """Message type names of (type, seq, body) tuples, for messages."""
    return [TYPE_NAMES.get(m[0], str(m[0])) for m in msgs]


def _b(text):
    return text.encode() if isinstance(text, str) else text
