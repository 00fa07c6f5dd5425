"""`parley bench` against a real server: three concurrent scripted callers
talk to an agent with the instant "bench" providers for a few seconds;
the report says every call was answered, carries the latencies measured
on both sides, and the temporary trunk is gone afterwards."""
import json
import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from conftest import PARLEY, SAN_ENV  # noqa: E402

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)

SCRIPT = "Hello, I am calling about my order.\n@barge 0.3 Sorry, one more thing please.\n" \
         "Okay, thank you.\n"


def test_bench_three_calls(server, tmp_path):
    key = server.new_key("acme")
    api = server.client(key)
    agent = api.post("/api/v1/agents", {
        "name": "Bench", "first_message": "Hello, how can I help?",
        "stt": {"provider": "bench"}, "llm": {"provider": "bench"},
        "tts": {"provider": "bench"}})
    assert agent.status == 201, agent
    script = tmp_path / "script.txt"
    script.write_text(SCRIPT)

    env = dict(server.env, **SAN_ENV)
    env.pop("PARLEY_API_KEY", None)
    r = subprocess.run([PARLEY, "bench", "--server", server.url, "--api-key", key,
                        "--agent", str(agent.json["id"]), "--script", str(script),
                        "--calls", "3", "--duration", "8"],
                       env=env, cwd=server.tmpdir, capture_output=True, text=True,
                       timeout=60)
    assert "Sanitizer" not in r.stderr and "runtime error" not in r.stderr, r.stderr
    assert r.returncode == 0, r.stdout + r.stderr
    out = json.loads(r.stdout)
    print(json.dumps(out, indent=1))

    # progress on stderr, one JSON object a line, in order
    events = [json.loads(line)["event"] for line in r.stderr.splitlines()
              if line.startswith("{")]
    assert events == ["placing", "plateau", "hangup", "ended", "collecting"], r.stderr

    calls = out["calls"]
    assert calls["requested"] == 3 and calls["placed"] == 3, calls
    assert calls["answered"] == 3 and calls["failed"] == 0 and calls["errors"] == [], calls
    # every caller ran until we hung it up, after the 8 s plateau
    assert calls["outcomes"] == {"interrupted": 3}, calls
    assert 7.5 <= out["timeline_s"]["plateau"] <= 10, out["timeline_s"]

    # the caller's side: set-up, replies heard after our lines, a barge-in
    assert out["setup_ms"]["n"] == 3 and 0 < out["setup_ms"]["p50"] < 2000, out["setup_ms"]
    resp = out["response_ms"]
    assert resp["n"] >= 3 and resp["p50"] is not None, resp
    # endpointing waits 500 ms of silence (counted from where the VAD hears
    # it, a little before the trimmed end of a line); the providers add little
    assert 300 <= resp["p50"] < 1500, resp
    assert out["barge_in_ms"]["n"] >= 1 and out["barge_in_ms"]["p99"] < 1000, out
    assert out["agent_turns_heard"] >= 6, out
    audio = out["audio"]
    assert audio["rx_packets"] > 3 * 8 * 45 and audio["rx_lost"] == 0, audio
    assert out["jitter_ms"]["n"] == 3, out["jitter_ms"]
    assert out["sim_tick"]["ticks"] > 8 * 45, out["sim_tick"]

    # the server's side: every call read back, replies timed by Parley
    srv = out["server"]
    assert srv["calls_read"] == 3 and srv["calls_ended"] == 3, srv
    assert srv["replies"] >= 3 and srv["agent_turns"] >= srv["replies"], srv
    rtp = srv["first_rtp_ms"]
    assert rtp["n"] == srv["replies"] and 0 <= rtp["p50"] <= rtp["p99"] < 100, rtp

    # the temporary trunk is gone
    assert out["trunk_deleted"] is True
    trunks = api.get("/api/v1/trunks")
    assert trunks.status == 200 and trunks.json["data"] == [], trunks
