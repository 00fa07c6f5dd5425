"""/health, /metrics (checked by promtool), the OpenAPI document against
the route table, HEAD, keep-alive and pipelining."""
import http.client
import json
import re
import subprocess

from parley_helpers import err, ok, parse_responses, raw_exchange, route_table
import parley_helpers

# every test: no secret or API key in any server log
no_secrets_in_logs = parley_helpers.no_secrets_in_logs

FAMILIES = {
    "parley_http_requests_total": "counter",
    "parley_runtime_config_cache_total": "counter",
    "parley_api_auth_total": "counter",
    "parley_db_errors_total": "counter",
    "parley_contacts_imported_total": "counter",
    "parley_http_request_duration_seconds": "histogram",
    "parley_uptime_seconds": "gauge",
    "parley_worker_jobs_pending": "gauge",
    "parley_http_requests_in_flight": "gauge",
    "parley_calls_active": "gauge",
    "parley_runtime_config_cache_entries": "gauge",
    "parley_build_info": "gauge",
}


def test_health(server, backend):
    anon = server.client()
    r = anon.get("/health")
    h = ok(r)
    assert set(h) == {"status", "version", "uptime_s", "store"}
    assert h["status"] == "ok"
    assert re.fullmatch(r"\d+\.\d+\.\d+", h["version"])
    assert isinstance(h["uptime_s"], float) and 0 <= h["uptime_s"] < 600
    assert set(h["store"]) == {"ok", "backend", "latency_ms"}
    assert h["store"]["ok"] is True
    assert h["store"]["backend"] == {"sqlite": "sqlite", "postgres": "postgresql"}[backend]
    assert h["store"]["latency_ms"] >= 0
    assert r.headers["Cache-Control"] == "no-store"
    h2 = ok(anon.get("/health/"))
    assert h2["uptime_s"] >= h["uptime_s"]
    err(anon.get("/health/x"), 404, "not_found")
    r = anon.post("/health", {})
    err(r, 405, "method_not_allowed")
    assert r.headers["Allow"] == "GET"


def test_head(server, api):
    anon = server.client()
    get = anon.get("/health")
    r = anon.request("HEAD", "/health")
    assert r.status == 200 and r.body == ""
    assert r.headers["Content-Type"] == "application/json"
    # Content-Length of a HEAD response is the GET's, or absent (RFC 9110 8.6)
    assert r.headers.get("Content-Length") in (None, str(len(get.body))), r.headers
    r = api.request("HEAD", "/api/v1/agents")
    assert r.status == 200 and r.body == ""
    r = anon.request("HEAD", "/api/v1/agents")
    assert r.status == 401 and r.body == ""
    # HEAD, then GET on the same connection: framing stays right
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.request("HEAD", "/health")
        r1 = conn.getresponse()
        assert r1.status == 200 and r1.read() == b""
        conn.request("GET", "/health")
        r2 = conn.getresponse()
        assert json.loads(r2.read())["status"] == "ok"
    finally:
        conn.close()


def parse_metrics(text):
    types, samples = {}, {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, typ = line.split(" ")
            types[name] = typ
        elif line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            samples[name] = float(value)
    return types, samples


def test_metrics(server, api):
    anon = server.client()
    ok(api.get("/api/v1/agents"))
    err(anon.get("/api/v1/agents"), 401)
    err(api.get("/nope"), 404)
    up_before = ok(anon.get("/health"))["uptime_s"]
    r = anon.get("/metrics")
    up_after = ok(anon.get("/health"))["uptime_s"]
    assert r.status == 200
    assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    p = subprocess.run(["/usr/bin/promtool", "check", "metrics"], input=r.body,
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stdout + p.stderr + "\n" + r.body
    types, samples = parse_metrics(r.body)
    for fam, typ in FAMILIES.items():
        assert types.get(fam) == typ, (fam, types)
    assert samples['parley_http_requests_total{code="2xx"}'] >= 1
    assert samples['parley_http_requests_total{code="4xx"}'] >= 2
    assert samples['parley_http_requests_total{code="5xx"}'] == 0
    assert samples['parley_api_auth_total{result="fail"}'] >= 1
    assert samples['parley_api_auth_total{result="ok"}'] >= 1
    assert samples['parley_build_info{version="%s"}' % ok(anon.get("/health"))["version"]] == 1
    # gauges: real values, not leftovers
    assert up_before - 0.01 <= samples["parley_uptime_seconds"] <= up_after + 0.01, \
        (up_before, samples["parley_uptime_seconds"], up_after)
    assert samples["parley_http_requests_in_flight"] == 0
    assert samples["parley_worker_jobs_pending"] == 0
    assert samples["parley_calls_active"] == 0
    assert samples["parley_runtime_config_cache_entries"] == 0
    assert samples["parley_db_errors_total"] == 0
    count = samples["parley_http_request_duration_seconds_count"]
    assert samples['parley_http_request_duration_seconds_bucket{le="+Inf"}'] == count
    assert count >= 3
    buckets = [v for k, v in samples.items()
               if k.startswith("parley_http_request_duration_seconds_bucket")]
    assert buckets == sorted(buckets)
    # counters only grow
    _, later = parse_metrics(anon.get("/metrics").body)
    assert later['parley_http_requests_total{code="2xx"}'] > samples['parley_http_requests_total{code="2xx"}']


def test_openapi_matches_routes(server):
    r = server.client().get("/api/v1/openapi.json")
    doc = ok(r)
    assert doc["openapi"] == "3.0.3"
    assert doc["info"]["title"] and doc["info"]["version"]
    routes = route_table()
    patterns = {p for _, p in routes}
    assert set(doc["paths"]) == patterns
    for method, pattern in routes:
        op = doc["paths"][pattern].get(method.lower())
        assert op, (method, pattern)
        assert op["summary"] and op["tags"] and op["responses"]
        assert op["operationId"] == method.lower() + pattern
        public = pattern in ("/health", "/metrics", "/api/v1/openapi.json")
        assert ("security" in op) == (not public), (method, pattern)
        if "{id}" in pattern:
            assert op["parameters"] == [{"name": "id", "in": "path", "required": True,
                                         "schema": {"type": "integer"}}]
        # actions without a body (hang up, trunk check, campaign life
        # cycle) have none
        if method in ("POST", "PATCH") and not pattern.endswith(
                ("/hangup", "/check", "/start", "/pause", "/resume", "/cancel")):
            assert op["requestBody"]["required"] is True, (method, pattern)
        elif method == "POST":
            assert "requestBody" not in op, (method, pattern)
    ops = [(m, p) for p, item in doc["paths"].items() for m in item]
    assert len(ops) == len(routes) == len(set(routes))
    ids = [op["operationId"] for item in doc["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids))

    schemes = doc["components"]["securitySchemes"]
    assert schemes["bearer"] == {"type": "http", "scheme": "bearer"}
    assert schemes["apiKey"] == {"type": "apiKey", "in": "header", "name": "X-API-Key"}
    assert set(doc["components"]["schemas"]["Error"]["properties"]) == {"error"}

    # schemas follow the field tables: secrets write-only, *_set in responses
    post = doc["paths"]["/api/v1/agents"]["post"]
    req = post["requestBody"]["content"]["application/json"]["schema"]
    assert req["required"] == ["name"] and req["additionalProperties"] is False
    assert req["properties"]["llm"]["properties"]["api_key"]["writeOnly"] is True
    assert "version" not in req["properties"]
    temp = req["properties"]["llm"]["properties"]["temperature"]
    assert temp["type"] == "number" and temp["minimum"] == 0 and temp["maximum"] == 2
    assert req["properties"]["limits"]["properties"]["max_duration"] == {
        "type": "integer", "minimum": 10, "maximum": 14400, "default": 1800,
        "description": "Longest call, seconds"}
    assert req["properties"]["name"]["maxLength"] == 200
    assert isinstance(req["properties"]["tools"]["maxItems"], int)
    resp = post["responses"]["201"]["content"]["application/json"]["schema"]
    assert "api_key" not in resp["properties"]["llm"]["properties"]
    assert resp["properties"]["llm"]["properties"]["api_key_set"]["type"] == "boolean"
    assert resp["properties"]["version"]["readOnly"] is True
    lst = doc["paths"]["/api/v1/trunks"]["get"]["responses"]["200"]["content"]["application/json"]
    assert "password_set" in lst["schema"]["properties"]["data"]["items"]["properties"]
    imp = doc["paths"]["/api/v1/contacts/import"]["post"]["requestBody"]["content"]
    assert set(imp) == {"application/json", "text/csv"}
    assert "204" in doc["paths"]["/api/v1/agents/{id}"]["delete"]["responses"]
    assert "204" in doc["paths"]["/api/v1/api-keys/{id}"]["delete"]["responses"]

    def numbers(node, path=""):
        """every minimum/maximum/maxLength/maxItems is a JSON number of the right kind"""
        if isinstance(node, dict):
            for k, v in node.items():
                if k in ("maxLength", "maxItems"):
                    assert isinstance(v, int) and not isinstance(v, bool), path + "." + k
                if k in ("minimum", "maximum"):
                    assert isinstance(v, (int, float)), path + "." + k
                    if node.get("type") == "integer":
                        assert isinstance(v, int), path + "." + k
                numbers(v, path + "." + k)
        elif isinstance(node, list):
            for i, v in enumerate(node):
                numbers(v, "%s[%d]" % (path, i))
    numbers(doc)


def test_keep_alive(server, api):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    hdrs = {"Authorization": "Bearer " + api.key, "Content-Type": "application/json"}
    try:
        conn.request("POST", "/api/v1/agents", body=json.dumps({"name": "KA"}), headers=hdrs)
        r = conn.getresponse()
        created = json.loads(r.read())
        assert r.status == 201
        sock = conn.sock
        for i in range(5):
            conn.request("GET", "/api/v1/agents/%d" % created["id"], headers=hdrs)
            r = conn.getresponse()
            assert r.status == 200 and json.loads(r.read())["name"] == "KA"
        conn.request("PATCH", "/api/v1/agents/%d" % created["id"],
                     body=json.dumps({"name": "KA2"}), headers=hdrs)
        r = conn.getresponse()
        assert r.status == 200 and json.loads(r.read())["name"] == "KA2"
        # errors keep the connection too
        conn.request("POST", "/api/v1/agents", body="{bad", headers=hdrs)
        r = conn.getresponse()
        assert r.status == 400 and json.loads(r.read())["error"]["code"] == "invalid_json"
        conn.request("GET", "/nope", headers=hdrs)
        r = conn.getresponse()
        assert r.status == 404 and r.getheader("Connection") is None
        r.read()
        conn.request("DELETE", "/api/v1/agents/%d" % created["id"], headers=hdrs)
        r = conn.getresponse()
        assert r.status == 204 and r.read() == b""
        assert conn.sock is sock, "the connection was not kept alive"
        conn.request("GET", "/health", headers={"Connection": "close"})
        r = conn.getresponse()
        assert r.status == 200 and r.getheader("Connection") == "close"
        r.read()
    finally:
        conn.close()


def test_http10_closes(server):
    out = raw_exchange(server.port, b"GET /health HTTP/1.0\r\n\r\n")
    resps, rest = parse_responses(out)
    assert [s for s, _, _ in resps] == [200] and rest == b""
    assert resps[0][1].get("connection") == "close"


def test_pipelining(server, api):
    key = api.key
    body = json.dumps({"name": "Piped"})
    reqs = [
        "GET /health HTTP/1.1\r\nHost: t\r\n\r\n",
        "POST /api/v1/agents HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer %s\r\n"
        "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (key, len(body), body),
        "GET /api/v1/agents/1 HTTP/1.1\r\nHost: t\r\nX-API-Key: %s\r\n\r\n" % key,
        "GET /nope HTTP/1.1\r\nHost: t\r\n\r\n",
        "PATCH /api/v1/agents/1 HTTP/1.1\r\nHost: t\r\nX-API-Key: %s\r\n"
        "Content-Type: application/json\r\nContent-Length: 17\r\n\r\n{\"name\":\"Piped2\"}" % key,
        "DELETE /api/v1/agents HTTP/1.1\r\nHost: t\r\n\r\n",
        "GET /api/v1/agents HTTP/1.1\r\nHost: t\r\nX-API-Key: %s\r\nConnection: close\r\n\r\n" % key,
    ]
    out = raw_exchange(server.port, "".join(reqs).encode())
    resps, rest = parse_responses(out)
    assert rest == b""
    assert [s for s, _, _ in resps] == [200, 201, 200, 404, 200, 405, 200]
    assert json.loads(resps[0][2])["status"] == "ok"
    assert json.loads(resps[1][2])["name"] == "Piped"
    assert json.loads(resps[2][2])["name"] == "Piped"
    assert json.loads(resps[3][2])["error"]["code"] == "not_found"
    assert json.loads(resps[4][2])["name"] == "Piped2"
    assert resps[5][1]["allow"] == "GET, POST"
    assert [a["name"] for a in json.loads(resps[6][2])["data"]] == ["Piped2"]

    # a request split into many small writes
    import socket
    import time
    s = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    try:
        data = reqs[1].encode()
        for i in range(0, len(data), 7):
            s.sendall(data[i:i + 7])
            time.sleep(0.001)
        buf = b""
        while not parse_responses(buf)[0]:
            chunk = s.recv(65536)
            assert chunk
            buf += chunk
        assert parse_responses(buf)[0][0][0] == 201
    finally:
        s.close()


def test_concurrent_requests(api):
    """Parallel writes and reads: no 5xx, nothing lost, versions and prompt
    history stay consistent under concurrent PATCHes of one agent."""
    import threading
    target = ok(api.post("/api/v1/agents", {"name": "Shared", "system_prompt": "v0"}), 201)["id"]
    errors, created = [], []
    lock = threading.Lock()

    def worker(n):
        try:
            for i in range(6):
                r = api.post("/api/v1/agents", {"name": "T%d-%d" % (n, i)})
                assert r.status == 201, r
                aid = r.json["id"]
                with lock:
                    created.append(aid)
                assert api.get("/api/v1/agents/%d" % aid).status == 200
                r = api.patch("/api/v1/agents/%d" % target,
                              {"system_prompt": "prompt %d-%d" % (n, i)})
                assert r.status == 200, r
                r = api.get("/api/v1/agents/%d/runtime-config" % target)
                assert r.status == 200 and r.json["source"] in ("store", "cache"), r
                r = api.post("/api/v1/dnc", {"phone": "+1202555%04d" % i})
                assert r.status in (201, 409), r
                assert api.get("/api/v1/agents?limit=5").status == 200
        except AssertionError as e:
            with lock:
                errors.append(str(e)[:300])

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert len(set(created)) == 48
    a = ok(api.get("/api/v1/agents/%d" % target))
    assert a["version"] == 49
    hist = ok(api.get("/api/v1/agents/%d/prompt-history" % target))["data"]
    assert [h["version"] for h in hist] == list(range(49, 1, -1)) + [1]
    assert hist[0]["system_prompt"] == a["system_prompt"]
    rc = ok(api.get("/api/v1/agents/%d/runtime-config" % target))
    assert rc["config"]["system_prompt"] == a["system_prompt"] and rc["config"]["version"] == 49
    assert len(ok(api.get("/api/v1/dnc"))["data"]) == 6


def test_sigterm_finishes_requests(make_server):
    """SIGTERM during a long request: the request completes, then the
    server exits 0 (the fixture's stop() checks exit code and sanitizers)."""
    import signal
    import threading
    import time
    server = make_server()
    api = server.client(server.new_key("acme"))
    a = ok(api.post("/api/v1/agents", {"name": "A"}), 201)["id"]
    t = ok(api.post("/api/v1/trunks", {"name": "T", "sip_uri": "sip:t.example"}), 201)["id"]
    c = ok(api.post("/api/v1/campaigns", {"name": "C", "agent_id": a, "trunk_id": t}), 201)["id"]
    csv = "phone,name\n" + "".join("+1202555%04d,N\n" % i for i in range(3000))
    res = {}

    def run():
        res["r"] = api.post("/api/v1/contacts/import?campaign_id=%d" % c, raw=csv,
                            ctype="text/csv")
    th = threading.Thread(target=run)
    th.start()
    time.sleep(0.15)
    server.proc.send_signal(signal.SIGTERM)
    th.join(timeout=60)
    assert server.proc.wait(timeout=60) == 0
    assert ok(res["r"])["created"] == 3000
    server.stop()
    assert "shutting down" in server.output()
