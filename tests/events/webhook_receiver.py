"""A webhook receiver for tests: an HTTP server on 127.0.0.1 that records
every POST (arrival time, headers, body) and checks its Parley signature
with the secret registered for its path. What it answers is chosen per
path: a status, or a function of the request."""
import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def signature(secret, ts, body):
    mac = hmac.new(secret.encode(), ts.encode() + b"." + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def verify(secret, headers, body, tolerance=300):
    """Parley's documented check: HMAC over timestamp "." body, compared
    in constant time, and a timestamp near our clock."""
    ts = headers.get("X-Parley-Timestamp", "")
    sig = headers.get("X-Parley-Signature", "")
    if not ts.isdigit() or abs(time.time() - int(ts)) > tolerance:
        return False
    return hmac.compare_digest(signature(secret, ts, body), sig)


class Request:
    def __init__(self, path, headers, body, at):
        self.path = path
        self.headers = headers
        self.body = body
        self.at = at
        self.status = None          # what we answered
        self.verified = None
        self.json = json.loads(body) if body else None

    @property
    def delivery(self):
        return int(self.headers["X-Parley-Delivery"])

    @property
    def type(self):
        return self.json["type"]

    def __repr__(self):
        return "<%s %s %s -> %s>" % (self.path, self.delivery, self.type, self.status)


class Receiver:
    def __init__(self):
        self.requests = []
        self.secrets = {}
        self.answers = {}           # path -> status or fn(request) -> status
        self.delays = {}            # path -> seconds before answering
        self.cond = threading.Condition()
        rx = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n)
                req = Request(self.path, dict(self.headers.items()), body, time.time())
                secret = rx.secrets.get(self.path)
                req.verified = verify(secret, req.headers, body) if secret else None
                with rx.cond:
                    rx.requests.append(req)
                    rx.cond.notify_all()
                time.sleep(rx.delays.get(self.path, 0))
                answer = rx.answers.get(self.path, 200)
                status = answer(req) if callable(answer) else answer
                req.status = status
                text = b"ok" if status < 300 else b"receiver is down"
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(text)))
                self.end_headers()
                self.wfile.write(text)
                with rx.cond:
                    rx.cond.notify_all()

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def hook(self, path, secret, answer=200):
        self.secrets[path] = secret
        self.answers[path] = answer
        return self.url(path)

    def got(self, path=None, ok=None):
        """Requests so far (to path; ok=True: answered 2xx)."""
        with self.cond:
            reqs = list(self.requests)
        return [r for r in reqs if (path is None or r.path == path) and
                (ok is None or (r.status is not None and (r.status < 300) == ok))]

    def delivered(self, path):
        """{event type: [payload, ...]} of the 2xx-answered requests."""
        out = {}
        for r in self.got(path, ok=True):
            out.setdefault(r.type, []).append(r.json)
        return out

    def wait(self, pred, timeout=20.0, what="receiver condition"):
        deadline = time.time() + timeout
        with self.cond:
            while True:
                if pred():
                    return
                left = deadline - time.time()
                if left <= 0:
                    raise AssertionError("timed out waiting for %s; got %r" %
                                         (what, self.requests))
                self.cond.wait(min(left, 0.1))

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
