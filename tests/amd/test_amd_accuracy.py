"""The answering-machine detector against a labelled set of answer
recordings built here (make_set.py: espeak-ng and flite greetings, sox
beeps and noise, seed 4), through `parley amd analyze --json` (ASan
build), plus the command's formats and errors.

Thresholds held, and why they are defensible (measured on seeds 1, 2, 4:
95-97 % of human/machine files right, 100 % of the clear ones, beeps
within 20 ms):
- >= 90 % of human and machine recordings right. What is left are the
  cases timing cannot settle: people answering with a sentence as long as
  a short voicemail greeting, and short greetings followed by a long
  pause before the beep.
- >= 95 % of the clear ones right, and no clear human called a machine
  (hanging up on a person is the costly mistake; clear humans speak for
  at most half the greeting threshold).
- silence and noise: unsure (nobody spoke), >= 90 %.
- every beep the detector was still listening for found within 100 ms,
  none where there is none (also with every timing rule off, so it hears
  all the speech), >= 85 % of all beeps (the others come after a pause
  long enough to call the short greeting before them human).
- median decision: humans by 3 s, machines by 5 s after answer.
"""
import json
import os
import shutil
import subprocess
import sys
import wave

import pytest
from conftest import PARLEY, SAN_ENV

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_set  # noqa: E402

MISSING = [t for t in ("sox", "espeak-ng", "flite") if not shutil.which(t)]
pytestmark = pytest.mark.skipif(bool(MISSING), reason="needs %s (scripts/deps.sh --test)"
                                % ", ".join(MISSING))

# every timing rule off: only a beep can decide
NO_RULES = ["--greeting", "60000", "--after-greeting-silence", "60000",
            "--initial-silence", "60000", "--total-analysis-time", "120000",
            "--maximum-number-of-words", "100", "--maximum-word-length", "60000"]


def parley(*args):
    env = dict(os.environ, **SAN_ENV)
    r = subprocess.run([PARLEY, "amd"] + list(args), capture_output=True, text=True,
                       env=env, timeout=120)
    assert "Sanitizer" not in r.stderr and "runtime error" not in r.stderr, r.stderr
    return r


def analyze(files, *args):
    r = parley("analyze", "--json", *args, *files)
    assert r.returncode == 0, r.stderr
    out = [json.loads(line) for line in r.stdout.splitlines()]
    assert len(out) == len(files)
    return out


@pytest.fixture(scope="module")
def labelled(tmp_path_factory):
    d = tmp_path_factory.mktemp("amdset")
    subprocess.run([sys.executable, os.path.join(HERE, "make_set.py"), str(d)],
                   check=True, capture_output=True, timeout=300)
    with open(os.path.join(str(d), "labels.json")) as f:
        labels = json.load(f)
    return str(d), labels


def files_of(d, labels):
    return [os.path.join(d, l["file"]) for l in labels]


def test_accuracy(labelled):
    d, labels = labelled
    m = make_set.evaluate(labels, analyze(files_of(d, labels)))
    berr = [abs(e) for e in m["beep_err_ms"]]
    print("\nAMD on %d recordings: human/machine %d/%d (%.1f %%), clear %d/%d, "
          "silence+noise unsure %d/%d; beeps %d/%d (heard %d/%d), max error %d ms, "
          "false %d; median decision human %s ms, machine %s ms; %.0f ns/frame"
          % (m["n"], m["hm_correct"], m["hm_total"], 100 * m["hm_accuracy"],
             m["clear_correct"], m["clear_total"], m["none_correct"], m["none_total"],
             m["beeps_found"], m["beeps"], m["beeps_heard_found"], m["beeps_heard"],
             max(berr) if berr else -1, m["false_beeps"], m["human_median_ms"],
             m["machine_median_ms"], m["ns_per_frame"]))
    for e in m["errors"]:
        print("  wrong: %(file)s %(expect)s -> %(decision)s (%(cause)s at %(at_ms)s ms, "
              "clear %(clear)s) %(text)s" % e)

    kinds = {l["kind"] for l in labels}
    assert m["n"] >= 60 and {"human-short", "human-long", "machine", "silence",
                             "noise"} <= kinds
    assert m["hm_accuracy"] >= 0.90, m["errors"]
    assert m["clear_correct"] >= 0.95 * m["clear_total"], m["errors"]
    assert m["clear_human_as_machine"] == 0, m["errors"]
    assert m["none_correct"] >= 0.9 * m["none_total"], m["errors"]

    assert m["false_beeps"] == 0
    assert m["beeps_heard_found"] >= 0.95 * m["beeps_heard"]
    assert m["beeps_found"] >= 0.85 * m["beeps"]
    assert all(e <= 100 for e in berr), m["beep_err_ms"]

    assert m["human_median_ms"] <= 3000 and m["machine_median_ms"] <= 5000
    # no beep: the message may start greeting_end_silence (1.5 s) after
    # the greeting's last sound
    ends = m["greeting_end_after_speech_ms"]
    assert ends and all(1300 <= e <= 1800 for e in ends), ends


def test_beeps_with_timing_rules_off(labelled):
    """Listening to every recording to its end: beeps found where they
    are, within 100 ms; none in any speech, noise or silence."""
    d, labels = labelled
    res = analyze(files_of(d, labels), *NO_RULES)
    for l, r in zip(labels, res):
        if l.get("has_beep"):
            assert r["beep_ms"] is not None and abs(r["beep_ms"] - l["beep_ms"]) <= 100, (l, r)
            assert abs(r["beep_hz"] - l["beep_hz"]) <= 15, (l, r)
            assert r["decision"] == "machine" and r["cause"] == "beep"
            # the message starts once the beep is over
            assert r["greeting_end_ms"] >= l["beep_ms"] + l["beep_len_ms"] - 20, (l, r)
        else:
            assert r["beep_ms"] is None, (l, r)


def test_formats_and_channels(labelled, tmp_path):
    """A stereo 16 kHz copy gives the mono 8 kHz answer; the text report."""
    d, labels = labelled
    l = next(x for x in labels if x.get("has_beep") and x["clear"])
    mono = os.path.join(d, l["file"])
    stereo = str(tmp_path / "stereo16k.wav")
    subprocess.run(["sox", mono, "-r", "16000", "-c", "2", stereo, "remix", "1", "0"],
                   check=True, capture_output=True)
    with wave.open(stereo) as w:
        assert w.getnchannels() == 2 and w.getframerate() == 16000
    a, b = analyze([mono, stereo])
    assert a["decision"] == b["decision"] == "machine"
    assert abs(a["decided_ms"] - b["decided_ms"]) <= 40
    assert abs(a["beep_ms"] - b["beep_ms"]) <= 20
    assert b["file"] == stereo

    right, = analyze([stereo], "--channel", "1")
    assert right["decision"] == "unsure" and right["cause"] == "initial-silence"

    r = parley("analyze", mono, "--greeting", "1500")
    assert r.returncode == 0, r.stderr
    assert "decision   machine" in r.stdout and "beep       %d ms" % a["beep_ms"] in r.stdout
    assert "message    can start at" in r.stdout

    # --params takes an agent's JSON settings; the same as --name value
    x, = analyze([mono], "--params", '{"greeting": 1500, "enabled": true}')
    y, = analyze([mono], "--greeting", "1500")
    x.pop("ns_per_frame"), y.pop("ns_per_frame")
    assert x == y


def test_errors(tmp_path):
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"RIFF\x00\x00\x00\x00WAVEnot really")
    good = tmp_path / "sil.wav"
    with wave.open(str(good), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\x00\x00" * 8000)
    cases = [
        (["analyze", str(tmp_path / "nope.wav")], "No such file"),
        (["analyze", str(junk)], "not a 16-bit PCM WAV"),
        (["analyze", str(good), "--greeting", "abc"], "bad value 'abc' for greeting"),
        (["analyze", str(good), "--greeting", "10"], "from 100 to 60000"),
        (["analyze", str(good), "--greting", "1200"], "unknown AMD parameter 'greting'"),
        (["analyze", str(good), "--beep-min-freq", "2500"], "beep_max_freq"),
        (["analyze", str(good), "--channel", "5"], "--channel"),
        (["analyze", str(good), "--channel", "1"], "no channel 1"),
        (["analyze", str(good), "--params", '{"greeting":"x"}'], "greeting must be a number"),
        (["analyze", str(good), "--params", "[1]"], "JSON object"),
        (["analyze", str(good), "--greeting"], "needs a value"),
        (["analyze"], "needs a WAV file"),
        ([], "usage"),
        (["frobnicate"], "usage"),
    ]
    for args, msg in cases:
        r = parley(*args)
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        assert msg in r.stderr, (args, r.stderr)

    # a bad file among good ones: the good ones are still analysed
    r = parley("analyze", "--json", str(good), str(junk), str(good))
    assert r.returncode == 2 and len(r.stdout.splitlines()) == 2

    r = parley("analyze", "--help")
    assert r.returncode == 0
    for name in ("initial-silence", "greeting", "after-greeting-silence",
                 "total-analysis-time", "min-word-length", "between-words-silence",
                 "maximum-number-of-words", "maximum-word-length",
                 "silence-threshold", "beep-min-length", "greeting-end-silence"):
        assert "  --%s " % name in r.stdout, name
    r = subprocess.run([PARLEY, "--help"], capture_output=True, text=True)
    assert "amd analyze FILE.wav" in r.stdout
