"""Shared fixtures: real `parley serve` processes on free loopback ports,
against a fresh SQLite file or a fresh database on the private PostgreSQL
server that scripts/test.sh starts (PARLEY_TEST_PG_URL).

Every server runs the ASan+UBSan build; stopping it sends SIGTERM and
fails the test if it does not exit 0 or if a sanitizer (leaks included)
reported anything.
"""
import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("PARLEY_BUILD", os.path.join(ROOT, "build"))
PARLEY = os.path.join(BUILD, "asan", "parley")
PG_URL = os.environ.get("PARLEY_TEST_PG_URL")

SAN_ENV = {
    "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0:exitcode=66",
    "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1:exitcode=67",
    "LSAN_OPTIONS": "exitcode=68",
}

BACKENDS = ["sqlite"] + (["postgres"] if PG_URL else [])


_handed_out = set()


def free_port():
    """A port free for both TCP and UDP on 127.0.0.1 (SIP listens on
    both), never the same one twice in this process."""
    for _ in range(200):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port in _handed_out:
            continue
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
                u.bind(("127.0.0.1", port))
        except OSError:
            continue
        _handed_out.add(port)
        return port
    raise RuntimeError("no free port")


def _pg_admin(sql):
    subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", PG_URL, "-c", sql],
                   check=True, capture_output=True)


def pg_url_for(dbname):
    u = urllib.parse.urlsplit(PG_URL)
    return urllib.parse.urlunsplit((u.scheme, u.netloc, "/" + dbname, u.query, ""))


class Database:
    """A fresh, empty database of one backend."""

    def __init__(self, backend, tmpdir):
        self.backend = backend
        if backend == "sqlite":
            self.path = os.path.join(tmpdir, "parley-%s.db" % uuid.uuid4().hex[:8])
            self.url = "sqlite:" + self.path
        else:
            self.name = "t_" + uuid.uuid4().hex[:12]
            _pg_admin("CREATE DATABASE %s" % self.name)
            self.url = pg_url_for(self.name)

    def sql(self, statement):
        """Run SQL directly against the store (tests only); returns rows."""
        if self.backend == "sqlite":
            out = subprocess.run(["sqlite3", "-separator", "\t", self.path, statement],
                                 check=True, capture_output=True, text=True).stdout
        else:
            out = subprocess.run(["psql", "-qAt", "-F", "\t", "-v", "ON_ERROR_STOP=1",
                                  self.url, "-c", statement],
                                 check=True, capture_output=True, text=True).stdout
        return [line.split("\t") for line in out.splitlines() if line]

    def drop(self):
        if self.backend == "postgres":
            try:
                _pg_admin("DROP DATABASE IF EXISTS %s WITH (FORCE)" % self.name)
            except subprocess.CalledProcessError:
                pass


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    @property
    def json(self):
        return json.loads(self.body) if self.body else None

    def __repr__(self):
        return "<%d %s>" % (self.status, self.body[:300])


class Client:
    """A tiny HTTP client: one request per call, JSON by default."""

    def __init__(self, base, key=None):
        self.base = base
        self.key = key

    def with_key(self, key):
        return Client(self.base, key)

    def request(self, method, path, body=None, raw=None, headers=None, ctype=None):
        hdrs = {}
        data = None
        if self.key:
            hdrs["Authorization"] = "Bearer " + self.key
        if body is not None:
            data = json.dumps(body).encode()
            hdrs["Content-Type"] = "application/json"
        if raw is not None:
            data = raw if isinstance(raw, bytes) else raw.encode()
            if ctype:
                hdrs["Content-Type"] = ctype
        hdrs.update(headers or {})
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers=hdrs)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return Response(r.status, dict(r.headers), r.read().decode())
        except urllib.error.HTTPError as e:
            return Response(e.code, dict(e.headers), e.read().decode())

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body=body, **kw)

    def patch(self, path, body=None, **kw):
        return self.request("PATCH", path, body=body, **kw)

    def put(self, path, body=None, **kw):
        return self.request("PUT", path, body=body, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)


class Server:
    """A real `parley serve` process."""

    def __init__(self, db, tmpdir, env=None):
        self.db = db
        self.tmpdir = tmpdir
        self.port = free_port()
        self.env = dict(os.environ)
        self.env.update(SAN_ENV)
        self.env.update({
            "PARLEY_DB_URL": db.url,
            "PARLEY_HTTP_LISTEN": "127.0.0.1:%d" % self.port,
            "PARLEY_SIP_LISTEN": "127.0.0.1:%d" % free_port(),
            "PARLEY_LOG_LEVEL": "info",
            # the campaign dialer would dial the call tasks API tests
            # create and inspect; tests/dialer turns it on
            "PARLEY_DIALER_ENABLED": "0",
        })
        self.env.update(env or {})
        self.log_path = os.path.join(tmpdir, "server-%d.log" % self.port)
        self.proc = None
        self.url = "http://127.0.0.1:%d" % self.port

    def cli(self, *args, check=True):
        """Run a parley subcommand against this server's database."""
        return subprocess.run([PARLEY] + list(args), env=self.env, cwd=self.tmpdir,
                              capture_output=True, text=True, check=check, timeout=60)

    def start(self):
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([PARLEY, "serve"], env=self.env, cwd=self.tmpdir,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("parley exited early:\n" + self.output())
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=2):
                    return self
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.05)
        raise RuntimeError("parley did not come up:\n" + self.output())

    def output(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def stop(self, check=True):
        if not self.proc:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                if check:
                    raise AssertionError("parley did not stop on SIGTERM")
        rc = self.proc.returncode
        self.proc = None
        self.log.close()
        out = self.output()
        if check:
            assert "Sanitizer" not in out and "runtime error" not in out, out[-6000:]
            assert rc == 0, "parley exited %d:\n%s" % (rc, out[-3000:])

    def kill(self):
        if self.proc:
            self.proc.kill()
            self.proc.wait()
            self.proc = None
            self.log.close()

    def new_key(self, tenant):
        r = self.cli("apikey", "create", "--tenant", tenant)
        key = r.stdout.strip()
        assert re.fullmatch(r"pk_[0-9a-f]{40}", key), r
        return key

    def client(self, key=None):
        return Client(self.url, key)


@pytest.fixture(params=BACKENDS)
def backend(request):
    return request.param


@pytest.fixture
def database(backend, tmp_path):
    db = Database(backend, str(tmp_path))
    yield db
    db.drop()


@pytest.fixture
def make_server(database, tmp_path):
    """Factory: make_server(env={...}) starts a server on the test's database."""
    servers = []

    def make(env=None, start=True):
        s = Server(database, str(tmp_path), env)
        servers.append(s)
        return s.start() if start else s

    yield make
    for s in servers:
        s.stop()


@pytest.fixture
def server(make_server):
    return make_server()


@pytest.fixture
def api(server):
    """A client with a fresh tenant's key."""
    return server.client(server.new_key("acme"))


@pytest.fixture
def other(server):
    """A client of a second tenant, for isolation checks."""
    return server.client(server.new_key("globex"))
