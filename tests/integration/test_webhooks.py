"""Webhooks: CRUD, the write-only signing secret, validation, and the
delivery log GET /api/v1/webhooks/{id}/deliveries."""
from parley_helpers import (ISO_TS, WEBHOOK_SECRET, Checks, err, insert,
                            list_all, no_secret, now_ms, ok, strip_times,
                            tenant_id, webhook_body)
import parley_helpers

# every test: no secret or API key in any server log
no_secrets_in_logs = parley_helpers.no_secrets_in_logs

W = "/api/v1/webhooks"


def test_webhook_crud_and_secret(api, database):
    r = api.post(W, webhook_body())
    w = ok(r, 201)
    bodies = [r.body]
    assert r.headers["Location"] == "%s/%d" % (W, w["id"])
    assert strip_times(w) == {"id": w["id"], "url": "https://hooks.example.com/parley?team=1",
                              "description": "CRM sync",
                              "events": ["call.answered", "call.ended"],
                              "active": True, "secret_set": True}
    url = "%s/%d" % (W, w["id"])
    r = api.get(url)
    assert ok(r) == w
    bodies += [r.body, api.get(W).body]

    r = api.patch(url, {"active": False, "events": ["*"], "url": "http://10.1.2.3:8080/hook"})
    p = ok(r)
    bodies.append(r.body)
    assert p["active"] is False and p["events"] == ["*"] and p["secret_set"] is True
    assert p["url"] == "http://10.1.2.3:8080/hook"
    assert database.sql("SELECT secret FROM webhooks WHERE id = %d" % w["id"])[0][0] == WEBHOOK_SECRET

    # the secret is required: it can be replaced but not removed
    err(api.patch(url, {"secret": None}), 400, "missing_field", "secret")
    err(api.patch(url, {"secret": "short"}), 400, "invalid_value", "secret")
    assert database.sql("SELECT secret FROM webhooks WHERE id = %d" % w["id"])[0][0] == WEBHOOK_SECRET
    r = api.put(url, {"secret": "rotated-0123456789-SECRET"})
    bodies.append(r.body)
    assert ok(r)["secret_set"] is True
    assert database.sql("SELECT secret FROM webhooks WHERE id = %d" % w["id"])[0][0] == \
        "rotated-0123456789-SECRET"
    for b in bodies:
        no_secret(b)

    ok(api.delete(url), 204)
    err(api.get(url), 404, "not_found")
    err(api.get(url + "/deliveries"), 404, "not_found")


def test_webhook_defaults(api):
    w = ok(api.post(W, {"url": "https://example.org/h", "secret": "s" * 16}), 201)
    assert strip_times(w) == {"id": w["id"], "url": "https://example.org/h", "events": ["*"],
                              "active": True, "secret_set": True}


def test_webhook_validation(api):
    base = {"url": "https://example.org/h", "secret": "0123456789abcdef"}
    w = ok(api.post(W, base), 201)
    url = "%s/%d" % (W, w["id"])
    chk = Checks()
    cases = [
        ({"url": "ftp://example.org/h"}, "invalid_value", "url"),
        ({"url": "example.org/h"}, "invalid_value", "url"),
        ({"url": "https://"}, "invalid_value", "url"),
        ({"url": "https://exa mple.org/"}, "invalid_value", "url"),
        ({"url": "https://example.org:99999/"}, "invalid_value", "url"),
        ({"url": "https://example.org:x/"}, "invalid_value", "url"),
        ({"url": "https://example.org/" + "a" * 2048}, "invalid_value", "url"),
        ({"url": ["https://example.org"]}, "invalid_type", "url"),
        ({"secret": "0123456789abcde"}, "invalid_value", "secret"),
        ({"secret": "x" * 257}, "invalid_value", "secret"),
        ({"secret": 1234567890123456}, "invalid_type", "secret"),
        ({"events": ["call.ended", "call.exploded"]}, "invalid_value", "events[1]"),
        ({"events": "call.ended"}, "invalid_type", "events"),
        ({"events": ["call.ended"] * 21}, "invalid_value", "events"),
        ({"active": "true"}, "invalid_type", "active"),
        ({"description": "d" * 501}, "invalid_value", "description"),
        ({"headers": {"X": "1"}}, "unknown_field", "headers"),
        ({"secret_set": False}, "unknown_field", "secret_set"),
    ]
    for over, code, field in cases:
        chk.run("POST %r" % over, lambda: err(api.post(W, dict(base, **over)), 400, code, field))
        chk.run("PATCH %r" % over, lambda: err(api.patch(url, over), 400, code, field))
    chk.run("no url", lambda: err(api.post(W, {"secret": "0123456789abcdef"}), 400,
                                  "missing_field", "url"))
    chk.run("no secret", lambda: err(api.post(W, {"url": "https://example.org/"}), 400,
                                     "missing_field", "secret"))
    # a required secret cannot be null either (this used to answer 500)
    chk.run("null secret", lambda: err(api.post(W, dict(base, secret=None)), 400,
                                       "invalid_type", "secret"))
    chk.run("null secret in PATCH", lambda: err(api.patch(url, {"secret": None}), 400,
                                                "missing_field", "secret"))
    for good in ("https://example.org", "https://example.org:8443/a/b?c=d#e",
                 "http://[2001:db8::1]:8080/h", "https://user:pw@example.org/x",
                 "http://localhost:3000/webhooks/parley"):
        chk.run("good " + good, lambda: ok(api.post(W, dict(base, url=good)), 201))
    chk.done()
    assert ok(api.get(url)) == w


def add_delivery(database, tid, hook, event, status="pending", **over):
    t = now_ms()
    row = {"tenant_id": tid, "created_at": t, "updated_at": t, "webhook_id": hook,
           "event": event, "payload": {"event": event, "call_id": 7},
           "status": status, "attempts": 0, "next_attempt_at": t + 60000}
    row.update(over)
    return insert(database, "webhook_outbox", row)


def test_deliveries(api, other, database):
    h1 = ok(api.post(W, webhook_body()), 201)["id"]
    h2 = ok(api.post(W, webhook_body(url="https://other.example/h")), 201)["id"]
    g = ok(other.post(W, webhook_body()), 201)["id"]
    tid, gid = tenant_id(database, "acme"), tenant_id(database, "globex")
    t = now_ms()
    d1 = add_delivery(database, tid, h1, "call.answered")
    d2 = add_delivery(database, tid, h1, "call.ended", status="delivered", attempts=2,
                      last_status=200, delivered_at=t, payload={"event": "call.ended",
                                                                "call": {"id": "9", "duration": 31.5}})
    d3 = add_delivery(database, tid, h1, "call.ended", status="failed", attempts=8,
                      last_status=500, last_error="HTTP 500 from receiver")
    d4 = add_delivery(database, tid, h2, "call.ended")
    add_delivery(database, gid, g, "call.ended")

    page = ok(api.get("%s/%d/deliveries" % (W, h1)))
    assert page["next_cursor"] is None
    items = page["data"]
    assert [d["id"] for d in items] == [d1, d2, d3]
    assert all(d["webhook_id"] == h1 for d in items)
    assert items[0]["payload"] == {"event": "call.answered", "call_id": 7}
    assert items[0]["status"] == "pending" and items[0]["attempts"] == 0
    assert ISO_TS.match(items[0]["next_attempt_at"])
    assert "delivered_at" not in items[0] and "last_status" not in items[0]
    assert strip_times(items[1]) == {
        "id": d2, "webhook_id": h1, "event": "call.ended",
        "payload": {"event": "call.ended", "call": {"id": "9", "duration": 31.5}},
        "status": "delivered", "attempts": 2, "next_attempt_at": items[1]["next_attempt_at"],
        "last_status": 200, "delivered_at": items[1]["delivered_at"]}
    assert ISO_TS.match(items[1]["delivered_at"])
    assert items[2]["last_error"] == "HTTP 500 from receiver" and items[2]["attempts"] == 8

    assert [d["id"] for d in ok(api.get("%s/%d/deliveries" % (W, h2)))["data"]] == [d4]
    # pagination within one hook
    all_items, pages = list_all(api, "%s/%d/deliveries" % (W, h1), limit=2)
    assert [d["id"] for d in all_items] == [d1, d2, d3] and pages == 2
    # the hook is given by the path only; no way to reach another one
    err(api.get("%s/%d/deliveries?webhook_id=%d" % (W, h1, h2)), 400, "invalid_query")
    # (an encoded name slips past that check, but the path's id still wins)
    r = api.get("%s/%d/deliveries?webhook%%5Fid=%d" % (W, h1, h2))
    assert [d["id"] for d in ok(r)["data"]] == [d1, d2, d3]
    r = api.get("%s/%d/deliveries?webhook%%5Fid=%d" % (W, h1, g))
    assert [d["id"] for d in ok(r)["data"]] == [d1, d2, d3]
    err(api.get("%s/%d/deliveries?status=failed" % (W, h1)), 400, "invalid_query", "status")
    err(api.get("%s/%d/deliveries?limit=0" % (W, h1)), 400, "invalid_query", "limit")
    err(api.get("%s/%d/deliveries?cursor=x" % (W, h1)), 400, "invalid_query", "cursor")
    err(api.get("%s/%d/deliveries" % (W, g)), 404, "not_found")
    err(api.get("%s/999999/deliveries" % W), 404, "not_found")
    # deliveries are read-only
    r = api.post("%s/%d/deliveries" % (W, h1), {"event": "x"})
    err(r, 405, "method_not_allowed")
    assert r.headers["Allow"] == "GET"

    # a hook without deliveries; deleting a hook removes its log
    h3 = ok(api.post(W, webhook_body()), 201)["id"]
    assert ok(api.get("%s/%d/deliveries" % (W, h3))) == {"data": [], "next_cursor": None}
    ok(api.delete("%s/%d" % (W, h1)), 204)
    assert database.sql("SELECT COUNT(*) FROM webhook_outbox WHERE webhook_id = %d" % h1) == [["0"]]
