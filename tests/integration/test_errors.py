"""Bad input everywhere: JSON syntax, media types, empty and oversize
bodies, malformed HTTP, unknown endpoints and methods, query strings, and
a type-confusion sweep over every writable endpoint. Every 4xx must have
the JSON error shape and nothing may answer 5xx."""
import copy
import http.client
import json
import socket
import time

from parley_helpers import (Checks, agent_body, campaign_body, err, ok,
                            parse_responses, raw_exchange, route_table,
                            trunk_body, webhook_body)
import parley_helpers

# every test: no secret or API key in any server log
no_secrets_in_logs = parley_helpers.no_secrets_in_logs

A = "/api/v1/agents"


def test_invalid_json(api):
    a = ok(api.post(A, {"name": "Target"}), 201)
    url = "%s/%d" % (A, a["id"])
    deep_obj = '{"a":' * 40 + "1" + "}" * 40
    deep_arr = "[" * 40 + "]" * 40
    cases = [
        ('{"name":"a",}', 1, "trailing comma"),
        ('{"name":"a"} x', 1, "trailing garbage"),
        ('{"name":"a"}\n{"name":"b"}', 2, "two documents"),
        ('{"name":"a"', 1, "truncated"),
        ('{"name":', 1, "truncated value"),
        ('{"name":"a\x00"}', 1, "NUL in string"),
        ('{"name":"a\\u0000"}', 1, "escaped NUL"),
        ('{"name":"a"}\x00', 1, "NUL after value"),
        ('{"name":"\xff"}', 1, "bad UTF-8"),   # sent as latin-1 byte 0xff below
        ('{"name":"\\ud800"}', 1, "lone surrogate"),
        ('{"name":"\\x41"}', 1, "bad escape"),
        ("{'name':'a'}", 1, "single quotes"),
        ('{name:"a"}', 1, "bare key"),
        ('{"name":NaN}', 1, "NaN"),
        ('{"name":"a","limits":{"max_duration":1e400}}', 1, "huge number"),
        ('{"name":"a","limits":{"max_duration":01}}', 1, "leading zero"),
        ('{"name":"a","name":"b"}', 1, "duplicate key"),
        (deep_obj, 1, "40 nested objects"),
        (deep_arr, 1, "40 nested arrays"),
        ('{"name":"a",\n  "limits": {\n    "max_duration": 10,,\n  }\n}', 3, "line 3"),
        ("   ", 1, "blanks only"),
        ("null", 1, "null"),
        ("42", 1, "number"),
        ('"agent"', 1, "string"),
        ("true", 1, "boolean"),
        ('\ufeff{"name":"bom"}', 1, "BOM"),
    ]
    chk = Checks()
    for body, line, label in cases:
        raw = body.encode("latin-1") if label == "bad UTF-8" else body.encode("utf-8")
        for method, path in (("POST", A), ("PATCH", url), ("PUT", url)):
            def one():
                r = api.request(method, path, raw=raw, ctype="application/json")
                e = err(r, 400, "invalid_json")
                assert "line %d column " % line in e["message"], e
                assert "field" not in e
            chk.run("%s %s" % (method, label), one)
    # huge integers are numbers, not integers; they do not wrap around
    for n in ("9223372036854775808", "-9223372036854775809", "18446744073709551616"):
        chk.run("int " + n, lambda: err(api.post(A, raw='{"name":"a","limits":{"max_duration":%s}}' % n,
                                                 ctype="application/json"),
                                        400, "invalid_type", "limits.max_duration"))
    chk.run("int64 max", lambda: err(api.post(A, raw='{"name":"a","limits":{"max_duration":9223372036854775807}}',
                                              ctype="application/json"),
                                     400, "invalid_value", "limits.max_duration"))
    # 32 levels are fine where free-form objects are allowed
    nested = {"name": "deep", "metadata": {}}
    cur = nested["metadata"]
    for _ in range(28):
        cur["x"] = {}
        cur = cur["x"]
    chk.run("28 levels", lambda: ok(api.post(A, nested), 201))
    chk.done()
    assert ok(api.get(url)) == a
    assert len(ok(api.get(A))["data"]) == 2


def test_body_shape_and_media_type(api):
    a = ok(api.post(A, {"name": "Target"}), 201)
    url = "%s/%d" % (A, a["id"])
    chk = Checks()
    writes = [("POST", A), ("PATCH", url), ("PUT", url), ("POST", "/api/v1/api-keys"),
              ("POST", "/api/outbound-call"), ("POST", "/api/v1/dnc")]
    for method, path in writes:
        chk.run("%s %s empty" % (method, path),
                lambda: err(api.request(method, path, raw=b"", ctype="application/json"),
                            400, "invalid_body"))
        chk.run("%s %s no body" % (method, path),
                lambda: err(api.request(method, path), 400, "invalid_body"))
        chk.run("%s %s array" % (method, path),
                lambda: err(api.request(method, path, body=[{"name": "x"}]), 400, "invalid_body"))
        for ctype in ("text/plain", "application/x-www-form-urlencoded", "text/csv",
                      "application/xml", "multipart/form-data; boundary=x",
                      "application/json-patch+json", "application/jsonx"):
            chk.run("%s %s %s" % (method, path, ctype),
                    lambda: err(api.request(method, path, raw=b'{"name":"x"}', ctype=ctype),
                                415, "unsupported_media_type"))
    # media type parameters and case do not matter
    for ctype in ("application/json; charset=utf-8", "Application/JSON",
                  "application/json;charset=UTF-8"):
        chk.run("ctype %s" % ctype,
                lambda: ok(api.request("POST", A, raw=b'{"name":"ctype"}', ctype=ctype), 201))

    def no_ctype():
        # a body without Content-Type is taken as JSON
        conn = http.client.HTTPConnection("127.0.0.1", int(api.base.rsplit(":", 1)[1]),
                                          timeout=10)
        try:
            conn.putrequest("POST", A, skip_accept_encoding=True)
            conn.putheader("Authorization", "Bearer " + api.key)
            conn.putheader("Content-Length", "16")
            conn.endheaders(b'{"name":"ctype"}')
            r = conn.getresponse()
            assert r.status == 201, r.read()
            assert json.loads(r.read())["name"] == "ctype"
        finally:
            conn.close()
    chk.run("no Content-Type", no_ctype)
    chk.done()
    assert ok(api.get(url)) == a


def test_oversize_bodies(make_server):
    server = make_server(env={"PARLEY_HTTP_MAX_BODY": "1024",
                              "PARLEY_HTTP_IMPORT_MAX_BODY": "4096"})
    api = server.client(server.new_key("acme"))
    fill = lambda n: json.dumps({"name": "big", "description": "d" * n})
    exact = fill(1024 - len(fill(0)))
    assert len(exact) == 1024
    assert ok(api.post(A, raw=exact, ctype="application/json"), 201)["name"] == "big"
    r = api.post(A, raw=exact + " ", ctype="application/json")
    e = err(r, 413, "body_too_large")
    assert "1025" in e["message"] and "1024" in e["message"]
    assert r.headers.get("Connection") == "close"
    err(api.post(A, raw=fill(100000), ctype="application/json"), 413, "body_too_large")
    # the limit holds before authentication and for unknown paths
    err(server.client().post("/api/v1/nothing", raw="x" * 2000, ctype="text/plain"), 413,
        "body_too_large")

    # Expect: 100-continue: refused at once, before the body is sent
    hdr = ("POST /api/v1/agents HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer %s\r\n"
           "Content-Type: application/json\r\nContent-Length: %d\r\n"
           "Expect: 100-continue\r\n\r\n")
    t0 = time.time()
    out = raw_exchange(server.port, (hdr % (api.key, 50000)).encode(), timeout=5)
    resps, _ = parse_responses(out)
    assert [s for s, _, _ in resps] == [413], out
    assert json.loads(resps[0][2])["error"]["code"] == "body_too_large"
    assert resps[0][1]["connection"] == "close"
    assert time.time() - t0 < 4, "the server waited for a body it refuses"

    # ... and allowed ones get 100 Continue, then the answer
    body = json.dumps({"name": "continued"}).encode()
    s = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    try:
        s.sendall((hdr % (api.key, len(body))).encode())
        first = s.recv(1024)
        assert first.startswith(b"HTTP/1.1 100 Continue\r\n\r\n"), first
        s.sendall(body)
        buf = first[len(b"HTTP/1.1 100 Continue\r\n\r\n"):]
        while not parse_responses(buf)[0]:
            chunk = s.recv(65536)
            assert chunk
            buf += chunk
        (status, _, rbody), = parse_responses(buf)[0]
        assert status == 201 and json.loads(rbody)["name"] == "continued"
    finally:
        s.close()

    # imports have their own, larger limit
    camp = setup_campaign(api)
    csv = "phone,name\n" + "".join("+1202555%04d,Name %d\n" % (i, i) for i in range(100))
    assert 1024 < len(csv) < 4096
    res = ok(api.post("/api/v1/contacts/import?campaign_id=%d" % camp, raw=csv, ctype="text/csv"))
    assert res["created"] == 100
    csv = "phone,name\n" + "".join("+1202555%04d,Name %d\n" % (i, i) for i in range(300))
    err(api.post("/api/v1/contacts/import?campaign_id=%d" % camp, raw=csv, ctype="text/csv"),
        413, "body_too_large")
    assert ok(server.client().get("/health"))["status"] == "ok"


def setup_campaign(api):
    a = ok(api.post(A, {"name": "A"}), 201)["id"]
    t = ok(api.post("/api/v1/trunks", {"name": "T", "sip_uri": "sip:t.example"}), 201)["id"]
    return ok(api.post("/api/v1/campaigns", {"name": "C", "agent_id": a, "trunk_id": t}), 201)["id"]


def test_malformed_http(server, api):
    garbage = [
        (b"HELLO\r\n\r\n", 400),
        (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(range(256)) + b"\r\n\r\n", 400),
        (b"GET\r\n\r\n", 400),
        (b"GET /health\r\n\r\n", 400),
        (b"GET /health HTTP/1.1\r\nNo-Colon-Header\r\n\r\n", 400),
        (b"GET /health HTTP/1.1\r\n: empty-name\r\n\r\n", 400),
        (b"POST /api/v1/agents HTTP/1.1\r\nContent-Length: abc\r\n\r\n", 400),
        (b"POST /api/v1/agents HTTP/1.1\r\nContent-Length: -5\r\n\r\n", 400),
        (b"POST /api/v1/agents HTTP/1.1\r\nContent-Length: 5x\r\n\r\nhello", 400),
        (b"POST /api/v1/agents HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 7\r\n\r\n{}", 400),
        (b"GET /health HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n", 400),
        (b"GET /h\x00ealth HTTP/1.1\r\n\r\n", 404),
        (b"GET /health HTTP/1.1\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n", 431),
        (b"GET /health HTTP/1.1\r\n" + b"X-Many: 1\r\n" * 2000 + b"\r\n", 431),
    ]
    chk = Checks()
    for g, status in garbage:
        def one():
            out = raw_exchange(server.port, g, timeout=5, expect=1)
            resps, _ = parse_responses(out)
            assert resps, out
            got, hdrs, body = resps[0]
            assert got == status, out[:300]
            e = json.loads(body)["error"]
            assert e["code"] and e["message"]
            if status != 404:
                assert hdrs.get("connection") == "close", hdrs
        chk.run(repr(g[:50]), one)

    def chunked():
        out = raw_exchange(server.port, b"POST /api/v1/agents HTTP/1.1\r\nHost: x\r\n"
                                         b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
        (status, hdrs, body), = parse_responses(out)[0]
        assert status == 411 and json.loads(body)["error"]["code"] == "length_required"
        assert hdrs["connection"] == "close"
    chk.run("chunked", chunked)

    def big_but_allowed_header():
        out = raw_exchange(server.port, b"GET /health HTTP/1.1\r\nX-Big: " + b"a" * 16000 +
                           b"\r\n\r\n", expect=1)
        assert parse_responses(out)[0][0][0] == 200
    chk.run("16000-byte header", big_but_allowed_header)

    def lf_only():
        out = raw_exchange(server.port, b"GET /health HTTP/1.1\nHost: x\n\n", expect=1)
        assert parse_responses(out)[0][0][0] == 200
    chk.run("bare LF", lf_only)

    def first_good_then_bad():
        out = raw_exchange(server.port, b"GET /health HTTP/1.1\r\nHost: x\r\n\r\nBLAH BLAH\r\n\r\n",
                           expect=2)
        resps, _ = parse_responses(out)
        assert [s for s, _, _ in resps] == [200, 400], out
        assert json.loads(resps[1][2])["error"]["code"] == "bad_request"
    chk.run("good then bad", first_good_then_bad)

    def silent_client():
        # a client that connects and says nothing does not block others
        s = socket.create_connection(("127.0.0.1", server.port))
        try:
            assert ok(api.get("/api/v1/agents"))["data"] == []
        finally:
            s.close()
    chk.run("silent", silent_client)

    def half_request():
        s = socket.create_connection(("127.0.0.1", server.port))
        s.sendall(b"POST /api/v1/agents HTTP/1.1\r\nContent-Length: 100\r\n\r\n{\"na")
        s.close()
    chk.run("half", half_request)
    chk.done()
    # still serving
    assert ok(server.client().get("/health"))["status"] == "ok"
    assert ok(api.post(A, {"name": "after"}), 201)["name"] == "after"


def test_unknown_endpoints_and_ids(api):
    a = ok(api.post(A, {"name": "x"}), 201)["id"]
    chk = Checks()
    for path in ("/", "/api", "/api/v1", "/api/v1/agentz", "/api/v2/agents", "/API/v1/agents",
                 "/api/v1/agents/0", "/api/v1/agents/abc", "/api/v1/agents/-1",
                 "/api/v1/agents/01", "/api/v1/agents/1.0", "/api/v1/agents/%d/x" % a,
                 "/api/v1/agents/99999999999999999999", "/api/v1/agents//1",
                 "/api/v1/agents/1/runtime-config/x", "/api/v1/dnc/check/1",
                 "/api/v1/api-keys/1/x", "/api/outbound-call/1", "/metrics/x",
                 "/api/v1/agents/%2e%2e/trunks", "/../etc/passwd"):
        chk.run(path, lambda: err(api.get(path), 404, "not_found"))
    # a valid id of nothing: the resource answers
    for path in ("/api/v1/agents/9223372036854775807", "/api/v1/trunks/123456",
                 "/api/v1/calls/5", "/api/v1/call-tasks/5", "/api/v1/dnc/5"):
        def one():
            e = err(api.get(path), 404, "not_found")
            assert "not found" in e["message"]
        chk.run(path, one)
    chk.run("trailing slash", lambda: ok(api.get("/api/v1/agents/%d/" % a)))

    def create_with_slash():
        r = api.post("/api/v1/agents/", {"name": "slash"})
        assert r.headers["Location"] == "/api/v1/agents/%d" % ok(r, 201)["id"], r.headers
    chk.run("Location without double slash", create_with_slash)
    chk.run("list trailing slash", lambda: ok(api.get("/api/v1/agents/")))
    chk.run("query on item", lambda: ok(api.get("/api/v1/agents/%d?" % a)))
    chk.done()


def test_method_not_allowed(api, server):
    by_path = {}
    for method, pattern in route_table():
        by_path.setdefault(pattern, []).append(method)
    chk = Checks()
    for pattern, methods in by_path.items():
        path = pattern.replace("{id}", "1")
        accepted = set(methods)
        if "PATCH" in methods:
            accepted.add("PUT")
        if "GET" in methods:
            accepted.add("HEAD")
        for method in ("GET", "POST", "PATCH", "PUT", "DELETE", "OPTIONS", "TRACE", "CONNECT",
                       "BREW"):
            if method in accepted:
                continue

            def one():
                r = api.request(method, path, body={} if method in ("POST", "PATCH", "PUT") else None)
                err(r, 405, "method_not_allowed")
                allow = [m.strip() for m in r.headers["Allow"].split(",")]
                assert set(methods) <= set(allow) <= accepted, (allow, methods)
            chk.run("%s %s" % (method, pattern), one)
    chk.done()


def list_paths():
    """Every list endpoint of the route table (GET without {id} at the end)."""
    out = []
    for method, pattern in route_table():
        if method != "GET" or pattern in ("/health", "/metrics", "/api/v1/openapi.json",
                                          "/api/v1/dnc/check",
                                          "/api/v1/campaigns/{id}/stats",
                                          "/api/v1/calls/{id}/recording"):
            continue
        if pattern.endswith("{id}"):
            continue
        out.append(pattern)
    return out


def test_list_query_strings(api):
    h = ok(api.post("/api/v1/webhooks", webhook_body()), 201)["id"]
    a = ok(api.post(A, {"name": "x"}), 201)["id"]
    paths = [p.replace("{id}", str(h if "webhooks" in p else a)) for p in list_paths()]
    assert len(paths) >= 12, paths
    chk = Checks()
    for p in paths:
        if p.endswith("/prompt-history") or p.endswith("/runtime-config"):
            continue
        for q, field in (("bogus=1", "bogus"), ("Limit=5", "Limit"), ("limit=0", "limit"),
                         ("limit=501", "limit"), ("limit=-1", "limit"), ("limit=abc", "limit"),
                         ("limit=", "limit"), ("limit=1.5", "limit"), ("limit=1e2", "limit"),
                         ("limit=99999999999999999999", "limit"), ("cursor=abc", "cursor"),
                         ("cursor=-1", "cursor"), ("cursor=", "cursor"), ("cursor=1x", "cursor"),
                         ("limit=5&bogus", "bogus"), ("%62ogus=1", "bogus")):
            chk.run("%s?%s" % (p, q),
                    lambda: err(api.get(p + "?" + q), 400, "invalid_query", field))
        for q in ("limit=1", "limit=500", "cursor=0", "limit=10&cursor=999999", "", "&&",
                  "limit=2&limit=3"):
            def good():
                body = ok(api.get(p + "?" + q))
                assert set(body) == {"data", "next_cursor"}
            chk.run("%s?%s" % (p, q), good)
    chk.done()


# ---- a type-confusion sweep over every writable endpoint ----

WEIRD = [None, True, False, 0, -1, 1, 2 ** 31, 2 ** 63 - 1, -2 ** 63, 1.5, -0.0, 1e308,
         "", " ", "x" * 3000, "\u00e9\u20ac\U0001F600", "+14155550100", "sip:a.example",
         "Europe/London", "09:00", "https://a.example/", [], [None], ["x"], [{}], {},
         {"a": None}, {"name": "n", "url": "https://a.example/"}]


def set_path(body, path, value):
    body = copy.deepcopy(body)
    cur = body
    keys = path.split(".")
    for k in keys[:-1]:
        cur = cur[int(k)] if k.isdigit() else cur[k]
    last = keys[-1]
    if last.isdigit():
        cur[int(last)] = value
    else:
        cur[last] = value
    return body


def test_type_confusion_sweep(api):
    a = ok(api.post(A, agent_body()), 201)["id"]
    t = ok(api.post("/api/v1/trunks", trunk_body()), 201)["id"]
    c = ok(api.post("/api/v1/campaigns", campaign_body(a, t)), 201)["id"]
    k = ok(api.post("/api/v1/contacts", {"campaign_id": c, "phone": "+447700900001"}), 201)["id"]
    n = ok(api.post("/api/v1/phone-numbers", {"number": "+14155550111"}), 201)["id"]
    w = ok(api.post("/api/v1/webhooks", webhook_body()), 201)["id"]
    targets = [
        ("/api/v1/agents", "/api/v1/agents/%d" % a, agent_body(),
         ["name", "description", "system_prompt", "scenario", "first_message", "first_speaker",
          "language", "stt", "llm", "tts", "tools", "inbound", "outbound", "limits", "metadata",
          "version", "llm.temperature", "llm.max_tokens", "llm.provider", "tools.0",
          "tools.0.url", "tools.0.parameters", "tools.0.timeout_ms",
          "inbound.business_hours.windows", "inbound.business_hours.windows.0.days",
          "inbound.business_hours.windows.0.days.0", "inbound.business_hours.windows.0.start",
          "inbound.transfer_number", "outbound.amd.enabled", "outbound.retry_delays.busy",
          "outbound.calling_window.timezone"]),
        ("/api/v1/trunks", "/api/v1/trunks/%d" % t, trunk_body(),
         ["name", "sip_uri", "transport", "password", "caller_id", "inbound", "max_channels",
          "calls_per_second", "enabled", "inbound.allowed_ips", "inbound.allowed_ips.0",
          "reachable"]),
        ("/api/v1/phone-numbers", "/api/v1/phone-numbers/%d" % n,
         {"number": "+14155550122", "label": "x", "agent_id": a, "trunk_id": t},
         ["number", "label", "agent_id", "trunk_id"]),
        ("/api/v1/campaigns", "/api/v1/campaigns/%d" % c, campaign_body(a, t),
         ["name", "agent_id", "trunk_id", "caller_id", "prompt", "default_country",
          "calling_window", "pacing", "retry", "metadata", "state", "pacing.max_concurrent",
          "retry.delays", "calling_window.windows.0.end"]),
        ("/api/v1/contacts", "/api/v1/contacts/%d" % k,
         {"campaign_id": c, "phone": "+447700900002", "name": "x", "email": "e",
          "timezone": "UTC", "fields": {"a": "b"}},
         ["campaign_id", "phone", "name", "email", "timezone", "fields"]),
        ("/api/v1/dnc", None, {"phone": "+447700900003", "campaign_id": c, "reason": "r"},
         ["phone", "campaign_id", "reason", "source"]),
        ("/api/v1/webhooks", "/api/v1/webhooks/%d" % w, webhook_body(),
         ["url", "description", "events", "events.0", "secret", "active"]),
        ("/api/v1/api-keys", None, {"name": "k"}, ["name", "prefix"]),
        ("/api/outbound-call", None,
         {"to_number": "+14155550100", "caller_name": "x", "llm_prompt": "p", "greeting": "g",
          "agent_id": a, "trunk_id": t},
         ["to_number", "caller_name", "llm_prompt", "greeting", "agent_id", "trunk_id"]),
    ]
    fails = []
    count = 0
    for post, item, body, paths in targets:
        for path in paths:
            for v in WEIRD:
                b = set_path(body, path, v)
                reqs = [("POST", post, b)]
                if item and "." not in path:
                    reqs.append(("PATCH", item, {path: v}))
                for method, url, payload in reqs:
                    count += 1
                    r = api.request(method, url, body=payload)
                    label = "%s %s %s=%r" % (method, url, path, v if v != "x" * 3000 else "x*3000")
                    try:
                        assert r.status < 500, r
                        if r.status >= 400:
                            err(r, r.status)
                        else:
                            assert isinstance(r.json, dict)
                    except (AssertionError, ValueError) as e:
                        fails.append("%s: %s" % (label, str(e)[:300]))
    # imports: the same values inside a row
    for field in ("phone", "name", "email", "timezone", "fields"):
        rows = [{"phone": "+14155550100", field: v} for v in WEIRD]
        r = api.post("/api/v1/contacts/import?campaign_id=%d" % c, rows)
        count += 1
        if r.status != 200 or r.json["received"] != len(WEIRD):
            fails.append("import %s: %r" % (field, r))
    assert not fails, "%d of %d requests failed:\n%s" % (len(fails), count, "\n".join(fails[:40]))
    assert count > 1000
    assert ok(api.get("/health"))["status"] == "ok"
    assert ok(api.get("/api/v1/agents/%d" % a))["id"] == a


def test_unknown_query_parameters_everywhere(api):
    """Routes that take no query parameters refuse them too (writes may
    name default_country) and do nothing."""
    from parley_helpers import make_world
    w = make_world(api)
    ids = {"/api/v1/agents": w["agent2"], "/api/v1/trunks": w["trunk"],
           "/api/v1/phone-numbers": w["number"], "/api/v1/campaigns": w["campaign"],
           "/api/v1/contacts": w["contact"], "/api/v1/dnc": w["dnc"],
           "/api/v1/webhooks": w["webhook"], "/api/v1/calls": 1,
           "/api/v1/call-tasks": w["task"], "/api/v1/api-keys": 999}
    self_reading = {"/api/v1/contacts/import", "/api/v1/dnc/check",
                    "/api/v1/webhooks/{id}/deliveries", "/health", "/metrics",
                    "/api/v1/openapi.json"}
    chk = Checks()
    n = 0
    for method, pattern in route_table():
        if pattern in self_reading or (method == "GET" and not pattern.endswith("}")
                                       and "{id}/" not in pattern):
            continue
        base = pattern.split("/{id}")[0]
        path = pattern.replace("{id}", str(ids.get(base, w["agent"])))
        body = {} if method in ("POST", "PATCH") else None
        n += 1
        for q in ("bogus=1", "dry_run=true", "default_contry=GB"):
            chk.run("%s %s?%s" % (method, path, q),
                    lambda: err(api.request(method, path + "?" + q, body=body), 400,
                                "invalid_query", q.split("=")[0]))
        if method in ("GET", "DELETE"):
            chk.run("%s %s?default_country=GB" % (method, path),
                    lambda: err(api.request(method, path + "?default_country=GB"), 400,
                                "invalid_query", "default_country"))
    chk.run("outbound-call ignores no parameter",
            lambda: err(api.post("/api/outbound-call?default_country=GB",
                                 {"to_number": "020 7946 0958"}), 400, "invalid_query",
                        "default_country"))
    chk.done()
    assert n >= 25
    # nothing was deleted or changed by the refused requests
    for base, i in ids.items():
        if base in ("/api/v1/calls", "/api/v1/api-keys"):
            continue
        assert api.get("%s/%d" % (base, i)).status == 200, base
    assert len(ok(api.get("/api/v1/api-keys"))["data"]) == 1
    assert len(ok(api.get("/api/v1/call-tasks"))["data"]) == 1
