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

    def __init__(self, host="127.0.0.1", port=0, verbose=False):
        self._hub = _Hub()
        self._httpd = _Server((host, port), _Handler)
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
