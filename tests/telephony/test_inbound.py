"""Inbound calls from baresip: routing by number, answer, the agent's
greeting heard by the caller, the caller's audio recorded by Parley."""
import os
import subprocess
import time

import pytest

from tel_helpers import audio, latest_call, peers, setup_inbound, sip_port, wait_call


GREETING = "Hello, thank you for calling Parley. How can I help you today?"


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_baresip_calls_parley_two_way_audio(server, api, tmp_path):
    setup_inbound(api, first_message=GREETING)
    tone = audio.concat(audio.silence(0.5), audio.tone(700, 6.0, amp=0.4))
    with peers.Baresip(str(tmp_path / "bs"), audio_wav=tone) as bs:
        bs.dial("sip:+14155550001@127.0.0.1:%d" % sip_port(server))
        bs.wait_event("CALL_ESTABLISHED", timeout=10)
        call = latest_call(api)
        wait_call(api, call["id"], lambda c: c["status"] == "answered")
        # a live call is listed as active, with no end yet
        live = api.get("/api/v1/calls?status=active").json["data"]
        assert [c["id"] for c in live] == [call["id"]]
        assert "ended_at" not in live[0]
        time.sleep(5.0)
        bs.hangup()
        bs.wait_event("CALL_CLOSED", timeout=10)
        ended = wait_call(api, call["id"], lambda c: c["status"] == "ended")
        heard = bs.received_audio()
        assert api.get("/api/v1/calls?status=active").json["data"] == []
    assert ended["direction"] == "inbound" and ended["to_number"] == "+14155550001"
    assert ended["outcome"] == "answered" and ended["hangup_by"] == "caller"
    types = [e["type"] for e in ended["events"]]
    assert "call.answered" in types and "call.ended" in types
    # the caller heard the greeting: what baresip received matches the same
    # text spoken by espeak-ng here (G.711 and the jitter buffer in between)
    assert audio.rms_dbfs(heard[: 8000 * 4]) > -40, audio.rms_dbfs(heard)
    ref_path = str(tmp_path / "ref.wav")
    subprocess.run(["espeak-ng", "-v", "en-us", "-w", ref_path, GREETING], check=True)
    peak, _lag = audio.normalised_xcorr_peak(audio.load(ref_path), heard[: 8000 * 8])
    # control: another sentence from the same voice correlates far less
    other_path = str(tmp_path / "other.wav")
    subprocess.run(["espeak-ng", "-v", "en-us", "-w", other_path,
                    "The weather in Paris is sunny and warm this week."], check=True)
    control, _ = audio.normalised_xcorr_peak(audio.load(other_path), heard[: 8000 * 8])
    print("greeting correlation", peak, "control", control)
    assert peak > 0.35 and peak > 2 * control, (peak, control)
    # Parley recorded the caller: the 700 Hz tone
    rec = [e for e in ended["events"] if e["type"] == "recording.started"]
    assert rec, types
    got = audio.load(os.path.join(server.tmpdir, rec[0]["data"]["path"]), channel=0)
    assert len(got) > 8000 * 3
    assert abs(audio.dominant_freq(got[8000:]) - 700) < 15
