"""Answering-machine detection and call recording on real calls: Parley
calls baresip (playing a voicemail greeting with a beep, or a person's
"hello") and the scripted caller; the stereo recording is checked by
signal, over the API (WAV, MP3, byte ranges), and after abrupt ends."""
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from agent_helpers import call_detail, events, make_agent, simulate, turns
from openai_server import FakeOpenAI

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "sip"))
import audio  # noqa: E402
import peers  # noqa: E402

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)

VM_GREETING = ("Hi, you have reached the voicemail of John Smith. I cannot take your "
               "call right now. Please leave a message after the tone.")
MESSAGE = "Hello, this is the Parley clinic with a message for John. Please call us back."


def espeak(tmp_path, text, name):
    path = str(tmp_path / name)
    subprocess.run(["espeak-ng", "-w", path, text], check=True)
    return audio.load(path)


NUMBER = "+14155550142"


def place_call(api, agent, bs):
    trunk = api.post("/api/v1/trunks", {"name": "peer",
                                        "sip_uri": "sip:127.0.0.1:%d" % bs.sip_port})
    assert trunk.status == 201, trunk
    r = api.post("/api/v1/calls", {"agent_id": agent["id"], "to": NUMBER,
                                   "trunk_id": trunk.json["id"]})
    assert r.status in (201, 202), r
    return r.json["id"]


def get_bytes(api, path, headers=None):
    """(status, headers, body bytes) of a GET: recordings are binary."""
    import urllib.error
    import urllib.request
    h = {"Authorization": "Bearer " + api.key}
    h.update(headers or {})
    req = urllib.request.Request(api.base + path, headers=h)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def first_loud(x, thresh_db=-40.0, rate=8000):
    frame = rate // 50
    for i in range(0, len(x) - frame, frame):
        if audio.rms_dbfs(x[i:i + frame]) > thresh_db:
            return i / rate
    return None


def test_voicemail_gets_the_message_after_the_beep(api, tmp_path):
    greeting = espeak(tmp_path, VM_GREETING, "vm.wav")
    beep_at = len(greeting) / 8000 + 0.4
    source = audio.concat(greeting, audio.silence(0.4), audio.tone(1000, 0.5, amp=0.4),
                          audio.silence(20))
    agent = make_agent(api, first_message="Hi John!", outbound={"amd": {
        "enabled": True, "voicemail_action": "leave_message", "voicemail_message": MESSAGE}})
    with peers.Baresip(str(tmp_path / "bs"), user=NUMBER, audio_wav=source) as bs:
        cid = place_call(api, agent, bs)
        call = call_detail(api, cid, timeout=40)
        heard = bs.received_audio()
    res = events(call, "amd.result")
    assert res and res[0]["data"]["result"] == "machine", events(call)
    end = events(call, "amd.greeting_end")[0]["data"]
    assert end["cause"] == "beep" and abs(end["beep_ms"] / 1000 - beep_at) < 0.1, end
    assert events(call, "notification_delivered"), events(call)
    assert call["outcome"] == "voicemail" and call["amd_result"] == "machine", call
    assert call["amd_ms"] and call["amd_ms"] <= end["at_ms"], call
    # nothing was said over the greeting; the message began after the beep
    onset = first_loud(heard)
    assert onset is not None and beep_at + 0.5 <= onset < beep_at + 2.0, (onset, beep_at)
    said = turns(call, "agent")
    assert said and said[-1]["text"] == MESSAGE and not said[-1]["interrupted"], said


def test_voicemail_hangup_action(api, tmp_path):
    greeting = espeak(tmp_path, VM_GREETING, "vm.wav")
    agent = make_agent(api, first_message="Hi John!",
                       outbound={"amd": {"enabled": True, "voicemail_action": "hangup"}})
    with peers.Baresip(str(tmp_path / "bs"), user=NUMBER, audio_wav=greeting) as bs:
        cid = place_call(api, agent, bs)
        call = call_detail(api, cid, timeout=30)
    assert events(call, "amd_hangup"), events(call)
    assert call["outcome"] == "voicemail" and call["hangup_cause"] == "amd_machine", call
    assert not turns(call, "agent"), turns(call)


def test_human_is_greeted_and_their_first_words_kept(api, tmp_path):
    words = espeak(tmp_path, "Hello, this is John speaking.", "hello.wav")
    fake = FakeOpenAI(transcripts=["Hello, this is John speaking."])
    try:
        agent = make_agent(api, first_message="Hi John, this is Parley calling about your "
                           "appointment.", system_prompt="Be brief.",
                           llm={"provider": "openai", "base_url": fake.base_url},
                           stt={"provider": "openai", "base_url": fake.base_url},
                           outbound={"amd": {"enabled": True,
                                             "voicemail_action": "hangup"}})
        with peers.Baresip(str(tmp_path / "bs"), user=NUMBER,
                           audio_wav=audio.concat(audio.silence(0.3), words,
                                                  audio.silence(20))) as bs:
            cid = place_call(api, agent, bs)
            call_detail(api, cid, lambda c: any(
                t["speaker"] == "agent" for t in c.get("transcript", [])), timeout=30)
            api.post("/api/v1/calls/%d/hangup" % cid)
            call = call_detail(api, cid)
            heard = bs.received_audio()
    finally:
        fake.close()
    res = events(call, "amd.result")[0]["data"]
    assert res["result"] == "human" and res["ms"] < 4000, res
    ts = turns(call)
    assert ts[0]["speaker"] == "user" and ts[0]["text"] == "Hello, this is John speaking.", ts
    assert ts[1]["speaker"] == "agent" and ts[1]["text"].startswith("Hi John"), ts
    # the greeting followed the decision promptly, after the callee's words
    onset = first_loud(heard)
    words_end = 0.3 + len(words) / 8000
    assert onset is not None and words_end < onset < res["ms"] / 1000 + 1.0, (onset, res)


def test_recording_is_aligned_and_served(server, api, tmp_path):
    """Both sides of a simulated call: what the caller sent is in the left
    channel where the caller's own recording has it (within 20 ms), and the
    agent's speech in the right channel starts at its turn's offset."""
    key = server.new_key("tenant-rec")
    api = server.client(key)
    agent = make_agent(api, first_message="Hello, this is Parley. How can I help you today?")
    sim_wav = str(tmp_path / "sim.wav")
    rc, out, err = simulate(server, key, agent["id"],
                            "I would like to book an appointment please\n@wait 1\n@hangup\n",
                            tmp_path, "--record", sim_wav)
    assert rc == 0, err
    cid = out["call_id"]
    call = call_detail(api, cid)
    path = [e for e in call["events"] if e["type"] == "recording.started"][0]["data"]["path"]
    ours_l = audio.load(os.path.join(server.tmpdir, path), channel=0)
    ours_r = audio.load(os.path.join(server.tmpdir, path), channel=1)
    sent = audio.load(sim_wav, channel=1)              # what the caller sent
    # caller side: cross-correlate the caller's speech
    n = min(len(ours_l), len(sent))
    a, b = ours_l[:n], sent[:n]
    lag = np.argmax(np.correlate(a, b, "full")) - (n - 1)
    assert abs(lag) <= 160, "caller channel off by %.1f ms" % (lag / 8)
    # agent side: speech begins where the agent's turn began
    agent_turn = turns(call, "agent")[0]
    onset = first_loud(ours_r)
    assert abs(onset * 1000 - agent_turn["start_ms"]) <= 20, (onset, agent_turn)

    # the API serves it: WAV, a byte range, and the MP3 made after the call
    url = "/api/v1/calls/%d/recording" % cid
    st, hd, body = get_bytes(api, url)
    assert st == 200 and hd["Content-Type"] == "audio/wav" and body[:4] == b"RIFF", hd
    st, hd, part = get_bytes(api, url, {"Range": "bytes=0-43"})
    assert st == 206 and hd["Content-Range"] == "bytes 0-43/%d" % len(body), hd
    assert part == body[:44]
    st, hd, tail = get_bytes(api, url, {"Range": "bytes=-100"})
    assert st == 206 and tail == body[-100:], hd
    bad = api.request("GET", url, headers={"Range": "bytes=999999999-"})
    assert bad.status == 416 and bad.json["error"]["code"] == "range_not_satisfiable", bad
    deadline = time.time() + 15
    while time.time() < deadline:
        st, hd, mp3 = get_bytes(api, url + "?format=mp3")
        if st == 200:
            break
        time.sleep(0.2)
    assert st == 200 and hd["Content-Type"] == "audio/mpeg", hd
    assert mp3[:3] == b"ID3" or (mp3[0] == 0xFF and mp3[1] & 0xE0 == 0xE0), mp3[:4]
    assert api.get("/api/v1/calls/%d/recording?format=ogg" % cid).status == 400
    other = server.client(server.new_key("someone-else"))
    assert other.get(url).status == 404


def test_recording_survives_abrupt_ends(make_server, tmp_path):
    """The peer vanishes (RTP timeout), then the server is killed with a
    call up: both recordings are playable WAVs."""
    server = make_server(env={"PARLEY_RTP_TIMEOUT": "2"})
    api = server.client(server.new_key("acme"))
    agent = make_agent(api, first_message="Hello, this is Parley.")
    tone = audio.concat(audio.tone(700, 3.0, amp=0.3), audio.silence(30))
    bs = peers.Baresip(str(tmp_path / "bs1"), user=NUMBER, audio_wav=tone)
    with bs:
        cid = place_call(api, agent, bs)
        call_detail(api, cid, lambda c: c["status"] == "answered", timeout=15)
        time.sleep(2.0)
        bs.proc.kill()                               # no BYE, no RTP
        call = call_detail(api, cid, timeout=20)
    assert call["hangup_cause"] == "rtp_timeout", call
    path = [e for e in call["events"] if e["type"] == "recording.started"][0]["data"]["path"]
    rec = audio.load(os.path.join(server.tmpdir, path), channel=0)
    assert len(rec) > 8000 * 2 and abs(audio.dominant_freq(rec[800:8000 * 2]) - 700) < 15

    with peers.Baresip(str(tmp_path / "bs2"), user=NUMBER, audio_wav=tone) as bs2:
        cid = place_call(api, agent, bs2)
        call_detail(api, cid, lambda c: c["status"] == "answered", timeout=15)
        time.sleep(2.5)
        server.proc.send_signal(signal.SIGKILL)
        server.proc.wait()
        server.proc = None
        server.log.close()
    path = os.path.join(server.tmpdir, "recordings", "agent-%d" % agent["id"], str(cid),
                        "recording.wav")
    x, rate = audio.read_wav(path)
    assert rate == 8000 and x.ndim == 2 and len(x) > 8000 * 2 - 1600, (x.shape, rate)


def test_consent_announcement_and_recording_off(server, tmp_path):
    key = server.new_key("consent")
    api = server.client(key)
    agent = make_agent(api, first_message="Hello, how can I help?",
                       recording={"consent_message": "This call is recorded."})
    rc, out, err = simulate(server, key, agent["id"], "@wait 1\n@hangup\n", tmp_path)
    assert rc == 0, err
    call = call_detail(api, out["call_id"])
    said = [t["text"] for t in turns(call, "agent")]
    assert said[:2] == ["This call is recorded.", "Hello, how can I help?"], said
    assert events(call, "recording.started")

    quiet = make_agent(api, first_message="Hello.", recording={"enabled": False})
    rc, out, err = simulate(server, key, quiet["id"], "@wait 1\n@hangup\n", tmp_path)
    assert rc == 0, err
    call = call_detail(api, out["call_id"])
    assert not events(call, "recording.started"), events(call)
    st = api.get("/api/v1/calls/%d/recording" % out["call_id"])
    assert st.status == 404 and st.json["error"]["code"] == "no_recording", st
