"""Blind transfer (REFER) of a caller to a third party: baresip A calls
Parley, POST /api/v1/calls/{id}/transfer sends A a REFER to baresip B; A
calls B, reports the outcome in NOTIFYs, and Parley leaves the call on
success or keeps it when B refuses."""
import os
import time

import pytest

from tel_helpers import audio, latest_call, peers, setup_inbound, sip_port, wait_call

pytestmark = [
    pytest.mark.parametrize("backend", ["sqlite"], indirect=True),
    pytest.mark.skipif(not os.path.exists("/usr/bin/baresip"),
                       reason="baresip-core is needed (scripts/deps.sh --test)"),
]

NUMBER = "+14155550001"
A_HZ = 600


def types(call):
    return [e["type"] for e in call["events"]]


def event(call, type_):
    evs = [e for e in call["events"] if e["type"] == type_]
    assert evs, (type_, types(call))
    return evs[-1]


def call_in(api, server, a):
    a.dial("sip:%s@127.0.0.1:%d" % (NUMBER, sip_port(server)))
    a.wait_event("CALL_ESTABLISHED", timeout=10)
    call = latest_call(api)
    return wait_call(api, call["id"], lambda c: c["status"] == "answered")


def test_blind_transfer_to_second_baresip(server, api, tmp_path):
    setup_inbound(api, number=NUMBER, first_message="Transferring you now.")
    tone = audio.concat(audio.silence(0.3), audio.tone(A_HZ, 30, amp=0.4))
    with peers.Baresip(str(tmp_path / "b"), user="bob", auto_answer=True) as b, \
            peers.Baresip(str(tmp_path / "a"), audio_wav=tone) as a:
        call = call_in(api, server, a)
        r = api.post("/api/v1/calls/%d/transfer" % call["id"], {"to": b.uri})
        assert r.status == 202, r
        b.wait_event("CALL_ESTABLISHED", timeout=10)
        ended = wait_call(api, call["id"], lambda c: c["status"] == "ended",
                          timeout=10)
        # A's call with Parley closed, its new call with B goes on
        a.wait_event("CALL_CLOSED", timeout=5,
                     pred=lambda e: NUMBER in e.get("peeruri", ""))
        time.sleep(2.0)
        assert not b.events("CALL_CLOSED"), b.events()
        b.command("hangup")
        b.wait_event("CALL_CLOSED", timeout=5)
        b_heard = b.received_audio()
        # a second transfer of an ended call is refused
        r = api.post("/api/v1/calls/%d/transfer" % call["id"], {"to": b.uri})
        assert r.status == 409, r
    assert ended["hangup_by"] == "agent" and ended["hangup_cause"] == "transferred", ended
    assert ended["outcome"] == "answered"
    t = types(ended)
    assert t.index("transfer.requested") < t.index("transfer.succeeded") < \
        t.index("call.ended"), t
    assert event(ended, "transfer.requested")["data"]["to"] == b.uri
    assert event(ended, "transfer.succeeded")["data"]["sip_code"] == 200
    assert "transfer.failed" not in t
    # B heard A's tone: the transferred call carries audio
    assert len(b_heard) > 8000, len(b_heard)
    assert abs(audio.dominant_freq(b_heard[4000:]) - A_HZ) < 10


def test_refused_transfer_keeps_the_call(server, api, tmp_path):
    setup_inbound(api, number=NUMBER, first_message="Let me try to transfer you.")
    with peers.Baresip(str(tmp_path / "b"), user="bob", auto_answer="reject") as b, \
            peers.Baresip(str(tmp_path / "a"), record=False) as a:
        call = call_in(api, server, a)
        path = "/api/v1/calls/%d" % call["id"]
        r = api.post(path + "/transfer", {"to": b.uri})
        assert r.status == 202, r
        b.wait_event("CALL_CLOSED", timeout=10)
        failed = wait_call(api, call["id"],
                           lambda c: "transfer.failed" in types(c), timeout=10)
        assert failed["status"] == "answered", failed
        assert event(failed, "transfer.failed")["data"]["sip_code"] == 486
        # still connected both ways: Parley's DTMF reaches A, A's reaches Parley
        time.sleep(0.5)
        assert api.post(path + "/dtmf", {"digits": "42"}).status == 202
        assert a.wait_event("CALL_DTMF_START", timeout=5)["param"] == "4"
        assert a.wait_event("CALL_DTMF_START", timeout=5)["param"] == "2"
        a.send_dtmf("9")
        wait_call(api, call["id"], lambda c: any(
            e["type"] == "dtmf" and e["data"]["digit"] == "9" for e in c["events"]))
        # a new transfer attempt may start once the last one ended
        assert api.post(path + "/transfer", {"to": b.uri}).status == 202
        wait_call(api, call["id"], lambda c: types(c).count("transfer.failed") == 2,
                  timeout=10)
        # only A's attempts to reach B closed, never its call with Parley
        closed = a.events("CALL_CLOSED")
        assert len(closed) == 2 and all(b.uri in e["peeruri"] for e in closed), closed
        r = api.post(path + "/hangup")
        assert r.status == 202, r
        a.wait_event("CALL_CLOSED", timeout=5)
        ended = wait_call(api, call["id"], lambda c: c["status"] == "ended")
    assert ended["hangup_by"] == "agent" and ended["hangup_cause"] == "api_hangup", ended
    assert "transfer.succeeded" not in types(ended)


def test_transfer_refused_by_callee_tool_busy(server, api, tmp_path):
    """The same with a libre peer as the target (486 from the callee tool's
    busy user); bad targets; one transfer at a time."""
    setup_inbound(api, number=NUMBER, first_message="One moment please.")
    with peers.Callee(str(tmp_path / "callee"), record=False) as c, \
            peers.Baresip(str(tmp_path / "a"), record=False) as a:
        call = call_in(api, server, a)
        path = "/api/v1/calls/%d/transfer" % call["id"]
        for bad in ({}, {"to": ""}, {"to": "bob@example.com"}, {"to": 5},
                    {"to": "sip:"}, {"to": "sip:bob@127.0.0.1>;x=<sip:eve@h"},
                    {"to": "sip:bob@127.0.0.1\r\nX-Injected: 1"}):
            r = api.post(path, bad)
            assert r.status == 400, (bad, r)
        assert "transfer.requested" not in types(api.get("/api/v1/calls/%d" % call["id"]).json)
        assert api.post(path, {"to": c.uri("busy1")}).status == 202
        assert c.wait_event("reply", timeout=10)["code"] == 486
        failed = wait_call(api, call["id"],
                           lambda c_: "transfer.failed" in types(c_), timeout=10)
        assert event(failed, "transfer.failed")["data"]["sip_code"] == 486
        assert failed["status"] == "answered"
        # a target that rings on: the transfer stays pending, and another
        # one is refused meanwhile
        assert api.post(path, {"to": c.uri("noanswer1")}).status == 202
        c.wait_event("invite", timeout=10, pred=lambda e: e.get("user") == "noanswer1")
        r = api.post(path, {"to": c.uri("busy2")})
        assert r.status == 409, r
        r = api.post("/api/v1/calls/%d/hangup" % call["id"])
        assert r.status == 202, r
        a.wait_event("CALL_CLOSED", timeout=5, pred=lambda e: NUMBER in e.get("peeruri", ""))
        ended = wait_call(api, call["id"], lambda c_: c_["status"] == "ended")
    assert ended["hangup_by"] == "agent" and ended["hangup_cause"] == "api_hangup", ended
    t = types(ended)
    assert t.count("transfer.requested") == 2 and t.count("transfer.failed") == 1, t
    assert [e["data"]["to"] for e in ended["events"] if e["type"] == "transfer.requested"] \
        == [c.uri("busy1"), c.uri("noanswer1")]
