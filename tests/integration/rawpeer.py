"""rawpeer: a hand-driven ZeroMQ peer of the master, for tests that play a
worker (or an attacker) without the real worker's manners.

    from rawpeer import RawPeer, HELLO, WELCOME

    with RawPeer(c.endpoint, routing_id="worker-2",
                 curve=(c.master_public_key, pub, sec)) as p:
        p.hello("worker-2")
        got = p.recv_for(2.0)          # [(type, seq, body), ...]

The wire format is common/hg_proto.h: one frame, a msgpack array
[version, type, seq, body-map]. curve=(server_public, client_public,
client_secret), each Z85 text; without curve the peer speaks plaintext
(NULL mechanism). Needs Debian python3-zmq (with CURVE) and
python3-msgpack (scripts/install-deps).
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
TYPE_NAMES = {v: k for k, v in dict(
    HELLO=HELLO, WELCOME=WELCOME, HEARTBEAT=HEARTBEAT, ASSIGN=ASSIGN, REVOKE=REVOKE,
    TRIGGER=TRIGGER, CANCEL=CANCEL, RUN_STARTED=RUN_STARTED, RUN_FINISHED=RUN_FINISHED,
    RUN_LOG=RUN_LOG, ACK=ACK, PLUGIN_GET=PLUGIN_GET, PLUGIN_CHUNK=PLUGIN_CHUNK, ERROR=ERROR,
    LEAVE=LEAVE).items()}


def curve_available():
    return zmq.has("curve")


def new_keypair():
    """A fresh CURVE key pair (public_z85, secret_z85) as text."""
    pub, sec = zmq.curve_keypair()
    return pub.decode(), sec.decode()


class RawPeer:
    def __init__(self, endpoint, routing_id=None, curve=None, socket_type=zmq.DEALER):
        self.endpoint = endpoint
        self.ctx = zmq.Context()
        self.sock = self.ctx.socket(socket_type)
        self.sock.setsockopt(zmq.LINGER, 0)
        if routing_id is not None:
            rid = routing_id.encode() if isinstance(routing_id, str) else routing_id
            self.sock.setsockopt(zmq.ROUTING_ID, rid)
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

    def send(self, msg_type, body=None, seq=None):
        """Send one message; body is a dict as the codec's field names."""
        frame = msgpack.packb([PROTO_VERSION, msg_type, next(self._seq) if seq is None else seq,
                               body or {}], use_bin_type=True)
        self.send_raw(frame)

    def send_raw(self, data):
        if self._can_send():
            self.sock.send(data, flags=zmq.DONTWAIT)

    def _can_send(self):
        try:
            return bool(self.sock.poll(200, zmq.POLLOUT))
        except zmq.ZMQError:
            return False

    def hello(self, node, capacity=16, held=(), unacked=0, version="rawpeer"):
        self.send(HELLO, {"node": node, "ver": version, "cap": capacity, "held": list(held),
                          "unacked": unacked})

    def heartbeat(self, running=0, jobs=0, unacked=0):
        self.send(HEARTBEAT, {"running": running, "jobs": jobs, "unacked": unacked})

    def leave(self, handover=0):
        self.send(LEAVE, {"handover": handover})

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


def names(msgs):
    """Message type names of (type, seq, body) tuples, for messages."""
    return [TYPE_NAMES.get(m[0], str(m[0])) for m in msgs]


def _b(text):
    return text.encode() if isinstance(text, str) else text
