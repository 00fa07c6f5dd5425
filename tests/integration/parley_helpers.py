"""Helpers shared by the integration tests (imported by the test modules;
not a test module itself). Fixtures live in tests/conftest.py."""
import json
import os
import re
import socket
import time
import uuid

import pytest

ROUTES_C = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "src", "api", "routes.c")

# Secrets are unique per run, so finding one in a body or a log can only
# mean that Parley leaked it.
_RUN = uuid.uuid4().hex[:10]
LLM_KEY = "sk-llm-%s-SECRET" % _RUN
STT_KEY = "dg-stt-%s-SECRET" % _RUN
TTS_KEY = "sk-tts-%s-SECRET" % _RUN
TOOL_AUTH = "Bearer tool-%s-SECRET" % _RUN
TRUNK_PASSWORD = "trunk-pw-%s-SECRET" % _RUN
TRUNK_IN_PASSWORD = "trunk-in-pw-%s-SECRET" % _RUN
WEBHOOK_SECRET = "whsec-%s-SECRET" % _RUN
ALL_SECRETS = [LLM_KEY, STT_KEY, TTS_KEY, TOOL_AUTH, TRUNK_PASSWORD,
               TRUNK_IN_PASSWORD, WEBHOOK_SECRET]
# substrings that must not appear either (e.g. a JSON-escaped variant)
SECRET_MARK = "-SECRET"

ISO_TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


# ---- responses ----

def ok(resp, status=200):
    """Assert a successful JSON response and return its body."""
    assert resp.status == status, resp
    if status == 204:
        assert resp.body == "", resp
        return None
    assert resp.headers.get("Content-Type", "").startswith("application/json"), resp.headers
    return resp.json


def err(resp, status, code=None, field=None):
    """Assert the error shape {"error":{"code","message"[,"field"]}}."""
    assert resp.status == status, resp
    assert resp.headers.get("Content-Type", "").startswith("application/json"), (resp, resp.headers)
    body = resp.json
    assert isinstance(body, dict) and list(body) == ["error"], resp
    e = body["error"]
    assert set(e) <= {"code", "message", "field"}, resp
    assert isinstance(e.get("code"), str) and e["code"], resp
    assert isinstance(e.get("message"), str) and e["message"], resp
    if "field" in e:
        assert isinstance(e["field"], str) and e["field"], resp
    if code is not None:
        assert e["code"] == code, resp
    if field is not None:
        assert e.get("field") == field, resp
    return e


class Checks:
    """Collects failures of many table-driven cases; raises them at once."""

    def __init__(self):
        self.failures = []
        self.count = 0

    def run(self, label, fn, *args, **kw):
        self.count += 1
        try:
            return fn(*args, **kw)
        except AssertionError as e:
            self.failures.append("%s: %s" % (label, str(e)[:600]))
        return None

    def done(self):
        assert not self.failures, "%d of %d cases failed:\n%s" % (
            len(self.failures), self.count, "\n".join(self.failures))


def no_secret(text, where=""):
    for s in ALL_SECRETS:
        assert s not in text, "secret %r leaked %s: %s" % (s, where, text[:400])
    assert SECRET_MARK not in text, "secret leaked %s: %s" % (where, text[:400])


def list_all(client, path, limit=None):
    """Follow next_cursor to the end; returns (items, number of pages)."""
    items, pages, cursor = [], 0, None
    sep = "&" if "?" in path else "?"
    while True:
        q = []
        if limit:
            q.append("limit=%d" % limit)
        if cursor:
            q.append("cursor=%s" % cursor)
        r = client.get(path + (sep + "&".join(q) if q else ""))
        body = ok(r)
        assert set(body) == {"data", "next_cursor"}, body
        items += body["data"]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            return items, pages
        assert isinstance(cursor, str) and cursor, body
        assert pages < 10000


def strip_times(d):
    return {k: v for k, v in d.items() if k not in ("created_at", "updated_at")}


# ---- realistic bodies ----

def agent_body(name="Sales agent", **over):
    body = {
        "name": name,
        "description": "Books demos with inbound leads",
        "system_prompt": "You are Ava from Acme. Be brief and polite. The "
                         "customer is {name} ({email}).",
        "first_message": "Hi {name}, this is Ava from Acme.",
        "first_speaker": "agent",
        "language": "en-GB",
        "stt": {"provider": "deepgram", "model": "nova-2", "language": "en-GB",
                "base_url": "https://api.deepgram.com/v1", "api_key": STT_KEY},
        "llm": {"provider": "openai", "model": "gpt-4o-mini",
                "base_url": "https://api.openai.com/v1", "api_key": LLM_KEY,
                "temperature": 0.3, "max_tokens": 250},
        "tts": {"provider": "openai", "voice": "alloy", "model": "tts-1",
                "speed": 1.1, "base_url": "https://api.openai.com/v1",
                "api_key": TTS_KEY},
        "tools": [{
            "name": "book_meeting",
            "description": "Books a meeting in the CRM",
            "url": "https://crm.example.com/api/book",
            "method": "POST",
            "parameters": {"type": "object",
                           "properties": {"when": {"type": "string"}},
                           "required": ["when"]},
            "auth_header": TOOL_AUTH,
            "timeout_ms": 3000,
        }, {
            "name": "lookup_order",
            "url": "http://orders.internal:8080/lookup",
            "method": "GET",
        }],
        "inbound": {
            "business_hours": {
                "timezone": "Europe/London",
                "windows": [{"days": ["mon", "tue", "wed", "thu", "fri"],
                             "start": "09:00", "end": "17:30"},
                            {"days": ["sat"], "start": "10:00", "end": "13:00"}],
            },
            "out_of_hours_message": "We are closed; please call back tomorrow.",
            "transfer_number": "+44 20 7946 0958",
            "fallback_number": "+442079460000",
        },
        "outbound": {
            "max_attempts": 4,
            "retry_delays": {"busy": 120, "no_answer": 900},
            "amd": {"enabled": True, "voicemail_action": "leave_message",
                    "voicemail_message": "Sorry we missed you.",
                    "unsure_action": "machine"},
            "calling_window": {
                "timezone": "America/New_York",
                "windows": [{"days": ["mon", "tue", "wed", "thu", "fri"],
                             "start": "09:00", "end": "20:00"}],
            },
            "greet_after_silence_ms": 1500,
        },
        "limits": {"max_duration": 900, "silence_timeout": 12,
                   "silence_reprompts": 2},
        "metadata": {"team": "sales", "priority": 2, "tags": ["demo", "uk"]},
    }
    body.update(over)
    return body


def trunk_body(name="Carrier A", **over):
    body = {
        "name": name,
        "sip_uri": "sip:sip.carrier.example:5061",
        "transport": "tls",
        "username": "acme-out",
        "password": TRUNK_PASSWORD,
        "caller_id": "+1 (415) 555-0199",
        "inbound": {"allowed_ips": ["203.0.113.0/24", "198.51.100.7",
                                    "2001:db8::/32"],
                    "username": "acme-in", "password": TRUNK_IN_PASSWORD},
        "max_channels": 20,
        "calls_per_second": 2.5,
        "enabled": True,
    }
    body.update(over)
    return body


def campaign_body(agent_id, trunk_id, name="Spring promo", **over):
    body = {
        "name": name,
        "agent_id": agent_id,
        "trunk_id": trunk_id,
        "caller_id": "+14155550123",
        "prompt": "Offer {name} the spring discount.",
        "default_country": "GB",
        "calling_window": {"timezone": "Europe/London",
                           "windows": [{"days": ["mon", "wed", "fri"],
                                        "start": "10:00", "end": "18:00"}]},
        "pacing": {"max_concurrent": 3, "calls_per_second": 0.5},
        "retry": {"max_attempts": 2, "delays": {"busy": 60, "no_answer": 600}},
        "metadata": {"source": "crm"},
    }
    body.update(over)
    return body


def webhook_body(**over):
    body = {"url": "https://hooks.example.com/parley?team=1",
            "description": "CRM sync",
            "events": ["call.answered", "call.ended"],
            "secret": WEBHOOK_SECRET, "active": True}
    body.update(over)
    return body


def make_world(api, tag=""):
    """One of everything for a tenant; returns a dict of ids."""
    w = {}
    w["agent"] = ok(api.post("/api/v1/agents", agent_body("Agent" + tag)), 201)["id"]
    w["agent2"] = ok(api.post("/api/v1/agents", {"name": "Spare" + tag}), 201)["id"]
    w["trunk"] = ok(api.post("/api/v1/trunks", trunk_body("Trunk" + tag)), 201)["id"]
    w["campaign"] = ok(api.post("/api/v1/campaigns", campaign_body(
        w["agent"], w["trunk"], "Campaign" + tag)), 201)["id"]
    w["contact"] = ok(api.post("/api/v1/contacts", {
        "campaign_id": w["campaign"], "phone": "+447700900%03d" % (len(tag) + 1),
        "name": "Jane Doe", "email": "jane@example.com",
        "timezone": "Europe/London", "fields": {"plan": "gold"}}), 201)["id"]
    w["number"] = ok(api.post("/api/v1/phone-numbers", {
        "number": "+1415555%04d" % (100 + len(tag)), "label": "Main" + tag,
        "trunk_id": w["trunk"], "agent_id": w["agent"]}), 201)["id"]
    w["dnc"] = ok(api.post("/api/v1/dnc", {"phone": "+447700900999",
                                          "reason": "asked"}), 201)["id"]
    w["dnc_campaign"] = ok(api.post("/api/v1/dnc", {
        "phone": "+447700900998", "campaign_id": w["campaign"]}), 201)["id"]
    w["webhook"] = ok(api.post("/api/v1/webhooks", webhook_body()), 201)["id"]
    w["task"] = ok(api.post("/api/outbound-call", {
        "to_number": "+14155550142", "agent_id": w["agent"],
        "trunk_id": w["trunk"]}), 202)["task_id"]
    return w


# ---- direct store access (telephony does not exist yet) ----

def tenant_id(database, name):
    rows = database.sql("SELECT id FROM tenants WHERE name = '%s'" % name)
    assert rows, "no tenant %s" % name
    return int(rows[0][0])


def now_ms():
    return int(time.time() * 1000)


def sql_value(v):
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, (dict, list)):
        v = json.dumps(v)
    return "'" + str(v).replace("'", "''") + "'"


def insert(database, table, row):
    """INSERT one row; returns its id."""
    cols = ", ".join(row)
    vals = ", ".join(sql_value(v) for v in row.values())
    rows = database.sql("INSERT INTO %s (%s) VALUES (%s) RETURNING id"
                        % (table, cols, vals))
    return int(rows[0][0])


# ---- raw HTTP ----

def raw_exchange(port, data, timeout=5.0, until_close=True, expect=None):
    """Send bytes on a fresh connection; read until the server closes (or
    until `expect` complete responses arrived). Returns the bytes read."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        if data:
            s.sendall(data)
        buf = b""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if expect is not None and len(parse_responses(buf)[0]) >= expect:
                break
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            if not chunk:
                break
            buf += chunk
        return buf
    finally:
        s.close()


def parse_responses(buf):
    """Split a byte stream into complete HTTP responses.
    Returns ([(status, headers(lowercase keys), body bytes)], rest)."""
    out = []
    while True:
        head_end = buf.find(b"\r\n\r\n")
        if head_end < 0:
            return out, buf
        head = buf[:head_end].decode("latin-1").split("\r\n")
        status = int(head[0].split()[1])
        headers = {}
        for line in head[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        n = int(headers.get("content-length", "0"))
        if status in (100, 204, 304) and "content-length" not in headers:
            n = 0
        if len(buf) < head_end + 4 + n:
            return out, buf
        out.append((status, headers, buf[head_end + 4:head_end + 4 + n]))
        buf = buf[head_end + 4 + n:]


def route_table():
    """(method, pattern) of every route in src/api/routes.c, including the
    CRUD(...) macro expansions, so that new routes are picked up."""
    src = open(ROUTES_C).read()
    table = src[src.index("static const struct route routes[]"):]
    table = table[:table.index("};")]
    routes = []
    for m in re.finditer(r'\{\s*"([A-Z]+)",\s*"([^"]+)"', table):
        routes.append((m.group(1), m.group(2)))
    for m in re.finditer(r'CRUD\(\s*"([^"]+)"', table):
        base = m.group(1)
        routes += [("GET", base), ("POST", base), ("GET", base + "/{id}"),
                   ("PATCH", base + "/{id}"), ("DELETE", base + "/{id}")]
    assert len(routes) > 30, routes
    return routes


# ---- the log check every test module binds (see the top of each) ----

KEY_RE = re.compile(r"pk_[0-9a-f]{40}")


@pytest.fixture(autouse=True)
def no_secrets_in_logs(tmp_path):
    """After the test and its servers stopped: no server log may contain a
    secret or an API key. (A fixture here rather than in a conftest.py of
    this directory, which would shadow tests/conftest.py for modules that
    import from it.)"""
    yield
    for log in sorted(tmp_path.glob("server-*.log")):
        text = log.read_text(errors="replace")
        for s in ALL_SECRETS:
            assert s not in text, "%s contains secret %r" % (log.name, s)
        assert SECRET_MARK not in text, "%s contains a secret" % log.name
        m = KEY_RE.search(text)
        assert not m, "%s contains an API key %s" % (log.name, m.group(0))
