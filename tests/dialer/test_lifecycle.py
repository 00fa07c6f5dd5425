"""A campaign's life cycle through the API and `parley campaign`: the
transitions allowed and the 409s of the others, 404 for unknown and other
tenants' campaigns, pausing that stops dialling, resuming, cancelling
that drops queued calls; `parley campaign status --watch`; seed 003's
POST /api/outbound-call dialled by the same scheduler; a callee who asks
not to be called again."""
import subprocess
import time

import pytest

from conftest import PARLEY, SAN_ENV
from dialer_helpers import (AGENT, Farm, calls_of, dialer_env, offset_for,
                            setup_campaign, stats, tasks_of, wait_state)

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)

C = "/api/v1/campaigns"
ACTIONS = ("start", "pause", "resume", "cancel")


def error(r, status, code):
    assert r.status == status, r
    assert r.headers.get("Content-Type", "").startswith("application/json"), r.headers
    e = r.json["error"]
    assert e["code"] == code and e["message"], r
    return e["message"]


def cli(server, key, *args):
    env = dict(server.env, PARLEY_API_KEY=key, **SAN_ENV)
    return subprocess.run([PARLEY, "campaign"] + list(args) + ["--server", server.url],
                          env=env, capture_output=True, text=True, timeout=120)


def world(api, port=9):
    a = api.post("/api/v1/agents", {"name": "A"}).json["id"]
    t = api.post("/api/v1/trunks", {"name": "T", "sip_uri": "sip:127.0.0.1:%d" % port}).json
    c = api.post(C, {"name": "Spring", "agent_id": a, "trunk_id": t["id"]})
    assert c.status == 201, c
    return c.json["id"]


def test_transitions_and_errors(server):
    """The dialer is off here: only the API's state machine is tested."""
    api = server.client(server.new_key("acme"))
    other = server.client(server.new_key("globex"))
    cid = world(api)

    s = stats(api, cid)
    assert s["state"] == "draft" and s["contacts"] == 0 and s["tasks"]["total"] == 0
    assert s["progress"] == {"finished": 0, "total": 0, "percent": 0}
    assert "started_at" not in s and s["answer_rate"] == 0

    for action in ("pause", "resume"):
        msg = error(api.post("%s/%d/%s" % (C, cid, action)), 409, "invalid_transition")
        assert "draft" in msg, msg
    error(api.post("%s/%d/start" % (C, cid)), 409, "no_contacts")
    r = api.post("/api/v1/contacts/import?campaign_id=%d" % cid,
                 [{"phone": "+1212555%04d" % i} for i in range(3)])
    assert r.status == 200, r

    r = api.post("%s/%d/start" % (C, cid))
    assert r.status == 200 and r.json["state"] == "running" and r.json["started_at"], r
    started = r.json["started_at"]
    # the start made the contacts' tasks (the dialer, off here, calls them)
    s = stats(api, cid)
    assert s["tasks"]["queued"] == s["tasks"]["total"] == s["contacts"] == 3, s
    for action, code in (("start", 409), ("resume", 409)):
        msg = error(api.post("%s/%d/%s" % (C, cid, action)), code, "invalid_transition")
        assert "running" in msg
    assert api.post("%s/%d/pause" % (C, cid)).json["state"] == "paused"
    error(api.post("%s/%d/pause" % (C, cid)), 409, "invalid_transition")
    error(api.post("%s/%d/start" % (C, cid)), 409, "invalid_transition")
    r = api.post("%s/%d/resume" % (C, cid))
    assert r.status == 200 and r.json["state"] == "running"
    assert r.json["started_at"] == started
    r = api.post("%s/%d/cancel" % (C, cid))
    assert r.status == 200 and r.json["state"] == "cancelled" and r.json["completed_at"]
    for action in ACTIONS:
        msg = error(api.post("%s/%d/%s" % (C, cid, action)), 409, "invalid_transition")
        assert "cancelled" in msg
    assert api.get("%s/%d" % (C, cid)).json["state"] == "cancelled"
    s = stats(api, cid)
    assert s["tasks"]["cancelled"] == s["outcomes"]["cancelled"] == 3, s
    assert s["progress"]["percent"] == 100, s

    # a draft may be cancelled too
    c2 = world(api)
    assert api.post("%s/%d/cancel" % (C, c2)).json["state"] == "cancelled"

    # unknown campaigns and other tenants' campaigns: 404, nothing changes
    c3 = world(api)
    for path in ["%s/%d/%s" % (C, cid, a) for a in ACTIONS] + \
            ["%s/%d/%s" % (C, c3, a) for a in ACTIONS]:
        error(other.post(path), 404, "not_found")
    for path in ["%s/999999/%s" % (C, a) for a in ACTIONS]:
        error(api.post(path), 404, "not_found")
    error(api.get("%s/999999/stats" % C), 404, "not_found")
    error(other.get("%s/%d/stats" % (C, cid)), 404, "not_found")
    error(other.get("%s/%d/stats" % (C, c3)), 404, "not_found")
    assert api.get("%s/%d" % (C, c3)).json["state"] == "draft"
    error(api.get("%s/%d/start" % (C, cid)), 405, "method_not_allowed")
    error(api.post("%s/%d/stats" % (C, cid)), 405, "method_not_allowed")
    error(api.post("%s/%d/start?force=1" % (C, c3)), 400, "invalid_query")
    error(server.client().post("%s/%d/start" % (C, c3)), 401, "unauthorized")

    # the command line says what the API said
    key = api.key
    r = cli(server, key, "start", str(c3))
    assert r.returncode == 1 and "no contacts" in r.stderr, r
    r = cli(server, key, "pause", str(cid))
    assert r.returncode == 1 and "409" in r.stderr and "cancelled" in r.stderr, r
    r = cli(server, key, "pause", "999999")
    assert r.returncode == 1 and "404" in r.stderr, r
    r = cli(server, key, "status", str(cid))
    assert r.returncode == 0 and "cancelled" in r.stdout and "[" in r.stdout, r
    r = cli(server, key, "launch", str(cid))
    assert r.returncode == 2, r
    r = cli(server, key, "start", "abc")
    assert r.returncode == 2, r


def test_pause_resume_cancel(make_server, tmp_path):
    numbers = ["+12125554%03d" % i for i in range(30)]
    farm = Farm(str(tmp_path / "farm"), {n: "human-hangup1" for n in numbers})
    farm.start()
    srv = make_server(env=dialer_env(str(tmp_path), PARLEY_DIALER_CLOCK_OFFSET=offset_for(
        "America/New_York", 12)))
    key = srv.new_key("acme")
    api = srv.client(key)
    try:
        _, _, cid = setup_campaign(api, farm, [{"phone": n} for n in numbers],
                                   pacing={"max_concurrent": 2, "calls_per_second": 2})
        r = cli(srv, key, "start", str(cid))
        assert r.returncode == 0 and r.stdout.strip() == "campaign %d: running" % cid, r
        farm.wait_count("invite", 3, timeout=20)

        r = cli(srv, key, "pause", str(cid))
        assert r.returncode == 0 and "paused" in r.stdout, r
        # calls in progress finish; then nothing more is dialled
        deadline = time.time() + 10
        while stats(api, cid)["tasks"]["dialing"] and time.time() < deadline:
            time.sleep(0.2)
        n = farm.count("invite")
        time.sleep(2.5)
        assert farm.count("invite") == n
        s = stats(api, cid)
        assert s["state"] == "paused" and s["tasks"]["dialing"] == 0, s
        assert s["tasks"]["queued"] == 30 - n, s

        r = cli(srv, key, "resume", str(cid))
        assert r.returncode == 0 and "running" in r.stdout, r
        farm.wait_count("invite", n + 2, timeout=20)

        r = api.post("%s/%d/cancel" % (C, cid))
        assert r.status == 200 and r.json["state"] == "cancelled", r
        deadline = time.time() + 10
        while stats(api, cid)["tasks"]["dialing"] and time.time() < deadline:
            time.sleep(0.2)
        m = farm.count("invite")
        time.sleep(2)
        assert farm.count("invite") == m < 30
        s = stats(api, cid)
        assert s["state"] == "cancelled" and s["tasks"]["queued"] == 0, s
        assert s["tasks"]["cancelled"] == 30 - m and s["outcomes"]["cancelled"] == 30 - m, s
        assert s["outcomes"]["answered"] == m, s
    finally:
        farm.stop(check=False)


def test_status_watch_until_completed(make_server, database, tmp_path):
    numbers = ["+12125555%03d" % i for i in range(6)]
    farm = Farm(str(tmp_path / "farm"), {n: "human-hangup1" for n in numbers})
    farm.start()
    srv = make_server(env=dialer_env(str(tmp_path), PARLEY_DIALER_CLOCK_OFFSET=offset_for(
        "America/New_York", 12)))
    key = srv.new_key("acme")
    api = srv.client(key)
    try:
        _, _, cid = setup_campaign(api, farm, [{"phone": n} for n in numbers])
        assert api.post("%s/%d/start" % (C, cid)).status == 200
        r = cli(srv, key, "status", str(cid), "--watch", "--interval", "0.2")
        assert r.returncode == 0, r
        lines = r.stdout.strip().splitlines()
        # not a terminal: one line per change, the last one final
        assert len(lines) >= 2, r.stdout
        assert lines[-1].startswith("completed 100.0% finished 6/6"), lines
        assert "done 6" in lines[-1], lines
        s = stats(api, cid)
        assert s["state"] == "completed" and s["completed_at"]
        assert s["outcomes"]["answered"] == 6 and s["attempts"] == 6
        assert s["calls"] == {"total": 6, "active": 0, "answered": 6}
        assert s["answer_rate"] == 1
        # the calls carry the contact's variables and the campaign's prompt
        calls = calls_of(database, cid)
        assert {c["attempt"] for c in calls} == {1}
        assert all(c["contact_id"] for c in calls)
    finally:
        farm.stop(check=False)


def test_outbound_call_goes_through_the_dialer(make_server, database, tmp_path):
    farm = Farm(str(tmp_path / "farm"), {"+12125556000": "human-hangup1",
                                         "+12125556001": "busy",
                                         "+12125556002": "human-hangup1"})
    farm.start()
    srv = make_server(env=dialer_env(str(tmp_path)))
    api = srv.client(srv.new_key("acme"))
    try:
        a = api.post("/api/v1/agents", AGENT).json["id"]
        t = api.post("/api/v1/trunks", {"name": "farm", "sip_uri": "sip:127.0.0.1:%d"
                                        % farm.sip_port}).json["id"]
        assert api.post("/api/v1/dnc", {"phone": "+12125556002"}).status == 201
        ids = []
        for body in ({"to_number": "+12125556000", "agent_id": a, "trunk_id": t,
                      "caller_name": "Acme", "greeting": "Hello from Acme."},
                     {"to_number": "+12125556001"},
                     {"to_number": "+12125556002"}):
            r = api.post("/api/outbound-call", body)
            assert r.status == 202, r
            ids.append(r.json["task_id"])
        deadline = time.time() + 20
        while time.time() < deadline:
            tasks = [api.get("/api/v1/call-tasks/%d" % i).json for i in ids]
            if all(x["status"] in ("done", "failed") for x in tasks):
                break
            time.sleep(0.2)
        got = [(x["status"], x.get("final_outcome"), x["attempt"]) for x in tasks]
        assert got == [("done", "answered", 1), ("failed", "busy", 1),
                       ("done", "dnc", 0)], tasks
        # the minimal body got the tenant's agent and trunk
        assert tasks[1]["agent_id"] == a and tasks[1]["trunk_id"] == t
        calls = api.get("/api/v1/calls?limit=10").json["data"]
        assert sorted(c["task_id"] for c in calls) == sorted(ids[:2])
        assert all(c["attempt"] == 1 and "campaign_id" not in c for c in calls)
        assert farm.invites() == {"+12125556000": 1, "+12125556001": 1}
    finally:
        farm.stop(check=False)


def test_callee_asks_not_to_be_called(make_server, database, tmp_path):
    numbers = ["+12125557000", "+12125557001"]
    farm = Farm(str(tmp_path / "farm"), {n: "human" for n in numbers})
    farm.start()
    srv = make_server(env=dialer_env(str(tmp_path), PARLEY_DIALER_CLOCK_OFFSET=offset_for(
        "America/New_York", 12)))
    api = srv.client(srv.new_key("acme"))
    scenario = {"start": "optout", "steps": {
        "optout": {"type": "dnc", "text": "You will not be called again.", "next": "bye"},
        "bye": {"type": "hangup", "text": "Goodbye."}}}
    try:
        _, _, cid = setup_campaign(api, farm, [{"phone": n} for n in numbers],
                                   agent={"llm": {"provider": "scenario"},
                                          "scenario": scenario,
                                          "turn": {"barge_in": False}})
        assert api.post("%s/%d/start" % (C, cid)).status == 200
        s = wait_state(api, cid, "completed", 40)
        assert s["outcomes"]["dnc"] == 2 and s["attempts"] == 2, s
        tasks = tasks_of(database, cid)
        assert [(t["status"], t["final_outcome"], t["attempt"]) for t in tasks] == \
            [("done", "dnc", 1)] * 2
        rows = database.sql("SELECT phone, campaign_id, source FROM dnc ORDER BY phone")
        assert rows == [[n, str(cid), "call"] for n in numbers], rows
        assert farm.invites() == {n: 1 for n in numbers}
    finally:
        farm.stop(check=False)
