"""Do-not-call lists: tenant-wide and per campaign entries, conflicts,
filters, and GET /api/v1/dnc/check."""
from parley_helpers import (Checks, agent_body, campaign_body, err, list_all,
                            ok, strip_times, trunk_body)
import parley_helpers

# every test: no secret or API key in any server log
no_secrets_in_logs = parley_helpers.no_secrets_in_logs

D = "/api/v1/dnc"


def campaigns(api, n=2):
    a = ok(api.post("/api/v1/agents", agent_body()), 201)["id"]
    t = ok(api.post("/api/v1/trunks", trunk_body()), 201)["id"]
    return [ok(api.post("/api/v1/campaigns", campaign_body(a, t, "C%d" % i)), 201)["id"]
            for i in range(n)]


def test_dnc_entries(api):
    c1, c2 = campaigns(api)
    r = api.post(D, {"phone": "+1 (415) 555-0100", "reason": "asked not to be called"})
    t = ok(r, 201)
    assert r.headers["Location"] == "%s/%d" % (D, t["id"])
    assert strip_times(t) == {"id": t["id"], "phone": "+14155550100",
                              "reason": "asked not to be called", "source": "api"}
    k = ok(api.post(D + "?default_country=GB", {"phone": "07700 900123", "campaign_id": c1}), 201)
    assert strip_times(k) == {"id": k["id"], "phone": "+447700900123", "campaign_id": c1,
                              "source": "api"}
    assert ok(api.get("%s/%d" % (D, t["id"]))) == t

    # one entry per (list, number)
    err(api.post(D, {"phone": "+14155550100"}), 409, "conflict")
    err(api.post(D, {"phone": "415.555.0100", "reason": "again"}), 409, "conflict")
    err(api.post(D, {"phone": "+447700900123", "campaign_id": c1}), 409, "conflict")
    # the same number on another list is fine
    both = ok(api.post(D, {"phone": "+14155550100", "campaign_id": c1}), 201)
    ok(api.post(D, {"phone": "+447700900123", "campaign_id": c2}), 201)
    ok(api.post(D, {"phone": "+447700900123"}), 201)

    items, _ = list_all(api, D)
    assert len(items) == 5
    assert [e["id"] for e in ok(api.get(D + "?campaign_id=%d" % c1))["data"]] == [k["id"], both["id"]]
    assert len(ok(api.get(D + "?phone=%2B447700900123"))["data"]) == 3
    assert len(ok(api.get(D + "?phone=07700900123&default_country=GB&campaign_id=%d" % c2))["data"]) == 1
    err(api.get(D + "?phone=abc"), 400, "invalid_query", "phone")
    err(api.get(D + "?reason=x"), 400, "invalid_query", "reason")

    # entries are not edited, only added and removed
    r = api.patch("%s/%d" % (D, t["id"]), {"reason": "x"})
    err(r, 405, "method_not_allowed")
    assert r.headers["Allow"] == "GET, DELETE"
    err(api.put("%s/%d" % (D, t["id"]), {"reason": "x"}), 405, "method_not_allowed")

    ok(api.delete("%s/%d" % (D, t["id"])), 204)
    err(api.get("%s/%d" % (D, t["id"])), 404, "not_found")
    err(api.delete("%s/%d" % (D, t["id"])), 404, "not_found")
    # campaign entries go with the campaign
    ok(api.delete("/api/v1/campaigns/%d" % c1), 204)
    assert ok(api.get(D + "?campaign_id=%d" % c1))["data"] == []
    assert len(list_all(api, D)[0]) == 2


def test_dnc_validation(api):
    (c1,) = campaigns(api, 1)
    chk = Checks()
    cases = [
        ({}, "missing_field", "phone"),
        ({"phone": "123"}, "invalid_value", "phone"),
        ({"phone": 14155550100}, "invalid_type", "phone"),
        ({"phone": "+14155550100", "campaign_id": 999999}, "invalid_reference", "campaign_id"),
        ({"phone": "+14155550100", "campaign_id": "1"}, "invalid_type", "campaign_id"),
        ({"phone": "+14155550100", "source": "import"}, "read_only_field", "source"),
        ({"phone": "+14155550100", "reason": "x" * 501}, "invalid_value", "reason"),
        ({"phone": "+14155550100", "scope": "tenant"}, "unknown_field", "scope"),
    ]
    for body, code, field in cases:
        chk.run(repr(body)[:60], lambda: err(api.post(D, body), 400, code, field))
    chk.done()
    # campaign_id null is the tenant-wide list
    e = ok(api.post(D, {"phone": "+14155550100", "campaign_id": None}), 201)
    assert "campaign_id" not in e
    assert len(ok(api.get(D))["data"]) == 1


def test_dnc_check(api):
    c1, c2 = campaigns(api)
    tw = ok(api.post(D, {"phone": "+14155550100"}), 201)["id"]
    cw = ok(api.post(D, {"phone": "+14155550100", "campaign_id": c1}), 201)["id"]
    only = ok(api.post(D, {"phone": "+447700900123", "campaign_id": c2}), 201)["id"]

    def check(q):
        return ok(api.get(D + "/check?" + q))

    assert check("phone=%2B14155550100") == {
        "phone": "+14155550100", "blocked": True,
        "entries": [{"id": tw, "scope": "tenant", "campaign_id": None}]}
    assert check("phone=(415)%%20555-0100&campaign_id=%d" % c1) == {
        "phone": "+14155550100", "blocked": True,
        "entries": [{"id": tw, "scope": "tenant", "campaign_id": None},
                    {"id": cw, "scope": "campaign", "campaign_id": c1}]}
    assert check("phone=%%2B447700900123&campaign_id=%d" % c2)["entries"] == [
        {"id": only, "scope": "campaign", "campaign_id": c2}]
    assert check("phone=07700900123&default_country=GB&campaign_id=%d" % c2)["blocked"] is True
    # a campaign's list does not block other campaigns or the tenant
    assert check("phone=%%2B447700900123&campaign_id=%d" % c1) == {
        "phone": "+447700900123", "blocked": False, "entries": []}
    assert check("phone=%2B447700900123")["blocked"] is False
    assert check("phone=%2B12025550100")["blocked"] is False

    chk = Checks()
    for q, field in (("", "phone"), ("phone=", "phone"), ("phone=hello", "phone"),
                     ("phone=%2B1", "phone"),
                     ("phone=%2B14155550100&campaign_id=0", "campaign_id"),
                     ("phone=%2B14155550100&campaign_id=x", "campaign_id"),
                     ("phone=%2B14155550100&campaign_id=-4", "campaign_id"),
                     ("phone=%%2B14155550100&campaign_id=%dx" % c1, "campaign_id"),
                     ("phone=020%207946%200958&default_country=ZZ", "phone"),
                     ("phone=%2B14155550100&scope=tenant", "scope")):
        chk.run(q, lambda: err(api.get(D + "/check?" + q), 400, "invalid_query", field))
    chk.done()

    ok(api.delete("%s/%d" % (D, tw)), 204)
    assert check("phone=%2B14155550100")["blocked"] is False
    assert check("phone=%%2B14155550100&campaign_id=%d" % c1)["entries"] == [
        {"id": cw, "scope": "campaign", "campaign_id": c1}]
