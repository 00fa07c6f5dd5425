"""The load generator (tests/tools/loadgen.c, which bench/sip_bench.py
drives) against a real Parley: a few calls, every one set up, audio
flowing both ways with no loss on loopback, every BYE answered."""
import hashlib
import json
import os
import subprocess
import tempfile

import pytest

from tel_helpers import audio, peers, setup_inbound, sip_port, wait_call

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SRC = os.path.join(ROOT, "tests", "tools", "loadgen.c")
CALLS = 5
SECONDS = 3
TONE = 1000          # loadgen's default tone, Hz


def loadgen_binary():
    """build/asan/tools/loadgen (make asan) when newer than its source,
    else a private ASan build in the temp dir, keyed by the source."""
    build = os.environ.get("PARLEY_BUILD", os.path.join(ROOT, "build"))
    made = os.path.join(build, "asan", "tools", "loadgen")
    if os.path.exists(made) and os.path.getmtime(made) >= os.path.getmtime(SRC):
        return made
    with open(SRC, "rb") as f:
        digest = hashlib.sha1(f.read()).hexdigest()[:12]
    out = os.path.join(tempfile.gettempdir(), "parley-loadgen-%d-%s" % (os.getuid(), digest))
    if not os.path.exists(out):
        flags = subprocess.run(["pkg-config", "--cflags", "--libs", "libre", "librem"],
                               check=True, capture_output=True, text=True).stdout.split()
        tmp = out + ".%d" % os.getpid()
        subprocess.run(["gcc", "-std=c11", "-D_GNU_SOURCE", "-DHAVE_INTTYPES_H", "-O1", "-g",
                        "-fsanitize=address,undefined", "-fno-sanitize-recover=all",
                        "-fno-omit-frame-pointer", SRC, *flags, "-lm", "-o", tmp],
                       check=True, capture_output=True, timeout=120)
        os.replace(tmp, out)
    return out


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_loadgen_calls_parley(server, api):
    setup_inbound(api, first_message="Hello, this is the Parley load test.")
    cmd = [loadgen_binary(), "--target",
           "sip:+14155550001@127.0.0.1:%d" % sip_port(server),
           "--calls", str(CALLS), "--rate", "20", "--duration", str(SECONDS),
           "--listen", "127.0.0.1:%d" % peers.free_sip_port(), "--setup-timeout", "10000"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=90)
    assert r.returncode == 0, r.stderr[-3000:]
    events = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
    kinds = [e["event"] for e in events]
    assert kinds == ["started", "plateau", "hangup", "summary"], r.stdout
    s = events[-1]

    # every call set up, none dropped, every BYE answered
    assert s["up"] == CALLS and s["failed"] == 0 and s["dropped"] == 0, s
    assert s["bye"] == dict(s["bye"], sent=CALLS, ok=CALLS, unanswered=0), s
    assert s["plateau_s"] >= SECONDS - 0.1, s

    # RTP both ways, at 50 packets a second for at least the plateau
    least = int(CALLS * SECONDS * 50 * 0.9)
    assert s["tx_packets"] >= least and s["rx_packets"] >= least, s
    # (stray RTP from other programs on a shared machine, "rx_foreign", is
    # filtered out by loadgen and not asserted on)
    assert s["calls_no_rx"] == 0, s
    # nothing lost on loopback: no sequence gaps; and by the clock, no
    # more missing than the packets in flight at hang-up plus one skipped
    # tick (Parley restarts its schedule when 100 ms late: 5 frames)
    assert s["rx_lost"] == 0 and s["rx_expected"] == s["rx_packets"], s
    assert s["rx_expected_time"] - s["rx_packets"] <= 8 * CALLS, s
    # Parley spoke (the greeting), and the receive clock was measured
    assert s["rx_voiced"] > CALLS * 50, s
    assert s["rx_unstamped"] == 0 and s["rx_jitter_ms"]["n"] > least - CALLS, s

    # Parley's side: each call answered, ended by the caller, and what it
    # recorded is loadgen's tone
    calls = api.get("/api/v1/calls?limit=100").json["data"]
    assert len(calls) == CALLS, calls
    for c in calls:
        ended = wait_call(api, c["id"], lambda x: x["status"] == "ended")
        assert ended["outcome"] == "answered" and ended["hangup_by"] == "caller", ended
        rec = [e for e in ended["events"] if e["type"] == "recording.started"]
        assert rec, ended["events"]
        got = audio.load(os.path.join(server.tmpdir, rec[0]["data"]["path"]), channel=0)
        assert len(got) > 8000 * (SECONDS - 1), len(got)
        assert abs(audio.dominant_freq(got[4000:]) - TONE) < 15
