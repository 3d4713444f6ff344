#!/usr/bin/env python3
"""hitserver: a small HTTP endpoint that counts the hits Hourglass makes.

Standard library only. Any method, any path:

  /status/NNN     answers with status NNN (100-599); every other path 200
  ?delay_ms=N     waits N ms before answering (for timeout tests)
  ?retry_after=S  adds "Retry-After: S" to the answer
  ?ok_from=N      answers 200 from Hourglass-Attempt N on (a flaky endpoint)
  /slow/MS        a run that lasts MS ms: the hit gets "end" (when it
                  answered, or when the client hung up: "aborted" true), so
                  a test can count overlapping runs
  GET  /_hits     every recorded hit as JSON: {"count": N, "hits": [...]}
                  (?path=/x keeps only that path)
  POST /_reset    forgets every hit

SlowGate puts a door in front of it that a test can shut: new connections
then wait in the kernel (SYN retries), as with a service that is slow to
accept connections.

Each hit records path, query, method, the Hourglass-Job, Hourglass-Run-Id,
Hourglass-Scheduled-At and Hourglass-Attempt headers, all headers, the body
(text) and its arrival time (Unix seconds, float).

Standalone:  hitserver.py --port 8644 [--host 127.0.0.1]
From a test:
    srv = HitServer().start()          # random free loopback port
    url = srv.url("/hello")
    srv.hits("/hello")                 # list of hit dicts
    srv.stop()
"""

import argparse
import json
import select
import socket
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOURGLASS_HEADERS = (
    "Hourglass-Job",
    "Hourglass-Run-Id",
    "Hourglass-Scheduled-At",
    "Hourglass-Attempt",
)
MAX_BODY = 1 << 20  # bodies past 1 MiB are cut, not stored whole


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as curl expects
    server_version = "hitserver/1"

    def log_message(self, fmt, *args):  # quiet unless asked
        if self.server.verbose:
            sys.stderr.write("hitserver: %s - %s\n" % (self.address_string(), fmt % args))

    def _read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        data = b""
        if length > 0:
            data = self.rfile.read(length)
        elif "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            data = b"".join(chunks)
        return data[:MAX_BODY].decode("utf-8", errors="replace")

    def _reply(self, status, obj=None, extra=None):
        payload = b"" if obj is None else (json.dumps(obj) + "\n").encode()
        self.send_response(status)
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def _handle(self):
        arrived = time.time()
        parsed = urllib.parse.urlsplit(self.path)
        path = parsed.path
        query = urllib.parse.parse_qs(parsed.query)
        body = self._read_body()
        hub = self.server.hub

        if path == "/_hits" and self.command == "GET":
            want = query.get("path", [None])[0]
            hits = hub.hits(want)
            self._reply(200, {"count": len(hits), "hits": hits})
            return
        if path == "/_reset" and self.command == "POST":
            hub.reset()
            self._reply(200, {"reset": True})
            return

        hit = {
            "path": path,
            "query": parsed.query,
            "method": self.command,
            "job": self.headers.get("Hourglass-Job"),
            "run_id": self.headers.get("Hourglass-Run-Id"),
            "scheduled_at": self.headers.get("Hourglass-Scheduled-At"),
            "attempt": self.headers.get("Hourglass-Attempt"),
            "headers": {k: v for k, v in self.headers.items()},
            "body": body,
            "time": arrived,
        }
        hub.record(hit)

        status = 200
        parts = path.strip("/").split("/")
        if len(parts) >= 2 and parts[0] == "status" and parts[1].isdigit():
            status = int(parts[1])
            if not 100 <= status <= 599:
                status = 400
        if len(parts) >= 2 and parts[0] == "slow" and parts[1].isdigit():
            if not self._last(int(parts[1]) / 1000.0):
                hub.finish(hit, time.time(), True)
                self.close_connection = True
                return
            hub.finish(hit, time.time(), False)
        ok_from = query.get("ok_from", [""])[0]
        if ok_from.isdigit() and (hit["attempt"] or "1").isdigit() and int(hit["attempt"] or "1") >= int(ok_from):
            status = 200
        delay_ms = query.get("delay_ms", ["0"])[0]
        if delay_ms.isdigit() and int(delay_ms) > 0:
            time.sleep(int(delay_ms) / 1000.0)
        extra = {}
        retry_after = query.get("retry_after", [""])[0]
        if retry_after.isdigit():
            extra["Retry-After"] = retry_after
        self._reply(status, {"ok": status < 400, "path": path, "hit": hub.count()}, extra)

    def _last(self, seconds):
        """Wait seconds; False as soon as the client hangs up (checked
        every 5 ms), so that a cancelled or killed run ends here too."""
        deadline = time.monotonic() + seconds
        sock = self.connection
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return True
            ready, _, _ = select.select([sock], [], [], min(left, 0.005))
            if ready:
                try:
                    if sock.recv(1, socket.MSG_PEEK) == b"":
                        return False
                except OSError:
                    return False

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle


class _Handler10(_Handler):
    """One request per connection (HTTP/1.0, as Python's http.server by
    default): every request needs a new connection."""
    protocol_version = "HTTP/1.0"


class _Hub:
    """The recorded hits; shared by the handler threads."""

    def __init__(self):
        self._lock = threading.Lock()
        self._hits = []

    def record(self, hit):
        with self._lock:
            self._hits.append(hit)

    def finish(self, hit, at, aborted):
        with self._lock:
            hit["end"] = at
            hit["aborted"] = aborted

    def hits(self, path=None):
        with self._lock:
            return [dict(h) for h in self._hits if path is None or h["path"] == path]

    def count(self):
        with self._lock:
            return len(self._hits)

    def reset(self):
        with self._lock:
            self._hits.clear()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        # A caller that went away before the answer (a worker killed in
        # the middle of a slow request) is expected, not an error.
        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            return
        super().handle_error(request, client_address)


class HitServer:
    """An in-process hit server for tests; port 0 picks a free port."""

    def __init__(self, host="127.0.0.1", port=0, verbose=False, backlog=None, keepalive=True):
        """backlog: the listen backlog (socketserver's default is 5); a
        small one makes a server slow to accept under bursts: connections
        beyond it wait for the client's SYN retries (1 s, 3 s, ...).
        keepalive=False closes every connection after its answer, so each
        request connects anew (and waits at a full backlog)."""
        self._hub = _Hub()
        handler = _Handler if keepalive else _Handler10
        self._httpd = _Server((host, port), handler, bind_and_activate=False)
        if backlog is not None:
            self._httpd.request_queue_size = backlog
        try:
            self._httpd.server_bind()
            self._httpd.server_activate()
        except BaseException:
            self._httpd.server_close()
            raise
        self._httpd.hub = self._hub
        self._httpd.verbose = verbose
        self._thread = None
        self.host = host
        self.port = self._httpd.server_address[1]

    def start(self):
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name="hitserver", daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self):
        self._httpd.serve_forever()

    def url(self, path="/"):
        return "http://%s:%d%s" % (self.host, self.port, path)

    def hits(self, path=None):
        """Hits so far (copies), oldest first; only `path` when given."""
        return self._hub.hits(path)

    def count(self, path=None):
        return len(self.hits(path))

    def reset(self):
        self._hub.reset()

    def stop(self):
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(5)
            self._thread = None
        self._httpd.server_close()


def pump(a, b):
    """Copy bytes both ways between sockets a and b until either side
    closes; then close both (a relay's connection thread)."""
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


class SlowGate:
    """A front door to a hit server that can stop accepting connections,
    as a busy service does when its listen backlog is full: while closed,
    the kernel drops new SYNs (the backlog holds one connection of our own),
    so a client's connect waits for its SYN retries (1 s, 3 s, 7 s, ...)
    and has sent nothing; connections already open are closed, so that
    keep-alive cannot bypass the gate. open() accepts again and forwards
    every connection to the hit server.

        gate = SlowGate(srv.port).start()
        url = gate.url("/slow")       # hits are recorded by srv
        gate.close(); ...; gate.open()
    """

    def __init__(self, target_port, host="127.0.0.1"):
        import socket
        self._socket = socket
        self.target = (host, int(target_port))
        self.host = host
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind((host, 0))
        self._listener.listen(128)
        self.port = self._listener.getsockname()[1]
        self._open = threading.Event()
        self._open.set()
        self._lock = threading.Lock()
        self._conns = []
        self._plug = None  # our own connection that fills the backlog while closed
        self._stopped = False

    def start(self):
        threading.Thread(target=self._accept_loop, name="slowgate", daemon=True).start()
        return self

    def url(self, path="/"):
        return "http://%s:%d%s" % (self.host, self.port, path)

    def close(self):
        """Stop accepting; drop the connections that are open."""
        self._open.clear()
        time.sleep(0.05)  # let an accept() in progress finish
        with self._lock:
            for c in self._conns:
                try:
                    c.shutdown(self._socket.SHUT_RDWR)
                except OSError:
                    pass
                c.close()
            self._conns = []
            # A backlog of 0 holds one connection, and ours fills it.
            self._listener.listen(0)
            if self._plug is None:
                self._plug = self._socket.create_connection((self.host, self.port), timeout=2)

    def open(self):
        with self._lock:
            plug, self._plug = self._plug, None
        if plug is not None:
            plug.close()
        self._listener.listen(128)
        self._open.set()

    def stop(self):
        self._stopped = True
        self.open()
        try:
            self._listener.close()
        except OSError:
            pass

    def _accept_loop(self):
        while not self._stopped:
            self._open.wait()
            r, _, _ = select.select([self._listener], [], [], 0.05)
            if not r or not self._open.is_set():
                continue
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                server = self._socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._conns += [client, server]
            threading.Thread(target=pump, args=(client, server), daemon=True).start()


def main(argv=None):
    ap = argparse.ArgumentParser(description="HTTP endpoint that records hits (GET /_hits).")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8644)
    ap.add_argument("-v", "--verbose", action="store_true", help="log every request")
    args = ap.parse_args(argv)
    srv = HitServer(args.host, args.port, verbose=args.verbose)
    print("hitserver: listening on http://%s:%d" % (args.host, srv.port), flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        srv.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
