"""SIP trunks and phone numbers: CRUD, defaults, secrets, validation of SIP
URIs, IP networks and phone numbers, references and filters."""
import copy

from parley_helpers import (TRUNK_IN_PASSWORD, TRUNK_PASSWORD, Checks, err,
                            list_all, no_secret, ok, strip_times, trunk_body)
import parley_helpers

# every test: no secret or API key in any server log
no_secrets_in_logs = parley_helpers.no_secrets_in_logs

T = "/api/v1/trunks"
N = "/api/v1/phone-numbers"


def test_trunk_crud(api):
    body = trunk_body()
    r = api.post(T, body)
    t = ok(r, 201)
    no_secret(r.body)
    assert r.headers["Location"] == "%s/%d" % (T, t["id"])
    expected = copy.deepcopy(body)
    del expected["password"]
    del expected["inbound"]["password"]
    expected["password_set"] = True
    expected["inbound"]["password_set"] = True
    expected["caller_id"] = "+14155550199"
    expected["id"] = t["id"]
    assert strip_times(t) == expected
    url = "%s/%d" % (T, t["id"])
    assert ok(api.get(url)) == t

    p = ok(api.patch(url, {"max_channels": 50, "enabled": False,
                           "inbound": {"allowed_ips": ["192.0.2.0/28"]}}))
    assert p["max_channels"] == 50 and p["enabled"] is False
    assert p["inbound"] == {"allowed_ips": ["192.0.2.0/28"], "username": "acme-in",
                            "password_set": True}
    assert p["password_set"] is True
    q = ok(api.put(url, {"caller_id": None, "transport": "tcp"}))
    assert "caller_id" not in q and q["transport"] == "tcp"
    assert q["max_channels"] == 50

    ok(api.delete(url), 204)
    err(api.get(url), 404, "not_found")
    assert ok(api.get(T))["data"] == []


def test_trunk_defaults_and_readonly(api):
    t = ok(api.post(T, {"name": "Min", "sip_uri": "sip:pbx.example.net"}), 201)
    assert strip_times(t) == {"id": t["id"], "name": "Min", "sip_uri": "sip:pbx.example.net",
                              "transport": "udp", "max_channels": 30,
                              "calls_per_second": 5.0, "enabled": True,
                              "password_set": False}
    for f, v in (("reachable", True), ("rtt_ms", 3), ("checked_at", "2024-01-01T00:00:00Z")):
        err(api.post(T, {"name": "x", "sip_uri": "sip:a.example", f: v}), 400,
            "read_only_field", f)
        err(api.patch("%s/%d" % (T, t["id"]), {f: v}), 400, "read_only_field", f)


def test_trunk_secrets(api, database):
    r = api.post(T, trunk_body())
    t = ok(r, 201)
    url = "%s/%d" % (T, t["id"])
    bodies = [r.body, api.get(url).body, api.get(T).body]
    r = api.patch(url, {"name": "Renamed", "inbound": {"username": "other"}})
    p = ok(r)
    bodies.append(r.body)
    assert p["password_set"] is True and p["inbound"]["password_set"] is True
    row = database.sql("SELECT password, inbound FROM trunks WHERE id = %d" % t["id"])[0]
    assert row[0] == TRUNK_PASSWORD and TRUNK_IN_PASSWORD in row[1]

    r = api.patch(url, {"password": None})
    p = ok(r)
    bodies.append(r.body)
    assert p["password_set"] is False and p["inbound"]["password_set"] is True
    assert "username" in p
    r = api.patch(url, {"inbound": {"password": None}})
    p = ok(r)
    bodies.append(r.body)
    assert p["inbound"]["password_set"] is False
    assert p["inbound"]["allowed_ips"] == trunk_body()["inbound"]["allowed_ips"]
    row = database.sql("SELECT password, inbound FROM trunks WHERE id = %d" % t["id"])[0]
    assert row[0] == "" and "password" not in row[1]
    for b in bodies:
        no_secret(b)


def test_trunk_validation(api):
    c = Checks()
    bad = [
        ({"sip_uri": "http://carrier.example"}, "invalid_value", "sip_uri"),
        ({"sip_uri": "carrier.example"}, "invalid_value", "sip_uri"),
        ({"sip_uri": "sip:"}, "invalid_value", "sip_uri"),
        ({"sip_uri": "sip:@"}, "invalid_value", "sip_uri"),
        ({"sip_uri": "sip:host with space"}, "invalid_value", "sip_uri"),
        ({"sip_uri": "sip:a.example\r\nVia: evil"}, "invalid_value", "sip_uri"),
        ({"sip_uri": 5060}, "invalid_type", "sip_uri"),
        ({"transport": "sctp"}, "invalid_value", "transport"),
        ({"max_channels": 0}, "invalid_value", "max_channels"),
        ({"max_channels": 100001}, "invalid_value", "max_channels"),
        ({"max_channels": "10"}, "invalid_type", "max_channels"),
        ({"max_channels": 1.5}, "invalid_type", "max_channels"),
        ({"calls_per_second": 0}, "invalid_value", "calls_per_second"),
        ({"calls_per_second": 1000.5}, "invalid_value", "calls_per_second"),
        ({"enabled": "yes"}, "invalid_type", "enabled"),
        ({"enabled": 1}, "invalid_type", "enabled"),
        ({"caller_id": "not a number"}, "invalid_value", "caller_id"),
        ({"caller_id": "+1"}, "invalid_value", "caller_id"),
        ({"password": "x" * 201}, "invalid_value", "password"),
        ({"name": ""}, "invalid_value", "name"),
        ({"name": None}, "invalid_type", "name"),
        ({"inbound": []}, "invalid_type", "inbound"),
        ({"inbound": {"allowed_ips": "10.0.0.0/8"}}, "invalid_type", "inbound.allowed_ips"),
        ({"inbound": {"allowed_ips": ["10.0.0.0/33"]}}, "invalid_value", "inbound.allowed_ips[0]"),
        ({"inbound": {"allowed_ips": ["10.0.0.1", "300.1.1.1"]}}, "invalid_value",
         "inbound.allowed_ips[1]"),
        ({"inbound": {"allowed_ips": ["10.0.0.0/"]}}, "invalid_value", "inbound.allowed_ips[0]"),
        ({"inbound": {"allowed_ips": ["::1/129"]}}, "invalid_value", "inbound.allowed_ips[0]"),
        ({"inbound": {"allowed_ips": ["hello"]}}, "invalid_value", "inbound.allowed_ips[0]"),
        ({"inbound": {"allowed_ips": ["10.0.0.0/8x"]}}, "invalid_value", "inbound.allowed_ips[0]"),
        ({"inbound": {"allowed_ips": [10]}}, "invalid_type", "inbound.allowed_ips[0]"),
        ({"inbound": {"allowed_ips": ["10.0.0.1"] * 101}}, "invalid_value", "inbound.allowed_ips"),
        ({"inbound": {"pasword": "x"}}, "unknown_field", "inbound.pasword"),
        ({"inbound": {"password_set": True}}, "unknown_field", "inbound.password_set"),
        ({"password_set": True}, "unknown_field", "password_set"),
        ({"id": 5}, "unknown_field", "id"),
        ({"created_at": "2024-01-01T00:00:00Z"}, "unknown_field", "created_at"),
    ]
    base = {"name": "t", "sip_uri": "sip:a.example"}
    t = ok(api.post(T, trunk_body()), 201)
    url = "%s/%d" % (T, t["id"])
    for over, code, field in bad:
        body = dict(base, **over)
        c.run("POST %r" % over, lambda: err(api.post(T, body), 400, code, field))
        if over.get("name", 1) is not None:
            c.run("PATCH %r" % over, lambda: err(api.patch(url, over), 400, code, field))
    c.run("missing name", lambda: err(api.post(T, {"sip_uri": "sip:a.example"}), 400,
                                      "missing_field", "name"))
    c.run("missing sip_uri", lambda: err(api.post(T, {"name": "x"}), 400,
                                         "missing_field", "sip_uri"))
    good = ["10.0.0.0/8", "192.0.2.1", "2001:db8::/32", "::1", "0.0.0.0/0", "fe80::1/128"]
    c.run("good networks", lambda: ok(api.post(T, dict(base, inbound={"allowed_ips": good})), 201))
    for uri in ("sip:pbx.example.com", "sips:pbx.example.com:5061;transport=tls",
                "sip:trunk@198.51.100.10:5080", "sip:[2001:db8::1]:5060"):
        c.run("good %s" % uri, lambda: ok(api.post(T, dict(base, sip_uri=uri)), 201))
    c.done()
    assert ok(api.get(url)) == t
    assert len(list_all(api, T)[0]) == 6


def test_phone_numbers(api):
    ag = ok(api.post("/api/v1/agents", {"name": "Reception"}), 201)["id"]
    tr = ok(api.post(T, trunk_body()), 201)["id"]
    n1 = ok(api.post(N, {"number": "+1 (415) 555-0100", "label": "SF office",
                         "trunk_id": tr, "agent_id": ag}), 201)
    assert strip_times(n1) == {"id": n1["id"], "number": "+14155550100", "label": "SF office",
                               "trunk_id": tr, "agent_id": ag}
    n2 = ok(api.post(N + "?default_country=GB", {"number": "020 7946 0958"}), 201)
    assert n2["number"] == "+442079460958"
    assert "trunk_id" not in n2 and "agent_id" not in n2
    n3 = ok(api.post(N, {"number": "tel:+1-212-555-0123", "agent_id": ag}), 201)
    assert n3["number"] == "+12125550123"
    # national numbers use the server's default country (US)
    n4 = ok(api.post(N, {"number": "(646) 555-0199"}), 201)
    assert n4["number"] == "+16465550199"

    # the same number in any spelling is a conflict
    err(api.post(N, {"number": "+14155550100"}), 409, "conflict")
    err(api.post(N, {"number": "415-555-0100"}), 409, "conflict")
    err(api.post(N + "?default_country=GB", {"number": "+44 20 7946 0958"}), 409, "conflict")
    err(api.patch("%s/%d" % (N, n3["id"]), {"number": "+1 415 555 0100"}), 409, "conflict")
    assert ok(api.get("%s/%d" % (N, n3["id"])))["number"] == "+12125550123"

    # filters
    by_agent = ok(api.get(N + "?agent_id=%d" % ag))["data"]
    assert [n["id"] for n in by_agent] == [n1["id"], n3["id"]]
    assert [n["id"] for n in ok(api.get(N + "?trunk_id=%d" % tr))["data"]] == [n1["id"]]
    assert ok(api.get(N + "?agent_id=999999"))["data"] == []
    err(api.get(N + "?agent_id=abc"), 400, "invalid_query", "agent_id")
    err(api.get(N + "?label=x"), 400, "invalid_query", "label")

    # re-point and detach
    p = ok(api.patch("%s/%d" % (N, n2["id"]), {"agent_id": ag, "label": "London"}))
    assert p["agent_id"] == ag and p["number"] == "+442079460958"
    p = ok(api.patch("%s/%d" % (N, n1["id"]), {"trunk_id": None}))
    assert "trunk_id" not in p and p["agent_id"] == ag
    p = ok(api.patch("%s/%d" % (N, n1["id"]), {"number": "+1 415 555 0111"}))
    assert p["number"] == "+14155550111"

    # references must exist
    err(api.post(N, {"number": "+14155550177", "agent_id": 999999}), 400,
        "invalid_reference", "agent_id")
    err(api.post(N, {"number": "+14155550177", "trunk_id": 999999}), 400,
        "invalid_reference", "trunk_id")
    err(api.patch("%s/%d" % (N, n2["id"]), {"trunk_id": 999999}), 400,
        "invalid_reference", "trunk_id")
    err(api.post(N, {"number": "+14155550177", "agent_id": 0}), 400, "invalid_value", "agent_id")
    err(api.post(N, {"number": "+14155550177", "agent_id": "1"}), 400, "invalid_type", "agent_id")

    # deleting the agent or trunk detaches numbers instead of refusing
    ok(api.delete("/api/v1/agents/%d" % ag), 204)
    assert "agent_id" not in ok(api.get("%s/%d" % (N, n3["id"])))
    assert ok(api.get(N + "?agent_id=%d" % ag))["data"] == []
    ok(api.delete("%s/%d" % (N, n4["id"])), 204)
    err(api.get("%s/%d" % (N, n4["id"])), 404, "not_found")
    # a deleted number can be created again
    assert ok(api.post(N, {"number": "+16465550199"}), 201)["id"] > n4["id"]


def test_phone_number_validation(api):
    c = Checks()
    cases = [
        ({"number": "12"}, "invalid_value", "number", ""),
        ({"number": "+999 123456"}, "invalid_value", "number", ""),
        ({"number": "call me"}, "invalid_value", "number", ""),
        ({"number": "+1 415 555 0100 0000 0000"}, "invalid_value", "number", ""),
        ({"number": ""}, "invalid_value", "number", ""),
        ({"number": 14155550100}, "invalid_type", "number", ""),
        ({"number": "020 7946 0958"}, "invalid_value", "number", "?default_country=ZZ"),
        ({}, "missing_field", "number", ""),
        ({"number": "+14155550100", "label": "x" * 201}, "invalid_value", "label", ""),
        ({"number": "+14155550100", "lable": "x"}, "unknown_field", "lable", ""),
        ({"number": "+14155550100", "agent_id": -3}, "invalid_value", "agent_id", ""),
    ]
    for body, code, field, q in cases:
        c.run("%r%s" % (body, q), lambda: err(api.post(N + q, body), 400, code, field))
    c.done()
    assert ok(api.get(N))["data"] == []


def test_phone_number_pagination(api):
    ids = [ok(api.post(N, {"number": "+1202555%04d" % (100 + i)}), 201)["id"] for i in range(11)]
    items, pages = list_all(api, N, limit=4)
    assert [n["id"] for n in items] == ids and pages == 3
    assert [n["number"] for n in items] == ["+1202555%04d" % (100 + i) for i in range(11)]
