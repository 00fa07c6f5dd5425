"""`parley simulate` against a real server: the scripted caller answers
Parley's call on loopback, speaks its lines when the agent's turn ends,
measures the turns from the RTP it received, records both directions,
and the temporary trunk is gone afterwards."""
import json
import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "sip"))

import audio  # noqa: E402
from conftest import PARLEY, SAN_ENV  # noqa: E402

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)

GREETING = "Hello, thank you for calling Parley. How can I help you today?"
LINE1 = "Hi, I would like to book a table for two."
LINE2 = "Thank you, goodbye."


def run_simulate(server, key, *args, timeout=120):
    env = dict(server.env, **SAN_ENV)
    env.pop("PARLEY_API_KEY", None)
    r = subprocess.run([PARLEY, "simulate", "--server", server.url, "--api-key", key]
                       + list(args), env=env, cwd=server.tmpdir, capture_output=True,
                       text=True, timeout=timeout)
    assert "Sanitizer" not in r.stderr and "runtime error" not in r.stderr, r.stderr
    return r


def espeak(tmp_path, name, text):
    path = str(tmp_path / name)
    subprocess.run(["espeak-ng", "-v", "en-us", "-w", path, text], check=True)
    return audio.load(path)


def audible_seconds(x, rate=audio.RATE):
    """From the first to the last 20 ms frame above -55 dBFS."""
    n = rate // 50
    frames = x[:len(x) // n * n].reshape(-1, n)
    loud = [i for i, f in enumerate(frames) if audio.rms_dbfs(f) > -55]
    return (loud[-1] + 1 - loud[0]) * 0.02 if loud else 0.0


def trunks(api):
    r = api.get("/api/v1/trunks")
    assert r.status == 200, r
    return r.json["data"]


def test_simulate_two_lines(server, tmp_path):
    key = server.new_key("acme")
    api = server.client(key)
    agent = api.post("/api/v1/agents", {"name": "Greeter", "first_message": GREETING})
    assert agent.status == 201, agent
    script = tmp_path / "script.txt"
    script.write_text("# a caller with two lines\n%s\n\n%s\n" % (LINE1, LINE2))
    wav = tmp_path / "sim.wav"

    r = run_simulate(server, key, "--agent", str(agent.json["id"]), "--script", str(script),
                     "--record", str(wav), "--json", "--timeout", "90")
    assert r.returncode == 0, r.stdout + r.stderr
    out = json.loads(r.stdout)
    for k in ("call_id", "answered", "outcome", "turns", "latencies_ms", "barge_ins_ms",
              "transcript", "events"):
        assert k in out, k
    assert out["answered"] is True and out["outcome"] == "completed", out
    assert out["steps_done"] == 2 and out["error"] is None, out
    assert len(out["latencies_ms"]) == 2 and out["barge_ins_ms"] == []
    assert all(v is None or v >= 0 for v in out["latencies_ms"]), out

    # the first agent turn is the greeting: it starts soon after the answer
    # and lasts as long as espeak-ng takes to say it
    greet = out["turns"][0]
    ref = espeak(tmp_path, "greeting.wav", GREETING)
    want = audible_seconds(ref)
    got = (greet["end_ms"] - greet["start_ms"]) / 1000
    print("greeting: turn", greet, "espeak-ng says it in", want)
    assert greet["start_ms"] < 1500, greet
    assert abs(got - want) < 0.15 * want, (got, want)

    # our lines followed the turn, in order, each after the agent was done
    lines = out["lines"]
    assert [ln["text"] for ln in lines] == [LINE1, LINE2]
    assert [ln["line"] for ln in lines] == [2, 4]
    assert lines[0]["start_ms"] >= greet["end_ms"] + 800 - 20, (lines, greet)
    assert lines[1]["start_ms"] > lines[0]["end_ms"]
    for ln in lines:
        assert 0.5 < (ln["end_ms"] - ln["start_ms"]) / 1000 < 5, ln

    # the server's record of the same call
    assert out["call"]["status"] == "ended" and out["call"]["outcome"] == "answered"
    assert out["call"]["hangup_by"] == "callee", out["call"]
    types = [e["type"] for e in out["events"]]
    assert "call.answered" in types and "call.ended" in types, types
    # whatever the agent's transcript holds by now, it has offsets
    assert all("speaker" in t and "start_ms" in t for t in out["transcript"]), out["transcript"]

    # the temporary trunk is gone
    assert trunks(api) == []

    # the recording: left what the caller heard (the greeting), right what
    # it said, on the clock of the measurements
    x, rate = audio.read_wav(str(wav))
    assert rate == 8000 and x.ndim == 2 and x.shape[1] == 2
    assert abs(len(x) / 8000 - out["duration_ms"] / 1000) < 0.1
    left, right = x[:, 0], x[:, 1]
    g0, g1 = greet["start_ms"] * 8, greet["end_ms"] * 8
    assert audio.rms_dbfs(left[g0:g1]) > -40
    assert not right[g0:g1].any(), "the caller spoke during the greeting"
    peak, lag = audio.normalised_xcorr_peak(ref, left[: g1 + 8000])
    control, _ = audio.normalised_xcorr_peak(
        espeak(tmp_path, "other.wav", "The weather in Paris is sunny and warm this week."),
        left[: g1 + 8000])
    print("greeting correlation", peak, "control", control)
    assert peak > 0.35 and peak > 2 * control, (peak, control)
    # the right channel is what Parley heard from us: its recording of
    # the caller holds each line (G.711 in between)
    rec = [e for e in out["events"] if e["type"] == "recording.started"]
    heard = audio.load(os.path.join(server.tmpdir, rec[0]["data"]["path"])) if rec else None
    for ln in lines:
        s0, s1 = ln["start_ms"] * 8, ln["end_ms"] * 8
        assert audio.rms_dbfs(right[s0:s1]) > -30, ln
        if heard is not None:
            p, lag = audio.normalised_xcorr_peak(right[s0:s1], heard)
            print("line", ln["line"], "in Parley's recording:", p, "at", lag / 8000)
            assert p > 0.9, (ln, p)
    assert not right[: lines[0]["start_ms"] * 8].any()
    assert not right[lines[0]["end_ms"] * 8:lines[1]["start_ms"] * 8].any()


def test_simulate_bad_script(server, tmp_path):
    key = server.new_key("acme")
    api = server.client(key)
    agent = api.post("/api/v1/agents", {"name": "Greeter", "first_message": GREETING}).json
    script = tmp_path / "bad.txt"
    script.write_text("Hello.\n# fine so far\n@barge soon Excuse me\n")
    r = run_simulate(server, key, "--agent", str(agent["id"]), "--script", str(script))
    assert r.returncode == 2, r.stdout + r.stderr
    assert "bad.txt:3: @barge needs a delay in seconds" in r.stderr, r.stderr
    assert r.stdout == ""
    # nothing was created, nothing was called
    assert trunks(api) == []
    assert api.get("/api/v1/calls").json["data"] == []

    script.write_text("Hi\n@wait 1\n@frobnicate\n")
    r = run_simulate(server, key, "--agent", str(agent["id"]), "--script", str(script))
    assert r.returncode == 2 and "bad.txt:3: unknown directive '@frobnicate'" in r.stderr
    r = run_simulate(server, key, "--agent", str(agent["id"]), "--script",
                     str(tmp_path / "missing.txt"))
    assert r.returncode == 2 and "missing.txt: cannot open" in r.stderr, r.stderr
    r = run_simulate(server, key, "--script", str(script))
    assert r.returncode == 2 and "--agent" in r.stderr


def test_simulate_incomplete_script(server, tmp_path):
    """The agent never hangs up: @expect-hangup fails at --timeout, the
    exit status says so, and the trunk is still deleted."""
    key = server.new_key("acme")
    api = server.client(key)
    agent = api.post("/api/v1/agents", {"name": "Brief", "first_message": "Hello."}).json
    script = tmp_path / "s.txt"
    script.write_text("@expect-hangup\n")
    r = run_simulate(server, key, "--agent", str(agent["id"]), "--script", str(script),
                     "--timeout", "4")
    assert r.returncode == 3, r.stdout + r.stderr
    assert r.stdout.startswith("call "), r.stdout
    assert "answered, timeout" in r.stdout and "did not hang up" in r.stdout, r.stdout
    assert "timeline" in r.stdout and "agent   turn 1" in r.stdout, r.stdout
    assert trunks(api) == []

    # an agent that does not exist: the API says so, the trunk goes again
    r = run_simulate(server, key, "--agent", "999", "--script", str(script))
    assert r.returncode == 1 and "call: HTTP" in r.stderr, r.stderr
    assert trunks(api) == []
