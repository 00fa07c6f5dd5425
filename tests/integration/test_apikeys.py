"""API keys (create shows the key once, list never does, revoke takes
effect at once) and authentication of every kind of request."""
import re

from parley_helpers import ISO_TS, Checks, err, ok, raw_exchange, parse_responses
import parley_helpers

# every test: no secret or API key in any server log
no_secrets_in_logs = parley_helpers.no_secrets_in_logs

K = "/api/v1/api-keys"


def test_create_list_revoke(server, api, database):
    r = api.post(K, {"name": "CI deploy"})
    created = ok(r, 201)
    key = created["key"]
    assert re.fullmatch(r"pk_[0-9a-f]{40}", key)
    assert set(created) == {"id", "name", "prefix", "key", "created_at", "updated_at"}
    assert created["name"] == "CI deploy" and key.startswith(created["prefix"])
    assert 4 <= len(created["prefix"]) < len(key)
    assert ISO_TS.match(created["created_at"])

    # the new key works, with either header
    fresh = server.client(key)
    assert ok(fresh.get("/api/v1/agents")) == {"data": [], "next_cursor": None}
    r = server.client().get("/api/v1/agents", headers={"X-API-Key": key})
    assert r.status == 200, r

    # listing never shows a key nor its hash
    r = api.get(K)
    listed = ok(r)["data"]
    hashes = [h for (h,) in database.sql("SELECT key_hash FROM api_keys")]
    assert len(hashes) == 2 and len(listed) == 2
    assert key not in r.body and key[3:] not in r.body
    for h in hashes:
        assert h not in r.body
    mine = [x for x in listed if x["id"] == created["id"]][0]
    assert set(mine) <= {"id", "name", "prefix", "last_used_at", "revoked_at",
                         "created_at", "updated_at"}
    assert mine["prefix"] == created["prefix"] and "revoked_at" not in mine
    assert ISO_TS.match(mine["last_used_at"])        # used just now
    boot = [x for x in listed if x["id"] != created["id"]][0]
    assert boot["prefix"] == api.key[:len(boot["prefix"])]
    # the key created from the CLI has no name
    assert "name" not in boot

    # the key is in the creation response only: not in GET of the list again
    assert key not in api.get(K + "?limit=1").body

    # revoking works at once, even with the auth cache on
    ok(api.delete("%s/%d" % (K, created["id"])), 204)
    e = err(fresh.get("/api/v1/agents"), 401, "unauthorized")
    assert "revoked" in e["message"]
    err(server.client().get("/api/v1/agents", headers={"X-API-Key": key}), 401, "unauthorized")
    err(api.delete("%s/%d" % (K, created["id"])), 404, "not_found")
    listed = ok(api.get(K))["data"]
    assert ISO_TS.match([x for x in listed if x["id"] == created["id"]][0]["revoked_at"])
    assert database.sql("SELECT COUNT(*) FROM api_keys") == [["2"]]


def test_create_validation(api):
    chk = Checks()
    for body, code, field in (({"name": 5}, "invalid_type", "name"),
                              ({"name": "x" * 201}, "invalid_value", "name"),
                              ({"prefix": "pk_abc"}, "read_only_field", "prefix"),
                              ({"revoked_at": "2024-01-01T00:00:00Z"}, "read_only_field",
                               "revoked_at"),
                              ({"key": "pk_" + "0" * 40}, "unknown_field", "key"),
                              ({"tenant": "globex"}, "unknown_field", "tenant"),
                              ({"scopes": ["read"]}, "unknown_field", "scopes")):
        chk.run(repr(body), lambda: err(api.post(K, body), 400, code, field))
    chk.run("array", lambda: err(api.post(K, []), 400, "invalid_body"))
    chk.done()
    assert len(ok(api.get(K))["data"]) == 1
    # an empty object is a key without a name
    k = ok(api.post(K, {}), 201)
    assert "name" not in k and k["key"].startswith("pk_")


def test_revoke_own_key(server, api):
    k = ok(api.post(K, {"name": "self"}), 201)
    me = server.client(k["key"])
    ok(me.delete("%s/%d" % (K, k["id"])), 204)
    err(me.get(K), 401, "unauthorized")
    # others are unaffected
    assert len(ok(api.get(K))["data"]) == 2


def test_revoke_is_tenant_scoped(server, api, other):
    k = ok(api.post(K, {"name": "acme key"}), 201)
    err(other.delete("%s/%d" % (K, k["id"])), 404, "not_found")
    assert ok(server.client(k["key"]).get(K))["data"]
    assert [x.get("name") for x in ok(other.get(K))["data"]] == [None]


def test_authentication(server, api):
    key = api.key
    anon = server.client()
    protected = ["/api/v1/agents", "/api/v1/agents/1", "/api/v1/agents/1/runtime-config",
                 "/api/v1/dnc/check?phone=%2B14155550100", "/api/v1/calls", K]
    variants = [
        ({}, "missing"),
        ({"Authorization": "Bearer"}, "Bearer without key"),
        ({"Authorization": "Bearer "}, "Bearer and blank"),
        ({"Authorization": "Bearer pk_" + "0" * 40}, "unknown key"),
        ({"Authorization": "Bearer " + key[:-1]}, "truncated key"),
        ({"Authorization": "Bearer " + key + "x"}, "longer key"),
        ({"Authorization": "Bearer " + key.upper()}, "upper-cased key"),
        ({"Authorization": "Basic " + key}, "Basic scheme"),
        ({"Authorization": key}, "no scheme"),
        ({"Authorization": "Token " + key}, "Token scheme"),
        ({"X-API-Key": ""}, "empty X-API-Key"),
        ({"X-API-Key": "Bearer " + key}, "X-API-Key with Bearer"),
        ({"X-Api-Key-Typo": key}, "wrong header name"),
        ({"Authorization": "Bearer " + "k" * 5000}, "huge key"),
    ]
    chk = Checks()
    for path in protected:
        for hdrs, label in variants:
            def one():
                r = anon.get(path, headers=hdrs)
                e = err(r, 401, "unauthorized")
                assert key not in r.body
                assert "field" not in e
            chk.run("%s %s" % (path, label), one)
    # writes are refused before the body is looked at
    chk.run("POST no key", lambda: err(anon.post("/api/v1/agents", {"name": "x"}), 401,
                                       "unauthorized"))
    chk.run("POST bad json no key", lambda: err(anon.post("/api/v1/agents", raw="{",
                                                          ctype="application/json"),
                                                401, "unauthorized"))
    chk.run("import no key", lambda: err(anon.post("/api/v1/contacts/import?campaign_id=1",
                                                   raw="phone\n1\n", ctype="text/csv"),
                                         401, "unauthorized"))
    chk.run("outbound no key", lambda: err(anon.post("/api/outbound-call",
                                                     {"to_number": "+14155550100"}),
                                           401, "unauthorized"))
    chk.done()
    assert ok(api.get("/api/v1/agents"))["data"] == []
    assert ok(api.get("/api/v1/calls"))["data"] == []

    # case-insensitive scheme, extra blanks, X-API-Key alone
    for hdrs in ({"Authorization": "bearer " + key}, {"Authorization": "BEARER   " + key},
                 {"X-API-Key": key}, {"x-api-key": key}):
        assert anon.get("/api/v1/agents", headers=hdrs).status == 200, hdrs

    # public endpoints need no key
    assert anon.get("/health").status == 200
    assert anon.get("/metrics").status == 200
    assert anon.get("/api/v1/openapi.json").status == 200
    # and a bad key on them does not matter
    assert anon.get("/health", headers={"Authorization": "Bearer nope"}).status == 200

    # metrics count the failures
    body = anon.get("/metrics").body
    fails = int(re.search(r'^parley_api_auth_total\{result="fail"\} (\d+)$', body, re.M).group(1))
    assert fails >= len(protected) * len(variants)


def test_auth_over_raw_http(server, api):
    """401 keeps the connection usable (it is not a framing error)."""
    req = ("GET /api/v1/agents HTTP/1.1\r\nHost: x\r\n\r\n"
           "GET /api/v1/agents HTTP/1.1\r\nHost: x\r\nX-API-Key: %s\r\n"
           "Connection: close\r\n\r\n" % api.key).encode()
    resps, rest = parse_responses(raw_exchange(server.port, req))
    assert [s for s, _, _ in resps] == [401, 200] and rest == b""


def test_keys_not_logged(make_server):
    server = make_server(env={"PARLEY_LOG_LEVEL": "debug"})
    key = server.new_key("acme")
    api = server.client(key)
    made = ok(api.post(K, {"name": "x"}), 201)["key"]
    ok(server.client(made).get("/api/v1/agents"))
    err(server.client(made + "0").get("/api/v1/agents"), 401)
    server.stop()
    log = server.output()
    assert key not in log and made not in log and made[3:] not in log
