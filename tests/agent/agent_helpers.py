"""Helpers for voice-agent tests: agents made through the API and
`parley simulate` (a real SIP call on loopback with a scripted caller)."""
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from conftest import PARLEY, SAN_ENV  # noqa: E402

BOOKING = {
    "start": "greet",
    "steps": {
        "greet": {"type": "say", "text": "Hello, this is the Parley clinic.",
                  "next": "ask_book"},
        "ask_book": {"type": "ask", "text": "Would you like to book an appointment?",
                     "expect": "yes_no", "slot": "wants",
                     "branches": {"yes": "ask_day", "no": "bye"},
                     "no_match": {"text": "Sorry, please say yes or no.", "max": 2,
                                  "next": "bye"}},
        "ask_day": {"type": "ask",
                    "text": "Which day suits you, Monday, Tuesday or Wednesday?",
                    "expect": "choice", "choices": ["monday", "tuesday", "wednesday"],
                    "slot": "day", "next": "confirm"},
        "confirm": {"type": "say", "text": "You are booked for {day}. Goodbye.",
                    "next": "end"},
        "bye": {"type": "say", "text": "Okay, goodbye.", "next": "end"},
        "end": {"type": "hangup"},
    },
}


def make_agent(api, **fields):
    body = {"name": "Agent"}
    body.update(fields)
    r = api.post("/api/v1/agents", body)
    assert r.status == 201, r
    return r.json


def simulate(server, key, agent_id, script, tmp_path, *args, timeout=90):
    """Run `parley simulate --json`; returns (exit code, parsed output,
    stderr)."""
    path = os.path.join(str(tmp_path), "script-%d.txt" % int(time.time() * 1000))
    with open(path, "w") as f:
        f.write(script)
    env = dict(server.env, PARLEY_API_KEY=key, **SAN_ENV)
    r = subprocess.run([PARLEY, "simulate", "--agent", str(agent_id), "--script", path,
                        "--server", server.url, "--json"] + list(args),
                       env=env, capture_output=True, text=True, timeout=timeout)
    out = None
    if r.stdout.strip():
        try:
            out = json.loads(r.stdout)
        except ValueError:
            raise AssertionError("simulate printed no JSON:\n%s\n%s" % (r.stdout, r.stderr))
    return r.returncode, out, r.stderr


def call_detail(api, call_id, pred=lambda c: c["status"] == "ended", timeout=20):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        r = api.get("/api/v1/calls/%d" % call_id)
        if r.status == 200:
            last = r.json
            if pred(last):
                return last
        time.sleep(0.1)
    raise AssertionError("call %d never matched; last: %r" % (call_id, last))


def events(call, type_=None):
    return [e for e in call.get("events", []) if type_ is None or e["type"] == type_]


def turns(call, speaker=None):
    return [t for t in call.get("transcript", []) if speaker is None or t["speaker"] == speaker]
