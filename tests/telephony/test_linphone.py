"""linphonec (liblinphone 5.1) as a second, independent SIP stack: it
calls Parley and hears the greeting while Parley records its tone, and
Parley calls it through a trunk pointing at its SIP port."""
import os
import time

import pytest

from tel_helpers import audio, latest_call, peers, setup_inbound, sip_port, wait_call

pytestmark = [
    pytest.mark.parametrize("backend", ["sqlite"], indirect=True),
    pytest.mark.skipif(not os.path.exists("/usr/bin/linphonec"),
                       reason="linphone-cli is needed (scripts/deps.sh --test)"),
]

LIN_HZ = 850
GREETING = ("Hello, thank you for calling Parley. This call may be recorded. "
            "How can I help you today?")


def recording(server, call):
    rec = [e for e in call["events"] if e["type"] == "recording.started"]
    assert rec, [e["type"] for e in call["events"]]
    return audio.load(os.path.join(server.tmpdir, rec[0]["data"]["path"]), channel=0)


def assert_heard_speech(x, what):
    """The greeting: voice-band energy over a second or more."""
    assert len(x) > 8000 * 2, "%s: %.2fs" % (what, len(x) / 8000)
    frames = x[: len(x) // 160 * 160].reshape(-1, 160)
    loud = sum(audio.rms_dbfs(f) > -35 for f in frames) * 0.02
    assert loud >= 1.0, "%s: only %.2fs of sound (%.1f dBFS)" % (
        what, loud, audio.rms_dbfs(x))


def assert_tone(x, freq, what):
    assert len(x) > 8000 * 2, "%s: %.2fs" % (what, len(x) / 8000)
    f = audio.dominant_freq(x)
    assert abs(f - freq) < 10, "%s: dominant %.1f Hz, wanted %d" % (what, f, freq)
    covered = sum(e - s for s, e in audio.detect_tone_segments(x, freq))
    assert covered >= 1.5, "%s: tone in %.2fs" % (what, covered)


def test_linphonec_calls_parley(server, api, tmp_path):
    setup_inbound(api, first_message=GREETING)
    src = audio.concat(audio.silence(0.5), audio.tone(LIN_HZ, 8, amp=0.4))
    with peers.Linphonec(str(tmp_path / "lin"), audio_wav=src) as lin:
        lin.call("sip:+14155550001@127.0.0.1:%d" % sip_port(server))
        lin.wait_state("connected", 10)
        call = latest_call(api)
        wait_call(api, call["id"], lambda c: c["status"] == "answered")
        wait_call(api, call["id"], lambda c: any(
            e["type"] == "playback.finished" for e in c["events"]), timeout=15)
        time.sleep(0.5)
        lin.terminate()
        lin.wait_state("ended", 10)
        ended = wait_call(api, call["id"], lambda c: c["status"] == "ended")
        heard = lin.received_audio()
    assert ended["outcome"] == "answered" and ended["hangup_by"] == "caller", ended
    assert ended["from_number"] == "lin"
    assert_heard_speech(heard, "linphonec heard")
    assert_tone(recording(server, ended)[4000:], LIN_HZ, "Parley recorded")


def test_parley_calls_linphonec(server, api, tmp_path):
    src = audio.concat(audio.silence(0.5), audio.tone(LIN_HZ, 8, amp=0.4))
    with peers.Linphonec(str(tmp_path / "lin"), audio_wav=src) as lin:
        agent = api.post("/api/v1/agents", {"name": "Caller", "first_message": GREETING})
        assert agent.status == 201, agent
        trunk = api.post("/api/v1/trunks", {
            "name": "linphone", "sip_uri": "sip:127.0.0.1:%d" % lin.sip_port})
        assert trunk.status == 201, trunk
        r = api.post("/api/v1/calls", {"agent_id": agent.json["id"], "to": "+14155550123",
                                       "trunk_id": trunk.json["id"]})
        assert r.status == 201, r
        call_id = r.json["id"]
        m = lin.wait_state("incoming", 10)
        assert "127.0.0.1" in m.group(1)
        lin.wait_state("connected", 10)
        answered = wait_call(api, call_id, lambda c: c["status"] == "answered")
        wait_call(api, call_id, lambda c: any(
            e["type"] == "playback.finished" for e in c["events"]), timeout=15)
        time.sleep(0.5)
        r = api.post("/api/v1/calls/%d/hangup" % call_id)
        assert r.status == 202, r
        lin.wait_state("ended", 10)
        ended = wait_call(api, call_id, lambda c: c["status"] == "ended")
        heard = lin.received_audio()
    assert answered["direction"] == "outbound"
    assert ended["outcome"] == "answered" and ended["hangup_by"] == "agent", ended
    assert ended["hangup_cause"] == "api_hangup"
    assert_heard_speech(heard, "linphonec heard")
    assert_tone(recording(server, ended)[4000:], LIN_HZ, "Parley recorded")
