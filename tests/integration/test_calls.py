"""Calls (rows written straight into the store, as telephony does not exist
yet), call details with events and transcript, call tasks, and the
seed-compatible POST /api/outbound-call."""
import calendar
import time

from parley_helpers import (ISO_TS, Checks, agent_body, campaign_body, err,
                            insert, list_all, ok, tenant_id, trunk_body)
import parley_helpers

# every test: no secret or API key in any server log
no_secrets_in_logs = parley_helpers.no_secrets_in_logs

CALLS = "/api/v1/calls"
TASKS = "/api/v1/call-tasks"
OUT = "/api/outbound-call"


def ms(iso):
    """'2024-03-01T10:00:00Z' -> ms since the epoch."""
    return calendar.timegm(time.strptime(iso, "%Y-%m-%dT%H:%M:%SZ")) * 1000


def world(api):
    a = ok(api.post("/api/v1/agents", agent_body()), 201)["id"]
    t = ok(api.post("/api/v1/trunks", trunk_body()), 201)["id"]
    c = ok(api.post("/api/v1/campaigns", campaign_body(a, t)), 201)["id"]
    k = ok(api.post("/api/v1/contacts", {"campaign_id": c, "phone": "+447700900001"}), 201)["id"]
    return a, t, c, k


def add_call(database, tid, created, **over):
    row = {"tenant_id": tid, "created_at": ms(created), "updated_at": ms(created),
           "direction": "outbound", "status": "answered",
           "from_number": "+14155550199", "to_number": "+447700900001"}
    row.update(over)
    return insert(database, "calls", row)


def test_calls_list_filters_and_detail(api, database):
    a, t, c, k = world(api)
    tid = tenant_id(database, "acme")
    ended = dict(status="ended", ended_at=ms("2024-03-01T10:05:00Z"))
    c1 = add_call(database, tid, "2024-03-01T10:00:00Z", agent_id=a, trunk_id=t, campaign_id=c,
                  contact_id=k, attempt=1, sip_call_id="abc@pbx", ringing_at=ms("2024-03-01T10:00:02Z"),
                  answered_at=ms("2024-03-01T10:00:09Z"), sip_code=200, hangup_cause="normal",
                  hangup_by="caller", outcome="answered", amd_result="human", amd_ms=1800,
                  node="node-1", **ended)
    c2 = add_call(database, tid, "2024-03-02T09:00:00Z", agent_id=a, status="ringing")
    c3 = add_call(database, tid, "2024-03-03T12:00:00Z", direction="inbound", agent_id=a,
                  from_number="+12025550100", to_number="+14155550100", status="answered")
    c4 = add_call(database, tid, "2024-03-04T08:00:00Z", campaign_id=c, outcome="busy",
                  sip_code=486, status="ended", ended_at=ms("2024-03-04T08:00:05Z"))

    def ids(q):
        return [x["id"] for x in list_all(api, CALLS + q)[0]]

    assert ids("") == [c1, c2, c3, c4]
    assert ids("?status=active") == [c2, c3]
    assert ids("?status=ended") == [c1, c4]
    assert ids("?direction=inbound") == [c3]
    assert ids("?direction=outbound&status=ended") == [c1, c4]
    assert ids("?campaign_id=%d" % c) == [c1, c4]
    assert ids("?agent_id=%d&status=active" % a) == [c2, c3]
    assert ids("?contact_id=%d" % k) == [c1]
    assert ids("?outcome=busy") == [c4]
    assert ids("?from=2024-03-02T00:00:00Z") == [c2, c3, c4]
    assert ids("?to=2024-03-02T09:00:00Z") == [c1]          # 'to' is exclusive
    assert ids("?from=2024-03-02T09:00:00Z&to=2024-03-04") == [c2, c3]
    assert ids("?from=2024-03-02T10:00:00%2B01:00&to=2024-03-03T12:00:00.001Z") == [c2, c3]
    assert ids("?from=2025-01-01") == []
    assert ids("?status=active&limit=1") == [c2, c3]

    chk = Checks()
    for q, field in (("status=live", "status"), ("status=", "status"),
                     ("direction=sideways", "direction"), ("from=yesterday", "from"),
                     ("to=2024-13-01", "to"), ("from=2024-02-30", "from"),
                     ("agent_id=x", "agent_id"), ("campaign_id=1.5", "campaign_id"),
                     ("limit=0", "limit"), ("limit=501", "limit"), ("cursor=-1", "cursor"),
                     ("sort=id", "sort"), ("node=node-1", "node")):
        chk.run(q, lambda: err(api.get(CALLS + "?" + q), 400, "invalid_query", field))
    chk.done()

    # details: the call, its events in order, its transcript in turn order
    t0 = ms("2024-03-01T10:00:00Z")
    for i, (typ, data) in enumerate([("call.initiated", {"to": "+447700900001"}),
                                     ("call.ringing", None),
                                     ("call.answered", {"sip_code": 200, "amd": "human"}),
                                     ("call.ended", {"cause": "normal", "by": "caller"})]):
        insert(database, "call_events", {"tenant_id": tid, "created_at": t0 + i * 1000,
                                         "updated_at": t0 + i * 1000, "call_id": c1,
                                         "type": typ, "data": data})
    turns = [(2, "agent", "How can I help?", 4000, 5200, False, {"tts_ms": 210}),
             (0, "agent", "Hi Jane, this is Ava from Acme.", 0, 2100, True, None),
             (1, "user", "Hello?", 2300, 2900, False, {"stt_ms": 120, "llm_ms": 340})]
    for turn, spk, text, s, e, intr, timings in turns:
        insert(database, "transcripts", {"tenant_id": tid, "created_at": t0 + 10000 + turn,
                                         "updated_at": t0 + 10000 + turn, "call_id": c1,
                                         "turn": turn, "speaker": spk, "text": text,
                                         "start_ms": s, "end_ms": e, "interrupted": intr,
                                         "timings": timings})
    # another call's rows must not show up
    insert(database, "call_events", {"tenant_id": tid, "created_at": t0, "updated_at": t0,
                                     "call_id": c2, "type": "call.ringing"})

    d = ok(api.get("%s/%d" % (CALLS, c1)))
    assert {k_: v for k_, v in d.items() if k_ not in ("events", "transcript")} == {
        "id": c1, "attempt": 1, "direction": "outbound", "from_number": "+14155550199",
        "to_number": "+447700900001", "trunk_id": t, "agent_id": a, "campaign_id": c,
        "contact_id": k, "sip_call_id": "abc@pbx", "status": "ended",
        "ringing_at": "2024-03-01T10:00:02.000Z", "answered_at": "2024-03-01T10:00:09.000Z",
        "ended_at": "2024-03-01T10:05:00.000Z", "sip_code": 200, "hangup_cause": "normal",
        "hangup_by": "caller", "outcome": "answered", "amd_result": "human", "amd_ms": 1800,
        "node": "node-1", "created_at": "2024-03-01T10:00:00.000Z",
        "updated_at": "2024-03-01T10:00:00.000Z"}
    assert d["events"] == [
        {"at": "2024-03-01T10:00:00.000Z", "type": "call.initiated",
         "data": {"to": "+447700900001"}},
        {"at": "2024-03-01T10:00:01.000Z", "type": "call.ringing"},
        {"at": "2024-03-01T10:00:02.000Z", "type": "call.answered",
         "data": {"sip_code": 200, "amd": "human"}},
        {"at": "2024-03-01T10:00:03.000Z", "type": "call.ended",
         "data": {"cause": "normal", "by": "caller"}}]
    assert [x["turn"] for x in d["transcript"]] == [0, 1, 2]
    assert d["transcript"][0] == {"at": "2024-03-01T10:00:10.000Z", "turn": 0, "speaker": "agent",
                                  "text": "Hi Jane, this is Ava from Acme.", "start_ms": 0,
                                  "end_ms": 2100, "interrupted": True}
    assert d["transcript"][1]["interrupted"] is False
    assert d["transcript"][1]["timings"] == {"stt_ms": 120, "llm_ms": 340}
    assert d["transcript"][2]["text"] == "How can I help?"

    d2 = ok(api.get("%s/%d" % (CALLS, c2)))
    assert d2["events"] == [{"at": "2024-03-01T10:00:00.000Z", "type": "call.ringing"}]
    assert d2["transcript"] == [] and "ended_at" not in d2
    # the list has no details
    assert "events" not in ok(api.get(CALLS))["data"][0]
    err(api.get("%s/999999" % CALLS), 404, "not_found")

    # call rows are written by telephony only: no PATCH/DELETE, and a
    # POST that tries to set fields is refused
    for method, path in (("PATCH", "%s/%d" % (CALLS, c1)), ("DELETE", "%s/%d" % (CALLS, c1))):
        r = api.request(method, path, body={"status": "ended"} if method != "DELETE" else None)
        err(r, 405, "method_not_allowed")
        assert r.headers["Allow"] == "GET"
    err(api.post(CALLS, {"status": "ended"}), 400, "unknown_field", "status")
    # an ended call cannot be acted on
    for action, body in (("hangup", None), ("dtmf", {"digits": "1"}),
                         ("transfer", {"to": "sip:x@127.0.0.1"})):
        err(api.post("%s/%d/%s" % (CALLS, c1, action), body), 409, "call_ended")
    assert ok(api.get("%s/%d" % (CALLS, c1)))["status"] == "ended"


def test_outbound_call(api, database):
    a, t, c, k = world(api)
    r = api.post(OUT, {"to_number": "+1 (415) 555-0100", "caller_name": "Acme Dental",
                       "llm_prompt": "Remind {name} of the appointment tomorrow at 10.",
                       "greeting": "Hello, this is Acme Dental.", "agent_id": a, "trunk_id": t})
    assert r.status == 202, r
    body = r.json
    assert set(body) == {"status", "call_id", "task_id"}
    assert body["status"] == "queued"
    assert isinstance(body["call_id"], str) and isinstance(body["task_id"], int)
    assert body["call_id"] == str(body["task_id"])
    assert r.headers["Location"] == "%s/%d" % (TASKS, body["task_id"])

    task = ok(api.get("%s/%d" % (TASKS, body["task_id"])))
    assert task["status"] == "queued" and task["to_number"] == "+14155550100"
    assert task["agent_id"] == a and task["trunk_id"] == t
    assert task["payload"] == {"caller_name": "Acme Dental",
                               "llm_prompt": "Remind {name} of the appointment tomorrow at 10.",
                               "greeting": "Hello, this is Acme Dental."}
    assert task["attempt"] == 0 and task["max_attempts"] == 1
    assert ISO_TS.match(task["next_attempt_at"])
    assert "campaign_id" not in task and "contact_id" not in task

    # the minimal seed body: only the number; national numbers use the
    # server's default country
    r2 = api.post(OUT, {"to_number": "(212) 555-0100"})
    assert r2.status == 202, r2
    t2 = ok(api.get("%s/%d" % (TASKS, r2.json["task_id"])))
    assert t2["to_number"] == "+12125550100" and t2["payload"] == {}
    assert "agent_id" not in t2 and "trunk_id" not in t2

    tasks, _ = list_all(api, TASKS)
    assert [x["id"] for x in tasks] == [body["task_id"], r2.json["task_id"]]
    assert len(ok(api.get(TASKS + "?status=queued"))["data"]) == 2
    assert ok(api.get(TASKS + "?status=done"))["data"] == []
    assert ok(api.get(TASKS + "?campaign_id=%d" % c))["data"] == []
    tid = tenant_id(database, "acme")
    t3 = insert(database, "call_tasks", {"tenant_id": tid, "created_at": 1, "updated_at": 1,
                                         "campaign_id": c, "contact_id": k, "agent_id": a,
                                         "trunk_id": t, "to_number": "+447700900001",
                                         "status": "done", "attempt": 2, "max_attempts": 3,
                                         "next_attempt_at": 1, "last_outcome": "answered",
                                         "final_outcome": "answered"})
    assert [x["id"] for x in ok(api.get(TASKS + "?campaign_id=%d" % c))["data"]] == [t3]
    done = ok(api.get(TASKS + "?status=done"))["data"]
    assert [x["id"] for x in done] == [t3] and done[0]["final_outcome"] == "answered"
    err(api.get(TASKS + "?status=queued&agent_id=1"), 400, "invalid_query", "agent_id")
    err(api.get("%s/999999" % TASKS), 404, "not_found")
    r = api.post(TASKS, {"to_number": "+14155550100"})
    err(r, 405, "method_not_allowed")


def test_outbound_call_validation(api, other, database):
    a, t, c, k = world(api)
    ga = ok(other.post("/api/v1/agents", {"name": "G"}), 201)["id"]
    gt = ok(other.post("/api/v1/trunks", {"name": "G", "sip_uri": "sip:g.example"}), 201)["id"]
    chk = Checks()
    cases = [
        ({}, "missing_field", "to_number"),
        ({"caller_name": "x"}, "missing_field", "to_number"),
        ({"to_number": "hello"}, "invalid_value", "to_number"),
        ({"to_number": "+1"}, "invalid_value", "to_number"),
        ({"to_number": 14155550100}, "invalid_type", "to_number"),
        ({"to_number": None}, "invalid_type", "to_number"),
        ({"to_number": "+14155550100", "from_number": "+1"}, "unknown_field", "from_number"),
        ({"to_number": "+14155550100", "campaign_id": c}, "unknown_field", "campaign_id"),
        ({"to_number": "+14155550100", "caller_name": "x" * 201}, "invalid_value", "caller_name"),
        ({"to_number": "+14155550100", "greeting": 5}, "invalid_type", "greeting"),
        ({"to_number": "+14155550100", "agent_id": ga}, "invalid_reference", "agent_id"),
        ({"to_number": "+14155550100", "trunk_id": gt}, "invalid_reference", "trunk_id"),
        ({"to_number": "+14155550100", "agent_id": 999999}, "invalid_reference", "agent_id"),
        ({"to_number": "+14155550100", "agent_id": 0}, "invalid_value", "agent_id"),
        ({"to_number": "+14155550100", "agent_id": "1"}, "invalid_type", "agent_id"),
    ]
    for body, code, field in cases:
        chk.run(repr(body)[:70], lambda: err(api.post(OUT, body), 400, code, field))
    chk.run("array", lambda: err(api.post(OUT, [{"to_number": "+14155550100"}]), 400,
                                 "invalid_body"))
    chk.run("csv", lambda: err(api.post(OUT, raw="to_number\n+14155550100\n", ctype="text/csv"),
                               415, "unsupported_media_type"))
    chk.run("other tenant's agent from its own key works",
            lambda: ok(other.post(OUT, {"to_number": "+14155550100", "agent_id": ga}), 202))
    chk.done()
    assert ok(api.get(TASKS))["data"] == []
    assert database.sql("SELECT COUNT(*) FROM call_tasks") == [["1"]]
