#!/usr/bin/env python3
"""alertsink: the receiving ends of Hourglass alerts in tests.

WebhookSink  an HTTP server recording every POST (path, headers, raw body,
             parsed JSON); verify(secret, alert) checks its
             Hourglass-Signature. It also serves jobs: /ok answers 200,
             /fail 500, and /flap alternates 500, 200, 500, ...
SmtpSink     a local SMTP server (aiosmtpd, Debian python3-aiosmtpd)
             recording each message (envelope and parsed e-mail).
"""

import email
import email.policy
import glob
import hashlib
import hmac
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

try:
    from aiosmtpd.controller import Controller
except ImportError:
    # Debian's python3-aiosmtpd lives in the system interpreter's
    # dist-packages; a python3 first on PATH (pyenv, venv) does not look there.
    sys.path.extend(glob.glob("/usr/lib/python3/dist-packages"))
    from aiosmtpd.controller import Controller


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def _answer(self, status):
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self):
        sink = self.server.sink
        if self.path.startswith("/flap"):
            with sink.lock:
                sink.flaps += 1
                status = 500 if sink.flaps % 2 else 200
            self._answer(status)
        elif self.path.startswith("/fail"):
            self._answer(500)
        else:
            self._answer(200)

    def do_POST(self):
        sink = self.server.sink
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            doc = json.loads(raw)
        except ValueError:
            doc = None
        with sink.lock:
            status = sink.status
            sink.posts.append({"path": self.path, "headers": dict(self.headers.items()),
                               "raw": raw, "json": doc, "time": time.time(), "status": status})
        self._answer(status)


class WebhookSink:
    def __init__(self):
        self.lock = threading.Lock()
        self.posts = []
        self.flaps = 0
        self.status = 200  # what a POST is answered with
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.sink = self
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def alerts(self, path=None, refused=False):
        """POSTs received (on path), those answered 2xx unless refused."""
        with self.lock:
            return [p for p in self.posts if (path is None or p["path"] == path)
                    and (refused or p["status"] < 300)]

    @staticmethod
    def verify(secret, alert):
        want = "sha256=" + hmac.new(secret.encode(), alert["raw"], hashlib.sha256).hexdigest()
        got = {k.lower(): v for k, v in alert["headers"].items()}.get("hourglass-signature")
        return hmac.compare_digest(want, got or "")

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class _SmtpHandler:
    def __init__(self, sink):
        self.sink = sink

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.sink.lock:
            self.sink.messages.append({"from": envelope.mail_from, "to": list(envelope.rcpt_tos),
                                       "msg": msg, "time": time.time()})
        return "250 OK"


class SmtpSink:
    def __init__(self, port):
        self.lock = threading.Lock()
        self.messages = []
        self.port = port
        self.controller = Controller(_SmtpHandler(self), hostname="127.0.0.1", port=port)
        self.controller.start()

    def url(self):
        return "smtp://127.0.0.1:%d" % self.port

    def received(self):
        with self.lock:
            return list(self.messages)

    def stop(self):
        self.controller.stop()

    @staticmethod
    def bodies(msg):
        """(plain text, html) of a multipart/alternative message."""
        plain = msg.get_body(preferencelist=("plain",))
        html = msg.get_body(preferencelist=("html",))
        return (plain.get_content() if plain else None, html.get_content() if html else None)
