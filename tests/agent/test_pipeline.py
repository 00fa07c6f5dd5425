"""POST /api/voice-pipeline (seed 003): a WAV of the caller in; the
transcript, the reply text and the reply WAV out, through the agent's
own providers (the same voice agent a call runs)."""
import base64
import io
import subprocess
import wave

import numpy as np
import pytest

from agent_helpers import BOOKING, make_agent
from openai_server import FakeOpenAI, Reply

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


def speech_wav(tmp_path, text, rate=None):
    path = str(tmp_path / ("say-%d.wav" % abs(hash(text))))
    subprocess.run(["espeak-ng", "-w", path, text], check=True)
    if rate:
        out = path + ".%d.wav" % rate
        subprocess.run(["sox", path, "-r", str(rate), out], check=True)
        path = out
    with open(path, "rb") as f:
        return f.read()


def reply_audio(body):
    w = wave.open(io.BytesIO(base64.b64decode(body["audio"])))
    assert w.getframerate() == 8000 and w.getnchannels() == 1 and w.getsampwidth() == 2
    return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(float)


def test_pipeline_answers_a_scenario_question(api, tmp_path):
    agent = make_agent(api, scenario=BOOKING)
    r = api.post("/api/voice-pipeline?agent_id=%d" % agent["id"],
                 raw=speech_wav(tmp_path, "yes", rate=16000), ctype="audio/wav")
    assert r.status == 200, r
    assert r.json["transcript"] in ("yes", "yeah", "yep", "sure"), r.json
    assert r.json["reply"].startswith("Which day suits you"), r.json
    pcm = reply_audio(r.json)
    assert abs(len(pcm) / 8 - r.json["audio_ms"]) <= 1
    assert len(pcm) > 8000 and np.sqrt(np.mean(pcm ** 2)) > 300   # speech, not silence
    assert r.json["timings"]["first_rtp_ms"] is not None


def test_pipeline_takes_a_multipart_form_like_the_seed(api, tmp_path):
    agent = make_agent(api, scenario=BOOKING)
    wav = speech_wav(tmp_path, "no")
    b = "parleyboundary42"
    body = (("--%s\r\nContent-Disposition: form-data; name=\"file\"; filename=\"s.wav\"\r\n"
             "Content-Type: audio/wav\r\n\r\n" % b).encode() + wav + ("\r\n--%s--\r\n" % b).encode())
    r = api.post("/api/voice-pipeline?agent_id=%d" % agent["id"], raw=body,
                 ctype="multipart/form-data; boundary=%s" % b)
    assert r.status == 200, r
    assert r.json["reply"] == "Okay, goodbye.", r.json
    assert {"type": "end_call", "cause": "agent_hangup"} in r.json.get("actions", []), r.json


def test_pipeline_with_an_llm(api, tmp_path):
    fake = FakeOpenAI(transcripts=["What are your hours?"],
                      replies=[Reply("We are open from nine to five. See you soon.",
                                     token_delay=0.01)])
    try:
        agent = make_agent(api, first_message="Hello!", system_prompt="Be brief.",
                           llm={"provider": "openai", "base_url": fake.base_url},
                           stt={"provider": "openai", "base_url": fake.base_url})
        r = api.post("/api/voice-pipeline?agent_id=%d" % agent["id"],
                     raw=speech_wav(tmp_path, "what are your hours"), ctype="audio/wav")
        assert r.status == 200, r
        assert r.json["transcript"] == "What are your hours?"
        assert r.json["reply"] == "We are open from nine to five. See you soon."
        msgs = fake.chat_requests[0]["body"]["messages"]
        assert [m["role"] for m in msgs][:1] == ["system"]
        assert any(m["role"] == "assistant" and m["content"] == "Hello!" for m in msgs)
        assert fake.stt_requests[0]["wav"]
    finally:
        fake.close()


def test_pipeline_bad_input(api, other, tmp_path):
    agent = make_agent(api, scenario=BOOKING)
    wav = speech_wav(tmp_path, "yes")
    path = "/api/voice-pipeline?agent_id=%d" % agent["id"]
    cases = [
        ("/api/voice-pipeline", wav, "audio/wav", 400, "agent_id"),
        ("/api/voice-pipeline?agent_id=abc", wav, "audio/wav", 400, "agent_id"),
        ("/api/voice-pipeline?agent_id=999999", wav, "audio/wav", 404, None),
        (path + "&x=1", wav, "audio/wav", 400, None),
        (path, b"not a wav at all", "audio/wav", 400, "file"),
        (path, wav[:30], "audio/wav", 400, "file"),
        (path, wav, "application/json", 415, None),
        (path, b"--x\r\nContent-Disposition: form-data; name=\"other\"\r\n\r\nhi\r\n--x--\r\n",
         "multipart/form-data; boundary=x", 400, "file"),
    ]
    for p, body, ctype, status, field in cases:
        r = api.post(p, raw=body, ctype=ctype)
        assert r.status == status, (p, ctype, r)
        assert "error" in r.json and r.json["error"]["message"], r
        if field:
            assert r.json["error"].get("field") == field, r
    # another tenant's agent does not exist for this one
    r = other.post(path, raw=wav, ctype="audio/wav")
    assert r.status == 404, r
    r = api.with_key(None).post(path, raw=wav, ctype="audio/wav")
    assert r.status == 401, r
