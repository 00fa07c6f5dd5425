"""Outbound calls: Parley dials through a trunk (digest auth with 407 and
401 challenges, or none) to the scripted callee or to baresip, and the
calls row, its events and both directions of audio are checked; then
final responses and timeouts as outcomes, POST /api/v1/calls validation
and trunk checks (OPTIONS).

The API dials E.164 numbers only, so the callee's behaviour (busy1,
noanswer1, ...) is chosen with its --behaviour option rather than by the
dialled user."""
import os
import re
import signal
import socket
import threading
import time

import numpy as np
import pytest

from tel_helpers import audio, peers, wait_call

GREETING = ("Hello, this is Parley calling about your appointment tomorrow "
            "morning. Please stay on the line.")
NUMBER = "+14155550123"

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


def make_agent(api, first_message=GREETING):
    r = api.post("/api/v1/agents", {"name": "Caller", "first_message": first_message})
    assert r.status == 201, r
    return r.json


def make_trunk(api, port, transport=None, username=None, password=None,
               caller_id=None, host="127.0.0.1"):
    body = {"name": "out-%d" % port, "sip_uri": "sip:%s:%d" % (host, port)}
    if transport:
        body["transport"] = transport
    if username is not None:
        body["username"] = username
        body["password"] = password
    if caller_id:
        body["caller_id"] = caller_id
    r = api.post("/api/v1/trunks", body)
    assert r.status == 201, r
    return r.json


def dial(api, agent, trunk=None, to=NUMBER, from_=None):
    body = {"agent_id": agent["id"], "to": to}
    if trunk is not None:
        body["trunk_id"] = trunk["id"]
    if from_:
        body["from"] = from_
    r = api.post("/api/v1/calls", body)
    assert r.status == 201, r
    assert r.json["status"] == "initiated" and r.json["direction"] == "outbound", r
    return r.json


def ended(api, call, timeout=15.0):
    """The row once ended; its call.ended event is written just after."""
    return wait_call(api, call["id"], lambda c: c["status"] == "ended" and
                     "call.ended" in event_types(c), timeout)


def event_types(call):
    return [e["type"] for e in call["events"]]


def recording_of(server, call):
    rec = [e for e in call["events"] if e["type"] == "recording.started"]
    assert rec, event_types(call)
    return audio.load(os.path.join(server.tmpdir, rec[0]["data"]["path"]), channel=0)


def assert_speech(x, secs=4.0):
    """Speech, not silence and not a steady tone: energy in the voice band,
    and a level that comes and goes from one 20 ms frame to the next."""
    x = x[:int(8000 * secs)]
    assert len(x) > 8000, len(x)
    assert audio.rms_dbfs(x) > -40, audio.rms_dbfs(x)
    spec = np.abs(np.fft.rfft(x)) ** 2
    freqs = np.fft.rfftfreq(len(x), 1.0 / 8000)
    band = spec[(freqs >= 200) & (freqs <= 3400)].sum() / spec.sum()
    assert band > 0.8, band
    levels = [audio.rms_dbfs(x[i:i + 160]) for i in range(0, len(x) - 160, 160)]
    assert np.std(levels) > 6, np.std(levels)


def callee(tmp_path, name="callee", behaviour=None, **kw):
    c = peers.Callee(str(tmp_path / name), **kw)
    if behaviour:
        c.args += ["--behaviour", behaviour]
    return c


def closed_port():
    """A loopback port nothing listens on (TCP and UDP)."""
    return peers.free_port()


# ------------------------------------------------------------ answered calls

@pytest.mark.parametrize("www_auth", [False, True], ids=["407", "401"])
def test_digest_trunk_answered_two_way_audio_agent_hangs_up(server, api, tmp_path,
                                                            www_auth):
    with callee(tmp_path, user="trunkuser", password="s3cret",
                www_auth=www_auth, ring_ms=1500) as ce:
        agent = make_agent(api)
        trunk = make_trunk(api, ce.sip_port, username="trunkuser", password="s3cret")
        call = dial(api, agent, trunk)
        ch = ce.wait_event("challenge", timeout=10)
        assert ch["code"] == (401 if www_auth else 407)
        inv = ce.wait_event("invite", timeout=10, pred=lambda e: e["auth"])
        assert inv["user"] == NUMBER
        wait_call(api, call["id"], lambda c: c["status"] == "ringing", timeout=1.4)
        ans = ce.wait_event("answered", timeout=10)
        wait_call(api, call["id"], lambda c: c["status"] == "answered")
        time.sleep(5.0)
        r = api.post("/api/v1/calls/%d/hangup" % call["id"])
        assert r.status == 202, r
        ce.wait_event("bye", timeout=10)
        row = ended(api, call)
        heard = audio.load(ce.recording(ans["callid"]))
    assert row["outcome"] == "answered" and row["sip_code"] == 200, row
    assert row["hangup_by"] == "agent", row
    assert row["sip_call_id"] == ans["callid"], row
    assert row["created_at"] <= row["ringing_at"] <= row["answered_at"] <= row["ended_at"]
    types = event_types(row)
    assert types.index("call.ringing") < types.index("call.answered") < \
        types.index("call.ended"), types
    # the callee heard the greeting: speech, not silence
    assert_speech(heard)
    # Parley recorded the callee's 440 Hz tone
    got = recording_of(server, row)
    assert len(got) > 8000 * 3
    assert abs(audio.dominant_freq(got[8000:]) - 440) < 15


def test_callee_hangs_up(server, api, tmp_path):
    with callee(tmp_path, behaviour="answer_hangup3", user="u", password="p") as ce:
        agent = make_agent(api)
        trunk = make_trunk(api, ce.sip_port, username="u", password="p")
        call = dial(api, agent, trunk)
        ce.wait_event("answered", timeout=10)
        ce.wait_event("hangup", timeout=10)
        row = ended(api, call)
    assert row["outcome"] == "answered" and row["hangup_by"] == "callee", row
    assert row["hangup_cause"] == "bye", row
    assert row["answered_at"] < row["ended_at"]


def test_baresip_answers_two_way_audio(server, api, tmp_path):
    tone = audio.concat(audio.silence(0.3), audio.tone(660, 8.0, amp=0.4))
    with peers.Baresip(str(tmp_path / "bs"), user=NUMBER, audio_wav=tone) as bs:
        agent = make_agent(api)
        trunk = make_trunk(api, bs.sip_port)
        call = dial(api, agent, trunk)
        bs.wait_event("CALL_ESTABLISHED", timeout=10)
        wait_call(api, call["id"], lambda c: c["status"] == "answered")
        time.sleep(5.0)
        r = api.post("/api/v1/calls/%d/hangup" % call["id"])
        assert r.status == 202, r
        closed = bs.wait_event("CALL_CLOSED", timeout=10)
        row = ended(api, call)
        heard = bs.received_audio()
    assert "reset by peer" in closed.get("param", ""), closed
    assert row["outcome"] == "answered" and row["hangup_by"] == "agent", row
    assert_speech(heard)
    got = recording_of(server, row)
    assert len(got) > 8000 * 3
    assert abs(audio.dominant_freq(got[8000:]) - 660) < 15


def test_baresip_early_media_then_answer(server, api, tmp_path):
    """183 Session Progress with SDP: the call rings with early media, and
    the later 200 OK still gives two-way audio."""
    tone = audio.concat(audio.silence(0.3), audio.tone(520, 12.0, amp=0.4))
    with peers.Baresip(str(tmp_path / "bs"), user=NUMBER, audio_wav=tone,
                       auto_answer="early") as bs:
        agent = make_agent(api)
        trunk = make_trunk(api, bs.sip_port)
        call = dial(api, agent, trunk)
        row = wait_call(api, call["id"], lambda c: c["status"] == "ringing" and
                        "call.early_media" in event_types(c))
        early = [e for e in row["events"] if e["type"] == "call.early_media"]
        assert early[0]["data"]["sip_code"] == 183, row
        time.sleep(1.0)
        bs.answer()
        bs.wait_event("CALL_ESTABLISHED", timeout=10)
        wait_call(api, call["id"], lambda c: c["status"] == "answered")
        time.sleep(5.0)
        api.post("/api/v1/calls/%d/hangup" % call["id"])
        bs.wait_event("CALL_CLOSED", timeout=10)
        row = ended(api, call)
        heard = bs.received_audio()
    assert row["outcome"] == "answered" and row["hangup_by"] == "agent", row
    assert row["ringing_at"] < row["answered_at"] < row["ended_at"]
    # baresip records from the 183 on; the greeting starts at the answer
    assert_speech(heard, secs=8.0)
    got = recording_of(server, row)
    assert len(got) > 8000 * 3
    assert abs(audio.dominant_freq(got[8000:]) - 520) < 15


def test_agent_hangs_up_while_ringing_cancels(server, api, tmp_path):
    with callee(tmp_path, behaviour="noanswer1") as ce:
        agent = make_agent(api)
        trunk = make_trunk(api, ce.sip_port)
        call = dial(api, agent, trunk)
        wait_call(api, call["id"], lambda c: c["status"] == "ringing")
        r = api.post("/api/v1/calls/%d/hangup" % call["id"])
        assert r.status == 202, r
        ce.wait_event("cancel", timeout=5)
        row = ended(api, call)
        r = api.post("/api/v1/calls/%d/hangup" % call["id"])
        assert r.status == 409, r
    assert row["hangup_by"] == "agent" and row["hangup_cause"] == "api_hangup", row
    assert row["outcome"] != "answered" and row.get("answered_at") is None, row


# ---------------------------------------------------------------- outcomes

@pytest.mark.parametrize("behaviour,outcome,code", [
    ("busy1", "busy", 486),
    ("decline1", "rejected", 603),
    ("unavail1", "no_answer", 480),
    ("fail1", "failed", 500),
    ("overload1", "unreachable", 503),
])
def test_final_responses_map_to_outcomes(server, api, tmp_path, behaviour, outcome,
                                         code):
    with callee(tmp_path, behaviour=behaviour) as ce:
        agent = make_agent(api)
        trunk = make_trunk(api, ce.sip_port)
        call = dial(api, agent, trunk)
        rep = ce.wait_event("reply", timeout=10)
        assert rep["code"] == code
        row = ended(api, call)
    assert row["outcome"] == outcome and row["sip_code"] == code, row
    assert row["hangup_by"] == "callee" and row["hangup_cause"] == "sip_%d" % code, row
    assert row.get("answered_at") is None
    assert event_types(row)[-1] == "call.ended", row


def test_ring_timeout_cancels(make_server, tmp_path):
    server = make_server(env={"PARLEY_SIP_RING_TIMEOUT": "2"})
    api = server.client(server.new_key("acme"))
    with callee(tmp_path, behaviour="noanswer1") as ce:
        agent = make_agent(api)
        trunk = make_trunk(api, ce.sip_port)
        t0 = time.time()
        call = dial(api, agent, trunk)
        ce.wait_event("ringing", timeout=10)
        wait_call(api, call["id"], lambda c: c["status"] == "ringing")
        ce.wait_event("cancel", timeout=10)
        took = time.time() - t0
        row = ended(api, call)
    assert 1.5 < took < 5, took
    assert row["outcome"] == "no_answer" and row["hangup_cause"] == "ring_timeout", row
    assert row["hangup_by"] == "system" and row.get("answered_at") is None, row
    assert row["ringing_at"] <= row["ended_at"]


def test_unreachable_trunk_tcp_refused(server, api):
    agent = make_agent(api)
    trunk = make_trunk(api, closed_port(), transport="tcp")
    t0 = time.time()
    call = dial(api, agent, trunk)
    row = ended(api, call, timeout=10)
    assert time.time() - t0 < 5
    assert row["outcome"] == "unreachable", row
    assert row["hangup_by"] == "system" and row.get("sip_code") is None, row


def test_silent_udp_trunk_is_unreachable_at_ring_timeout(make_server):
    """Nothing answers over UDP (no 100 Trying, no ICMP reaches libre):
    without this libre would only give up after timer B, 32 s."""
    server = make_server(env={"PARLEY_SIP_RING_TIMEOUT": "2"})
    api = server.client(server.new_key("acme"))
    agent = make_agent(api)
    trunk = make_trunk(api, closed_port())
    t0 = time.time()
    call = dial(api, agent, trunk)
    row = ended(api, call, timeout=10)
    assert 1.5 < time.time() - t0 < 5
    assert row["outcome"] == "unreachable" and row["hangup_cause"] == "timeout", row
    assert row["hangup_by"] == "system" and row.get("ringing_at") is None, row


def test_dial_failure_ends_the_row(make_server, tmp_path):
    """No RTP port left for a second call: the API says 503 and the row it
    already created ends as failed instead of staying initiated."""
    for _ in range(50):
        p = peers.free_port() & ~1
        if all(peers._bindable(q, (socket.SOCK_DGRAM,)) for q in (p, p + 1)):
            break
    server = make_server(env={"PARLEY_RTP_PORT_MIN": str(p),
                              "PARLEY_RTP_PORT_MAX": str(p + 2)})
    api = server.client(server.new_key("acme"))
    with callee(tmp_path) as ce:
        agent = make_agent(api)
        trunk = make_trunk(api, ce.sip_port)
        first = dial(api, agent, trunk)
        wait_call(api, first["id"], lambda c: c["status"] == "answered")
        r = api.post("/api/v1/calls", {"agent_id": agent["id"], "to": NUMBER,
                                       "trunk_id": trunk["id"]})
        assert r.status == 503 and r.json["error"]["code"] == "dial_failed", r
        rows = api.get("/api/v1/calls").json["data"]
        second = [c for c in rows if c["id"] != first["id"]]
        assert len(second) == 1, rows
        row = ended(api, second[0], timeout=5)
        api.post("/api/v1/calls/%d/hangup" % first["id"])
        ended(api, first)
    assert row["outcome"] == "failed" and row["hangup_by"] == "system", row
    assert row["hangup_cause"] == "setup_error", row
    assert ce.count("invite") == 1


def test_wrong_trunk_password_fails_with_403(server, api, tmp_path):
    with callee(tmp_path, user="trunkuser", password="right") as ce:
        agent = make_agent(api)
        trunk = make_trunk(api, ce.sip_port, username="trunkuser", password="wrong")
        call = dial(api, agent, trunk)
        ce.wait_event("challenge", timeout=10)
        rep = ce.wait_event("reply", timeout=10)
        assert rep["code"] == 403
        row = ended(api, call)
    assert row["outcome"] == "failed" and row["sip_code"] == 403, row


def test_challenge_without_credentials_fails(server, api, tmp_path):
    with callee(tmp_path, user="trunkuser", password="right") as ce:
        agent = make_agent(api)
        trunk = make_trunk(api, ce.sip_port)
        call = dial(api, agent, trunk)
        ce.wait_event("challenge", timeout=10)
        row = ended(api, call)
        time.sleep(0.5)
    assert ce.count("invite") == 1, ce.events()
    assert row["outcome"] == "failed" and row["sip_code"] == 407, row


# ------------------------------------------------------------- validation

def test_create_call_validation(server, api, other, tmp_path):
    agent = make_agent(api)
    # no trunk at all
    r = api.post("/api/v1/calls", {"agent_id": agent["id"], "to": NUMBER})
    assert r.status == 400 and r.json["error"]["code"] == "invalid_reference", r
    trunk = make_trunk(api, closed_port())
    other_agent = make_agent(other)
    other_trunk = make_trunk(other, closed_port())
    for body, field in [
        ({"agent_id": 9999, "to": NUMBER}, "agent_id"),
        ({"agent_id": other_agent["id"], "to": NUMBER}, "agent_id"),
        ({"agent_id": agent["id"], "to": NUMBER, "trunk_id": 9999}, "trunk_id"),
        ({"agent_id": agent["id"], "to": NUMBER, "trunk_id": other_trunk["id"]},
         "trunk_id"),
    ]:
        r = api.post("/api/v1/calls", body)
        assert r.status == 400, (body, r)
        assert r.json["error"]["code"] == "invalid_reference", (body, r)
        assert r.json["error"].get("field") == field, (body, r)
    r = api.post("/api/v1/calls", {"agent_id": agent["id"], "to": "not a number",
                                   "trunk_id": trunk["id"]})
    assert r.status == 400, r
    r = api.post("/api/v1/calls", {"to": NUMBER, "trunk_id": trunk["id"]})
    assert r.status == 400, r
    # nothing was dialled and no call rows were left behind
    assert api.get("/api/v1/calls").json["data"] == []


def test_caller_id_from_trunk_or_request(server, api, tmp_path):
    with callee(tmp_path) as ce:
        agent = make_agent(api)
        trunk = make_trunk(api, ce.sip_port, caller_id="+14155550999")
        call = dial(api, agent, trunk)
        inv = ce.wait_event("invite", timeout=10)
        assert inv["from"].startswith("sip:+14155550999@"), inv
        assert inv["user"] == NUMBER
        api.post("/api/v1/calls/%d/hangup" % wait_call(
            api, call["id"], lambda c: c["status"] == "answered")["id"])
        row = ended(api, call)
        assert row["from_number"] == "+14155550999", row
        call2 = dial(api, agent, trunk, from_="+14155550777")
        inv = ce.wait_event("invite", timeout=10)
        assert inv["from"].startswith("sip:+14155550777@"), inv
        wait_call(api, call2["id"], lambda c: c["status"] == "answered")
        api.post("/api/v1/calls/%d/hangup" % call2["id"])
        row2 = ended(api, call2)
    assert row2["from_number"] == "+14155550777", row2


# ------------------------------------------------------------- trunk check

def test_trunk_check(server, api, tmp_path):
    with callee(tmp_path) as ce:
        trunk = make_trunk(api, ce.sip_port)
        r = api.post("/api/v1/trunks/%d/check" % trunk["id"])
        assert r.status == 200, r
        assert r.json["reachable"] is True and r.json["sip_code"] == 200, r
        assert isinstance(r.json["rtt_ms"], int) and 0 <= r.json["rtt_ms"] < 2000, r
        ce.wait_event("options", timeout=5)
    t = api.get("/api/v1/trunks/%d" % trunk["id"]).json
    assert t["reachable"] is True and t["rtt_ms"] == r.json["rtt_ms"], t
    assert t["checked_at"], t

    dead = make_trunk(api, closed_port(), transport="tcp")
    t0 = time.time()
    r = api.post("/api/v1/trunks/%d/check" % dead["id"])
    assert time.time() - t0 < 5
    assert r.status == 200 and r.json["reachable"] is False, r
    t = api.get("/api/v1/trunks/%d" % dead["id"]).json
    assert t["reachable"] is False and t["checked_at"], t
    assert t.get("rtt_ms") is None, t


def test_trunk_check_silent_udp_times_out(server, api):
    dead = make_trunk(api, closed_port())
    t0 = time.time()
    r = api.post("/api/v1/trunks/%d/check" % dead["id"])
    took = time.time() - t0
    assert r.status == 200 and r.json["reachable"] is False, r
    assert 2 < took < 6, took
    t = api.get("/api/v1/trunks/%d" % dead["id"]).json
    assert t["reachable"] is False and t["checked_at"], t


def test_shutdown_waits_for_a_trunk_check(server, api):
    """SIGTERM while a check waits for a silent trunk: the check still
    answers, and the server exits cleanly (it used to free the API first
    and then report the check into it)."""
    dead = make_trunk(api, closed_port())
    got = {}
    t = threading.Thread(target=lambda: got.update(
        r=api.post("/api/v1/trunks/%d/check" % dead["id"])))
    t.start()
    time.sleep(0.5)
    server.proc.send_signal(signal.SIGTERM)
    t.join(10)
    server.stop()   # exit status 0 and no sanitizer report
    r = got["r"]
    assert r.status == 200 and r.json["reachable"] is False, r


class SlowOptionsPeer(threading.Thread):
    """A UDP SIP peer that answers OPTIONS with 100 Trying, then 200 OK
    300 ms later, as a proxy working on it would."""

    def __init__(self):
        super().__init__(daemon=True)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.requests = 0
        self.done = False

    def reply(self, req, code, reason, addr):
        head = req.split("\r\n\r\n", 1)[0].split("\r\n")
        keep = [h for h in head[1:] if re.match(r"(?i)(via|from|to|call-id|cseq):", h)]
        keep = [h + ";tag=peer" if h.lower().startswith("to:") and code > 100 else h
                for h in keep]
        msg = "SIP/2.0 %d %s\r\n%s\r\nContent-Length: 0\r\n\r\n" % (
            code, reason, "\r\n".join(keep))
        self.sock.sendto(msg.encode(), addr)

    def run(self):
        while not self.done:
            try:
                data, addr = self.sock.recvfrom(65536)
            except socket.timeout:
                continue
            req = data.decode(errors="replace")
            if not req.startswith("OPTIONS "):
                continue
            self.requests += 1
            if self.requests > 1:
                continue   # a retransmission: the 200 follows anyway
            self.reply(req, 100, "Trying", addr)
            time.sleep(0.3)
            self.reply(req, 200, "OK", addr)

    def stop(self):
        self.done = True
        self.join(2)
        self.sock.close()


def test_trunk_check_waits_past_provisional_response(server, api):
    peer = SlowOptionsPeer()
    peer.start()
    try:
        trunk = make_trunk(api, peer.port)
        r = api.post("/api/v1/trunks/%d/check" % trunk["id"])
    finally:
        peer.stop()
    assert r.status == 200 and r.json["reachable"] is True, r
    assert r.json["sip_code"] == 200 and r.json["rtt_ms"] >= 250, r
