"""Tenant isolation, table-driven over the route table of src/api/routes.c:
tenant globex tries every route on tenant acme's rows (and references them
in bodies); every attempt must fail with 404 (400 invalid_reference for
references), lists must not show them, and acme's rows must be unchanged
afterwards. A route added to routes.c without an entry here fails
test_every_route_has_isolation_probes."""
import pytest

from parley_helpers import (err, insert, list_all, make_world, now_ms, ok,
                            route_table, tenant_id, webhook_body)
import parley_helpers

# every test: no secret or API key in any server log
no_secrets_in_logs = parley_helpers.no_secrets_in_logs

PUBLIC = "public"
LIST = "list"


def nf(method, path, body=None):
    """globex gets 404 not_found"""
    return ("status", method, path, body, 404, "not_found", None)


def ref(method, path, body, field):
    """globex referencing acme's row in a body: 400 invalid_reference"""
    return ("status", method, path, body, 400, "invalid_reference", field)


def lst(path, acme_ids_key):
    """globex's list (optionally filtered by acme's ids) shows none of acme's rows"""
    return (LIST, "GET", path, None, acme_ids_key, None, None)


# {w[...]} are acme's ids, {g[...]} globex's own
PROBES = {
    ("GET", "/health"): PUBLIC,
    ("GET", "/metrics"): PUBLIC,
    ("GET", "/api/v1/openapi.json"): PUBLIC,
    ("GET", "/api/v1/agents/{id}/runtime-config"): [
        nf("GET", "/api/v1/agents/{w[agent]}/runtime-config"),
        nf("GET", "/api/v1/agents/{w[agent2]}/runtime-config")],
    ("GET", "/api/v1/agents/{id}/prompt-history"): [
        nf("GET", "/api/v1/agents/{w[agent]}/prompt-history")],
    ("GET", "/api/v1/agents"): [lst("/api/v1/agents", "agent")],
    ("POST", "/api/v1/agents"): [("created", "POST", "/api/v1/agents", {"name": "Intruder"},
                                  "/api/v1/agents", None, None)],
    ("GET", "/api/v1/agents/{id}"): [nf("GET", "/api/v1/agents/{w[agent]}")],
    ("PATCH", "/api/v1/agents/{id}"): [
        nf("PATCH", "/api/v1/agents/{w[agent]}", {"name": "pwned"}),
        nf("PUT", "/api/v1/agents/{w[agent]}", {"system_prompt": "pwned"}),
        # bad bodies get the same answer for acme's id as for no row at all
        ("same", "PATCH", "/api/v1/agents/{w[agent]}", {"bogus_field": 1}, None, None, None),
        ("same", "PATCH", "/api/v1/agents/{w[agent]}", {"name": 5}, None, None, None)],
    ("DELETE", "/api/v1/agents/{id}"): [nf("DELETE", "/api/v1/agents/{w[agent2]}")],

    ("GET", "/api/v1/trunks"): [lst("/api/v1/trunks", "trunk")],
    ("POST", "/api/v1/trunks"): [("created", "POST", "/api/v1/trunks",
                                  {"name": "Intruder", "sip_uri": "sip:evil.example"},
                                  "/api/v1/trunks", None, None)],
    ("GET", "/api/v1/trunks/{id}"): [nf("GET", "/api/v1/trunks/{w[trunk]}")],
    ("PATCH", "/api/v1/trunks/{id}"): [
        nf("PATCH", "/api/v1/trunks/{w[trunk]}", {"sip_uri": "sip:evil.example"}),
        nf("PUT", "/api/v1/trunks/{w[trunk]}", {"password": None})],
    ("DELETE", "/api/v1/trunks/{id}"): [nf("DELETE", "/api/v1/trunks/{w[trunk]}")],

    ("GET", "/api/v1/phone-numbers"): [
        lst("/api/v1/phone-numbers", "number"),
        lst("/api/v1/phone-numbers?agent_id={w[agent]}", "number"),
        lst("/api/v1/phone-numbers?trunk_id={w[trunk]}", "number")],
    ("POST", "/api/v1/phone-numbers"): [
        ref("POST", "/api/v1/phone-numbers", {"number": "+12025550911", "agent_id": "{w[agent]}"},
            "agent_id"),
        ref("POST", "/api/v1/phone-numbers", {"number": "+12025550912", "trunk_id": "{w[trunk]}"},
            "trunk_id")],
    ("GET", "/api/v1/phone-numbers/{id}"): [nf("GET", "/api/v1/phone-numbers/{w[number]}")],
    ("PATCH", "/api/v1/phone-numbers/{id}"): [
        nf("PATCH", "/api/v1/phone-numbers/{w[number]}", {"agent_id": "{g[agent]}"}),
        nf("PUT", "/api/v1/phone-numbers/{w[number]}", {"label": "x"}),
        ref("PATCH", "/api/v1/phone-numbers/{g[number]}", {"agent_id": "{w[agent]}"}, "agent_id"),
        ref("PUT", "/api/v1/phone-numbers/{g[number]}", {"trunk_id": "{w[trunk]}"}, "trunk_id")],
    ("DELETE", "/api/v1/phone-numbers/{id}"): [nf("DELETE", "/api/v1/phone-numbers/{w[number]}")],

    ("GET", "/api/v1/campaigns"): [
        lst("/api/v1/campaigns", "campaign"),
        lst("/api/v1/campaigns?agent_id={w[agent]}", "campaign")],
    ("POST", "/api/v1/campaigns"): [
        ref("POST", "/api/v1/campaigns", {"name": "x", "agent_id": "{w[agent]}",
                                          "trunk_id": "{g[trunk]}"}, "agent_id"),
        ref("POST", "/api/v1/campaigns", {"name": "x", "agent_id": "{g[agent]}",
                                          "trunk_id": "{w[trunk]}"}, "trunk_id")],
    ("GET", "/api/v1/campaigns/{id}"): [nf("GET", "/api/v1/campaigns/{w[campaign]}")],
    ("PATCH", "/api/v1/campaigns/{id}"): [
        nf("PATCH", "/api/v1/campaigns/{w[campaign]}", {"name": "x"}),
        nf("PUT", "/api/v1/campaigns/{w[campaign]}", {"prompt": "x"}),
        ref("PATCH", "/api/v1/campaigns/{g[campaign]}", {"agent_id": "{w[agent]}"}, "agent_id"),
        ref("PATCH", "/api/v1/campaigns/{g[campaign]}", {"trunk_id": "{w[trunk]}"}, "trunk_id")],
    ("DELETE", "/api/v1/campaigns/{id}"): [nf("DELETE", "/api/v1/campaigns/{w[campaign]}")],
    ("POST", "/api/v1/campaigns/{id}/start"): [
        nf("POST", "/api/v1/campaigns/{w[campaign]}/start")],
    ("POST", "/api/v1/campaigns/{id}/pause"): [
        nf("POST", "/api/v1/campaigns/{w[campaign]}/pause")],
    ("POST", "/api/v1/campaigns/{id}/resume"): [
        nf("POST", "/api/v1/campaigns/{w[campaign]}/resume")],
    ("POST", "/api/v1/campaigns/{id}/cancel"): [
        nf("POST", "/api/v1/campaigns/{w[campaign]}/cancel")],
    ("GET", "/api/v1/campaigns/{id}/stats"): [
        nf("GET", "/api/v1/campaigns/{w[campaign]}/stats")],

    ("POST", "/api/v1/contacts/import"): [
        ("status", "POST", "/api/v1/contacts/import?campaign_id={w[campaign]}",
         "phone,name\n+447700900555,Intruder\n", 404, "not_found", "campaign_id"),
        ("status", "POST", "/api/v1/contacts/import?campaign_id={w[campaign]}",
         [{"phone": "+447700900555"}], 404, "not_found", "campaign_id")],
    ("GET", "/api/v1/contacts"): [
        lst("/api/v1/contacts", "contact"),
        lst("/api/v1/contacts?campaign_id={w[campaign]}", "contact"),
        lst("/api/v1/contacts?phone=%2B447700900001", "contact")],
    ("POST", "/api/v1/contacts"): [
        ref("POST", "/api/v1/contacts", {"campaign_id": "{w[campaign]}", "phone": "+447700900556"},
            "campaign_id")],
    ("GET", "/api/v1/contacts/{id}"): [nf("GET", "/api/v1/contacts/{w[contact]}")],
    ("PATCH", "/api/v1/contacts/{id}"): [
        nf("PATCH", "/api/v1/contacts/{w[contact]}", {"name": "x"}),
        nf("PUT", "/api/v1/contacts/{w[contact]}", {"campaign_id": "{g[campaign]}"}),
        ("same", "PUT", "/api/v1/contacts/{w[contact]}", {"phone": "x"}, None, None, None),
        ("status", "PATCH", "/api/v1/contacts/{g[contact]}", {"campaign_id": "{w[campaign]}"},
         400, "immutable_field", "campaign_id")],
    ("DELETE", "/api/v1/contacts/{id}"): [nf("DELETE", "/api/v1/contacts/{w[contact]}")],

    ("GET", "/api/v1/dnc/check"): [
        ("check", "GET", "/api/v1/dnc/check?phone=%2B447700900999", None, None, None, None),
        ("check", "GET", "/api/v1/dnc/check?phone=%2B447700900998&campaign_id={w[campaign]}",
         None, None, None, None)],
    ("GET", "/api/v1/dnc"): [
        lst("/api/v1/dnc", "dnc"),
        lst("/api/v1/dnc?campaign_id={w[campaign]}", "dnc"),
        lst("/api/v1/dnc?phone=%2B447700900998", "dnc")],
    ("POST", "/api/v1/dnc"): [
        ref("POST", "/api/v1/dnc", {"phone": "+447700900001", "campaign_id": "{w[campaign]}"},
            "campaign_id")],
    ("GET", "/api/v1/dnc/{id}"): [nf("GET", "/api/v1/dnc/{w[dnc]}"),
                                  nf("GET", "/api/v1/dnc/{w[dnc_campaign]}")],
    ("DELETE", "/api/v1/dnc/{id}"): [nf("DELETE", "/api/v1/dnc/{w[dnc]}")],

    ("GET", "/api/v1/webhooks/{id}/deliveries"): [
        nf("GET", "/api/v1/webhooks/{w[webhook]}/deliveries"),
        lst("/api/v1/webhooks/{g[webhook]}/deliveries", "delivery"),
        lst("/api/v1/webhooks/{g[webhook]}/deliveries?webhook%5Fid={w[webhook]}", "delivery")],
    ("GET", "/api/v1/webhooks"): [lst("/api/v1/webhooks", "webhook")],
    ("POST", "/api/v1/webhooks"): [("created", "POST", "/api/v1/webhooks", webhook_body(),
                                    "/api/v1/webhooks", None, None)],
    ("GET", "/api/v1/webhooks/{id}"): [nf("GET", "/api/v1/webhooks/{w[webhook]}")],
    ("PATCH", "/api/v1/webhooks/{id}"): [
        nf("PATCH", "/api/v1/webhooks/{w[webhook]}", {"url": "https://evil.example/"}),
        nf("PUT", "/api/v1/webhooks/{w[webhook]}", {"active": False})],
    ("DELETE", "/api/v1/webhooks/{id}"): [nf("DELETE", "/api/v1/webhooks/{w[webhook]}")],

    ("GET", "/api/v1/calls"): [
        lst("/api/v1/calls", "call"),
        lst("/api/v1/calls?status=active", "call"),
        lst("/api/v1/calls?agent_id={w[agent]}", "call"),
        lst("/api/v1/calls?campaign_id={w[campaign]}", "call")],
    ("GET", "/api/v1/calls/{id}"): [nf("GET", "/api/v1/calls/{w[call]}")],
    ("GET", "/api/v1/call-tasks"): [lst("/api/v1/call-tasks", "task"),
                                    lst("/api/v1/call-tasks?status=queued", "task")],
    ("GET", "/api/v1/call-tasks/{id}"): [nf("GET", "/api/v1/call-tasks/{w[task]}")],
    ("GET", "/api/v1/api-keys"): [lst("/api/v1/api-keys", "apikey")],
    ("POST", "/api/v1/api-keys"): [("created", "POST", "/api/v1/api-keys", {"name": "mine"},
                                    "/api/v1/api-keys", None, None)],
    ("DELETE", "/api/v1/api-keys/{id}"): [nf("DELETE", "/api/v1/api-keys/{w[apikey]}")],
    ("POST", "/api/v1/calls"): [
        ref("POST", "/api/v1/calls", {"agent_id": "{w[agent]}", "to": "+14155550100",
                                      "trunk_id": "{g[trunk]}"}, "agent_id"),
        ref("POST", "/api/v1/calls", {"agent_id": "{g[agent]}", "to": "+14155550100",
                                      "trunk_id": "{w[trunk]}"}, "trunk_id")],
    ("GET", "/api/v1/calls/{id}/recording"): [
        nf("GET", "/api/v1/calls/{w[call]}/recording"),
        nf("GET", "/api/v1/calls/{w[call]}/recording?format=mp3")],
    ("POST", "/api/v1/calls/{id}/hangup"): [nf("POST", "/api/v1/calls/{w[call]}/hangup")],
    ("POST", "/api/v1/calls/{id}/dtmf"): [
        nf("POST", "/api/v1/calls/{w[call]}/dtmf", {"digits": "1"})],
    ("POST", "/api/v1/calls/{id}/transfer"): [
        nf("POST", "/api/v1/calls/{w[call]}/transfer", {"to": "sip:evil@127.0.0.1"})],
    ("POST", "/api/v1/trunks/{id}/check"): [nf("POST", "/api/v1/trunks/{w[trunk]}/check")],
    ("POST", "/api/voice-pipeline"): [
        nf("POST", "/api/voice-pipeline?agent_id={w[agent]}", {"not": "audio"})],
    ("POST", "/api/outbound-call"): [
        ref("POST", "/api/outbound-call", {"to_number": "+14155550100", "agent_id": "{w[agent]}"},
            "agent_id"),
        ref("POST", "/api/outbound-call", {"to_number": "+14155550100", "trunk_id": "{w[trunk]}"},
            "trunk_id")],
}


def test_every_route_has_isolation_probes():
    routes = set(route_table())
    missing = routes - set(PROBES)
    assert not missing, "routes without isolation probes: %s" % sorted(missing)
    stale = set(PROBES) - routes
    assert not stale, "probes for routes that no longer exist: %s" % sorted(stale)


def fill(v, w, g):
    if isinstance(v, str):
        s = v.format(w=w, g=g)
        return int(s) if v.startswith("{") and v.endswith("]}") and s.isdigit() else s
    if isinstance(v, dict):
        return {k: fill(x, w, g) for k, x in v.items()}
    if isinstance(v, list):
        return [fill(x, w, g) for x in v]
    return v


def snapshot(api, w):
    """Everything acme can see, to compare before and after the attack."""
    snap = {}
    for path in ("/api/v1/agents", "/api/v1/trunks", "/api/v1/phone-numbers",
                 "/api/v1/campaigns", "/api/v1/contacts", "/api/v1/dnc", "/api/v1/webhooks",
                 "/api/v1/calls", "/api/v1/call-tasks",
                 "/api/v1/agents/%d/prompt-history" % w["agent"],
                 "/api/v1/webhooks/%d/deliveries" % w["webhook"],
                 "/api/v1/calls/%d" % w["call"]):
        r = api.get(path)
        assert r.status == 200, (path, r)
        snap[path] = r.json
    keys = ok(api.get("/api/v1/api-keys"))["data"]
    # last_used_at moves with every request of acme's own; the rest must not
    snap["keys"] = [{k: v for k, v in x.items() if k not in ("last_used_at", "updated_at")}
                    for x in keys]
    rc = ok(api.get("/api/v1/agents/%d/runtime-config" % w["agent"]))
    snap["runtime-config"] = rc["config"]
    return snap


@pytest.fixture
def worlds(server, api, other, database):
    w = make_world(api)
    g = make_world(other, "g")
    tid = tenant_id(database, "acme")
    t = now_ms()
    w["call"] = insert(database, "calls", {
        "tenant_id": tid, "created_at": t, "updated_at": t, "direction": "outbound",
        "status": "answered", "agent_id": w["agent"], "campaign_id": w["campaign"],
        "to_number": "+447700900001"})
    insert(database, "call_events", {"tenant_id": tid, "created_at": t, "updated_at": t,
                                     "call_id": w["call"], "type": "call.answered"})
    insert(database, "transcripts", {"tenant_id": tid, "created_at": t, "updated_at": t,
                                     "call_id": w["call"], "turn": 0, "speaker": "agent",
                                     "text": "secret conversation"})
    w["delivery"] = insert(database, "webhook_outbox", {
        "tenant_id": tid, "created_at": t, "updated_at": t, "webhook_id": w["webhook"],
        "event": "call.answered", "payload": {"call_id": w["call"]}, "next_attempt_at": t})
    w["apikey"] = ok(api.post("/api/v1/api-keys", {"name": "acme extra"}), 201)["id"]
    # acme's runtime config is in the cache, where globex must not find it
    assert ok(api.get("/api/v1/agents/%d/runtime-config" % w["agent"]))["source"] == "store"
    return w, g


def test_isolation(api, other, worlds):
    w, g = worlds
    before = snapshot(api, w)
    acme_ids = {
        "agent": {w["agent"], w["agent2"]}, "trunk": {w["trunk"]}, "number": {w["number"]},
        "campaign": {w["campaign"]}, "contact": {w["contact"]},
        "dnc": {w["dnc"], w["dnc_campaign"]}, "webhook": {w["webhook"]},
        "delivery": {w["delivery"]}, "call": {w["call"]}, "task": {w["task"]},
        "apikey": {x["id"] for x in ok(api.get("/api/v1/api-keys"))["data"]},
    }
    failures, count = [], 0
    for (rmethod, rpattern), probes in PROBES.items():
        if probes == PUBLIC:
            r = other.get(rpattern)
            count += 1
            if r.status != 200 or any(x in r.body for x in ("Jane Doe", "Agent\"", "Campaign\"",
                                                              "secret conversation")):
                failures.append("%s %s: %r" % (rmethod, rpattern, r))
            continue
        for kind, method, path, body, a, b, field in probes:
            path = fill(path, w, g)
            body = fill(body, w, g)
            count += 1
            label = "%s %s (route %s %s)" % (method, path, rmethod, rpattern)
            if isinstance(body, str):
                r = other.request(method, path, raw=body, ctype="text/csv")
            else:
                r = other.request(method, path, body=body)
            try:
                if kind == "status":
                    err(r, a, b, field)
                elif kind == LIST:
                    items, _ = list_all(other, path)
                    leaked = {x["id"] for x in items} & acme_ids[a]
                    assert not leaked, "globex sees acme's %s %s" % (a, leaked)
                    assert "secret conversation" not in r.body
                elif kind == "check":
                    # globex has its own entries for the same numbers
                    res = ok(r)
                    if "campaign_id" in path:
                        assert res["blocked"] is False and res["entries"] == [], res
                    for e in res["entries"]:
                        assert e["id"] not in acme_ids["dnc"], res
                        assert e["campaign_id"] != w["campaign"], res
                elif kind == "same":
                    parts = path.split("/")
                    parts[4] = "999999"
                    none = other.request(method, "/".join(parts), body=body)
                    assert r.status == none.status and r.status < 500, (r, none)
                    assert r.json["error"]["code"] == none.json["error"]["code"], (r, none)
                elif kind == "created":
                    new = ok(r, 201)
                    mine = {x["id"] for x in list_all(other, a)[0]}
                    theirs = {x["id"] for x in list_all(api, a)[0]}
                    assert new["id"] in mine and new["id"] not in theirs
            except AssertionError as e:
                failures.append("%s: %s" % (label, str(e)[:400]))
    assert not failures, "%d of %d probes failed:\n%s" % (len(failures), count,
                                                          "\n".join(failures))
    after = snapshot(api, w)
    for k in before:
        assert after[k] == before[k], "acme's %s changed" % k
    # globex's own world still works for globex
    assert ok(other.get("/api/v1/agents/%d/runtime-config" % g["agent"]))["agent_id"] == g["agent"]
    assert ok(other.get("/api/v1/agents/%d" % g["agent"]))["name"] == "Agentg"


def test_cache_is_tenant_scoped(server, api, other):
    """The same agent id never serves another tenant from the runtime
    config cache, and a tenant's key never unlocks another's rows."""
    a = ok(api.post("/api/v1/agents", {"name": "A", "system_prompt": "acme only"}), 201)["id"]
    assert ok(api.get("/api/v1/agents/%d/runtime-config" % a))["source"] == "store"
    assert ok(api.get("/api/v1/agents/%d/runtime-config" % a))["source"] == "cache"
    for _ in range(2):
        err(other.get("/api/v1/agents/%d/runtime-config" % a), 404, "not_found")
    assert ok(api.get("/api/v1/agents/%d/runtime-config" % a))["config"]["system_prompt"] == "acme only"
    # with both headers, Authorization decides: globex's key, so 404
    r = server.client().get("/api/v1/agents/%d" % a,
                            headers={"Authorization": "Bearer " + other.key, "X-API-Key": api.key})
    err(r, 404, "not_found")


def test_foreign_lookup_keeps_cache_entry(api, other):
    """Another tenant asking for acme's agent id must not evict acme's
    cached runtime config (rtcfg_get invalidates on ENOENT whatever the
    tenant: src/agent/rtcfg.c)."""
    a = ok(api.post("/api/v1/agents", {"name": "A", "system_prompt": "acme only"}), 201)["id"]
    assert ok(api.get("/api/v1/agents/%d/runtime-config" % a))["source"] == "store"
    err(other.get("/api/v1/agents/%d/runtime-config" % a), 404, "not_found")
    assert ok(api.get("/api/v1/agents/%d/runtime-config" % a))["source"] == "cache"
