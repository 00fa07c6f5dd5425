"""Webhook events end to end: real calls through a real server to the
scripted callee, events POSTed to a receiver in this process that checks
every signature; retries with backoff against a receiver that fails for
a while; filters, tenant isolation, two nodes sharing one store, and a
shutdown that waits for deliveries in flight."""
import os
import sys
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "sip"))

import peers  # noqa: E402
from webhook_receiver import Receiver, signature, verify  # noqa: E402

SECRET = "whsec_0123456789abcdef"
SECRET2 = "another-secret-0123456789"
NUMBER = "+14155550123"

# fast polling and short retries, so the tests take seconds
FAST = {"PARLEY_EVENTS_POLL_INTERVAL": "100", "PARLEY_EVENTS_RETRY_BASE": "400",
        "PARLEY_EVENTS_TIMEOUT": "5000"}


@pytest.fixture
def server(make_server):
    return make_server(env=FAST)


@pytest.fixture
def rx():
    r = Receiver()
    yield r
    r.close()


def ok(r, status=200):
    assert r.status == status, r
    return r.json


def webhook(api, url, secret=SECRET, events=None):
    body = {"url": url, "secret": secret}
    if events is not None:
        body["events"] = events
    return ok(api.post("/api/v1/webhooks", body), 201)


def deliveries(api, hook):
    return ok(api.get("/api/v1/webhooks/%d/deliveries?limit=100" % hook["id"]))["data"]


def trunk_to(api, callee):
    return ok(api.post("/api/v1/trunks", {"name": "out-%d" % callee.sip_port,
                                          "sip_uri": "sip:127.0.0.1:%d" % callee.sip_port}), 201)


def dial(api, agent, trunk, **extra):
    body = {"agent_id": agent["id"], "to": NUMBER, "trunk_id": trunk["id"]}
    body.update(extra)
    return ok(api.post("/api/v1/calls", body), 201)


def callee(tmp_path, behaviour, name="callee"):
    c = peers.Callee(str(tmp_path / name), record=False)
    c.args += ["--behaviour", behaviour]
    return c


def wait_ended(api, call, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        c = ok(api.get("/api/v1/calls/%d" % call["id"]))
        if c["status"] == "ended" and any(e["type"] == "call.ended" for e in c["events"]):
            return c
        time.sleep(0.1)
    raise AssertionError("call %d did not end" % call["id"])


def scenario(closed_port):
    """Greets, calls a webhook that cannot be reached (error_http), then
    talks for longer than the callee stays."""
    return {"start": "greet", "steps": {
        "greet": {"type": "say", "text": "Hello, this is Parley calling.", "next": "hook"},
        "hook": {"type": "webhook", "url": "http://127.0.0.1:%d/crm" % closed_port,
                 "next": "talk", "on_error": "talk"},
        "talk": {"type": "say", "text": "I am calling about your appointment tomorrow "
                 "morning at nine. Please listen carefully, as the details that "
                 "follow are important, and there are quite a few of them to go "
                 "through before we are done.", "next": "end"},
        "end": {"type": "hangup"}}}


def test_call_events_signed_filtered_and_isolated(server, api, other, rx, tmp_path):
    url_all = rx.hook("/all", SECRET)
    url_ended = rx.hook("/ended", SECRET2)
    url_other = rx.hook("/other", SECRET)
    h_all = webhook(api, url_all, events=["*"])
    h_ended = webhook(api, url_ended, SECRET2, events=["call.ended"])
    h_off = webhook(api, rx.hook("/off", SECRET))
    ok(api.patch("/api/v1/webhooks/%d" % h_off["id"], {"active": False}))
    h_other = webhook(other, url_other)
    with callee(tmp_path, "answer_hangup4") as ce:
        agent = ok(api.post("/api/v1/agents", {"name": "Caller",
                                               "scenario": scenario(peers.free_port())}), 201)
        trunk = trunk_to(api, ce)
        call = dial(api, agent, trunk)
        ce.wait_event("answered", timeout=10)
        ce.wait_event("hangup", timeout=15)
        row = wait_ended(api, call)
    assert row["hangup_by"] == "callee" and row["outcome"] == "answered", row
    rx.wait(lambda: "call.ended" in rx.delivered("/all") and
            "call.ended" in rx.delivered("/ended"), what="call.ended on both hooks")
    time.sleep(0.5)   # anything more would arrive by now

    # every request verifies with its webhook's secret, and only with it
    assert rx.got() and all(r.verified for r in rx.got()), rx.got()
    for r in rx.got("/all"):
        assert not verify(SECRET2, r.headers, r.body)
        assert not verify(SECRET, r.headers, r.body + b" ")
        ts = r.headers["X-Parley-Timestamp"]
        assert r.headers["X-Parley-Signature"] == signature(SECRET, ts, r.body)
        assert abs(int(ts) - r.at) < 5
        assert r.headers["X-Parley-Event"] == r.type
        assert r.headers["Content-Type"] == "application/json"

    got = rx.delivered("/all")
    types = [r.type for r in sorted(rx.got("/all", ok=True), key=lambda r: r.delivery)]
    # each lifecycle event once, in the order it happened
    want = ["call.initiated", "call.ringing", "call.answered", "conversation_started",
            "error_http", "user_hangup", "call.ended"]
    assert sorted(types) == sorted(want), types
    assert [t for t in types if t in want] == want, types
    assert len({p["id"] for ps in got.values() for p in ps}) == len(types)
    for ps in got.values():
        p = ps[0]
        assert p["id"].startswith("evt_") and len(p["id"]) == 36, p
        assert p["call_id"] == call["id"] and p["tenant_id"] > 0, p
        assert p["created_at"].endswith("Z"), p
        assert p["data"]["direction"] == "outbound" and p["data"]["to"] == NUMBER, p
    assert got["error_http"][0]["data"]["where"] == "scenario"
    assert got["user_hangup"][0]["data"]["by"] == "callee"
    ended = got["call.ended"][0]["data"]
    assert ended["outcome"] == "answered" and ended["by"] == "callee", ended
    assert ended["cause"] == "bye", ended
    assert 3.0 <= ended["duration"] <= 6.5, ended
    assert ended["duration_ms"] == round(ended["duration"] * 1000), ended
    assert ended["answered_at"] and ended["ended_at"] and ended["started_at"], ended
    said = " ".join(t["text"] for t in ended["transcript"] if t["speaker"] == "agent")
    assert "this is Parley calling" in said, ended["transcript"]
    # the same event, to the hook that only wants call.ended
    assert set(rx.delivered("/ended")) == {"call.ended"}
    assert len(rx.delivered("/ended")["call.ended"]) == 1
    assert rx.delivered("/ended")["call.ended"][0]["id"] == got["call.ended"][0]["id"]
    # an inactive hook and another tenant's hook get nothing
    assert not rx.got("/off") and not rx.got("/other")

    # the delivery log: one row per request, delivered at the first try
    log = deliveries(api, h_all)
    assert sorted(d["id"] for d in log) == sorted(r.delivery for r in rx.got("/all"))
    for d in log:
        assert d["status"] == "delivered" and d["attempts"] == 1, d
        assert d["last_status"] == 200 and d["delivered_at"], d
        assert "last_error" not in d, d
    assert [d["event"] for d in deliveries(api, h_ended)] == ["call.ended"]
    assert deliveries(api, h_off) == []
    # another tenant sees none of it, nor its own hook's (empty) log elsewhere
    assert other.get("/api/v1/webhooks/%d/deliveries" % h_all["id"]).status == 404
    assert deliveries(other, h_other) == []
    # secrets stay out of the API and the logs
    for h in (h_all, h_ended):
        body = api.get("/api/v1/webhooks/%d" % h["id"]).body
        assert SECRET not in body and SECRET2 not in body
    assert SECRET not in server.output() and SECRET2 not in server.output()


def test_notification_call(server, api, rx, tmp_path):
    """A one-way message: notification_delivered, the agent hangs up (no
    user_hangup), and no conversation is started."""
    hook = webhook(api, rx.hook("/n", SECRET))
    with callee(tmp_path, "answer") as ce:
        agent = ok(api.post("/api/v1/agents", {"name": "Notifier"}), 201)
        call = dial(api, agent, trunk_to(api, ce), message="Your prescription is ready.")
        wait_ended(api, call)
    rx.wait(lambda: "call.ended" in rx.delivered("/n"))
    time.sleep(0.5)
    got = rx.delivered("/n")
    assert sorted(got) == sorted(["call.initiated", "call.ringing", "call.answered",
                                  "notification_delivered", "call.ended"]), got
    assert all(len(v) == 1 for v in got.values()), got
    ended = got["call.ended"][0]["data"]
    assert ended["by"] == "agent" and ended["outcome"] == "answered", ended
    assert "Your prescription is ready." in [t["text"] for t in ended["transcript"]], ended
    assert all(r.verified for r in rx.got("/n"))
    assert len(deliveries(api, hook)) == 5


def gaps(times):
    return [b - a for a, b in zip(times, times[1:])]


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_failing_receiver_retries_with_backoff(make_server, rx, tmp_path):
    """A receiver that answers 500 for two seconds, then recovers, gets
    every event exactly once; the log shows the failed attempts and the
    doubling waits between them. One that never recovers gets
    events.max_attempts tries and the row is failed."""
    server = make_server(env=dict(FAST, PARLEY_EVENTS_MAX_ATTEMPTS="5"))
    api = server.client(server.new_key("acme"))
    first = []

    def flaky(req):
        if not first:
            first.append(req.at)
        return 200 if req.at - first[0] >= 2.0 else 500
    h_flaky = webhook(api, rx.hook("/flaky", SECRET, flaky))
    h_down = webhook(api, rx.hook("/down", SECRET, 503), events=["call.ended"])
    with callee(tmp_path, "busy") as ce:
        agent = ok(api.post("/api/v1/agents", {"name": "A"}), 201)
        trunk = trunk_to(api, ce)
        calls = [dial(api, agent, trunk) for _ in range(2)]
        for c in calls:
            row = wait_ended(api, c)
            assert row["outcome"] == "busy", row

    # while it fails, the log says so and when the next try is due
    rx.wait(lambda: len(rx.got("/flaky", ok=False)) >= 4, what="failed attempts")
    failing = [d for d in deliveries(api, h_flaky) if d["attempts"] >= 1 and
               d["status"] == "pending"]
    assert failing, deliveries(api, h_flaky)
    for d in failing:
        assert d["last_status"] == 500, d
        assert d["last_error"].startswith("HTTP 500"), d
        assert d["next_attempt_at"] > d["updated_at"], d

    # 2 calls x (call.initiated, call.ended) -- busy never rang
    rx.wait(lambda: len(rx.got("/flaky", ok=True)) >= 4, timeout=20, what="recovery")
    rx.wait(lambda: all(d["status"] == "failed" for d in deliveries(api, h_down)) and
            len(deliveries(api, h_down)) == 2, timeout=25, what="the dead hook to fail")
    time.sleep(0.5)
    ok_reqs = rx.got("/flaky", ok=True)
    ids = [r.json["id"] for r in ok_reqs]
    assert len(ids) == len(set(ids)) == 4, ok_reqs       # exactly once each
    assert sorted(r.type for r in ok_reqs) == ["call.ended"] * 2 + ["call.initiated"] * 2
    assert {r.json["call_id"] for r in ok_reqs} == {c["id"] for c in calls}
    assert all(r.verified for r in rx.got())

    by_delivery = {}
    for r in rx.got("/flaky"):
        by_delivery.setdefault(r.delivery, []).append(r)
    log = {d["id"]: d for d in deliveries(api, h_flaky)}
    assert set(log) == set(by_delivery)
    for did, reqs in by_delivery.items():
        d = log[did]
        assert [r.status for r in reqs][-1] == 200 and \
            all(r.status == 500 for r in reqs[:-1]), reqs
        assert d["status"] == "delivered" and d["attempts"] == len(reqs), (d, reqs)
        assert d["last_status"] == 200 and "last_error" not in d, d
        assert len(reqs) >= 2, reqs
        # waits of 0.4 s, 0.8 s, 1.6 s (+ up to 25% jitter, + polling)
        for i, g in enumerate(gaps([r.at for r in reqs])):
            want = 0.4 * 2 ** i
            assert want - 0.05 <= g <= want * 1.25 + 0.45, (i, g, reqs)
        # one signature per attempt, each over its own timestamp
        assert len({r.headers["X-Parley-Signature"] for r in reqs}) >= 1
        assert len({r.body for r in reqs}) == 1

    for d in deliveries(api, h_down):
        assert d["status"] == "failed" and d["attempts"] == 5, d
        assert d["last_status"] == 503 and d["last_error"].startswith("HTTP 503"), d
        assert "delivered_at" not in d, d
        reqs = [r for r in rx.got("/down") if r.delivery == d["id"]]
        assert len(reqs) == 5, reqs
        assert all(want - 0.05 <= g <= want * 1.25 + 0.45 for want, g in
                   zip([0.4, 0.8, 1.6, 3.2], gaps([r.at for r in reqs]))), reqs


def insert_outbox(database, hook_id, n, event="call.ended", status="pending", due=None):
    tid = int(database.sql("SELECT tenant_id FROM webhooks WHERE id = %d" % hook_id)[0][0])
    now = int(time.time() * 1000)
    values = ",".join(
        "(%d, %d, %d, %d, '%s', '{\"id\":\"evt_t%d\",\"type\":\"%s\",\"data\":{}}', "
        "'%s', 0, %d)" % (tid, now, now, hook_id, event, i, event, status,
                          now if due is None else due)
        for i in range(n))
    database.sql("INSERT INTO webhook_outbox (tenant_id, created_at, updated_at, webhook_id, "
                 "event, payload, status, attempts, next_attempt_at) VALUES " + values)


def test_two_nodes_deliver_each_row_once(make_server, database, rx):
    """Two servers on one store claim from the same outbox: every row is
    POSTed exactly once, by one node or the other."""
    a = make_server(env=dict(FAST, PARLEY_EVENTS_CONCURRENCY="8"))
    api = a.client(a.new_key("acme"))
    hook = webhook(api, rx.hook("/shared", SECRET))
    b = make_server(env=dict(FAST, PARLEY_EVENTS_CONCURRENCY="8"))
    rx.delays["/shared"] = 0.02
    insert_outbox(database, hook["id"], 300)
    rx.wait(lambda: len(rx.got("/shared")) >= 300, timeout=60, what="300 deliveries")
    time.sleep(1.0)
    reqs = rx.got("/shared")
    ids = [r.delivery for r in reqs]
    assert len(ids) == len(set(ids)) == 300, len(ids)
    assert all(r.verified for r in reqs)
    rows = database.sql("SELECT status, attempts FROM webhook_outbox")
    assert rows == [["delivered", "1"]] * 300
    assert a.proc.poll() is None and b.proc.poll() is None


def test_shutdown_waits_for_deliveries_in_flight(make_server, database, rx):
    server = make_server(env=FAST)
    api = server.client(server.new_key("acme"))
    hook = webhook(api, rx.hook("/slow", SECRET))
    rx.delays["/slow"] = 2.0
    insert_outbox(database, hook["id"], 3)
    rx.wait(lambda: len(rx.got("/slow")) == 3, what="the POSTs to start")
    t0 = time.time()
    server.stop()          # SIGTERM; exit status 0 and no sanitizer report
    assert time.time() - t0 >= 1.5
    assert all(r.status == 200 for r in rx.got("/slow"))
    rows = database.sql("SELECT status, attempts, last_status FROM webhook_outbox")
    assert rows == [["delivered", "1", "200"]] * 3


def test_unreachable_receiver_and_lease(make_server, database, rx):
    """No receiver at all: the attempt fails with a connection error; a
    row left 'sending' by a node that died is taken again once its lease
    has run out."""
    server = make_server(env=dict(FAST, PARLEY_EVENTS_RETRY_BASE="60000"))
    api = server.client(server.new_key("acme"))
    dead = webhook(api, "http://127.0.0.1:%d/none" % peers.free_port())
    insert_outbox(database, dead["id"], 1)
    deadline = time.time() + 10
    while time.time() < deadline:
        d = deliveries(api, dead)[0]
        if d["attempts"] == 1:
            break
        time.sleep(0.1)
    assert d["status"] == "pending" and "last_status" not in d, d
    assert d["last_error"].startswith("connection failed"), d

    live = webhook(api, rx.hook("/late", SECRET))
    now = int(time.time() * 1000)
    # as if a node had claimed it and died: its lease ends in a second
    insert_outbox(database, live["id"], 1, status="sending", due=now + 1000)
    time.sleep(0.6)
    assert not rx.got("/late")
    rx.wait(lambda: rx.got("/late", ok=True), timeout=5, what="the reclaimed row")
    assert rx.got("/late")[0].at >= now / 1000.0 + 0.9
