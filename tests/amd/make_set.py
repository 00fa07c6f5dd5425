#!/usr/bin/env python3
"""Builds the labelled set of answer recordings for the answering-machine
detector: what a call's far end sends from the moment of answer, 8 kHz
16-bit mono WAV, with labels.json beside them.

    make_set.py OUTDIR [--seed N]

Deterministic for a seed: the choices come from random.Random(seed),
sox runs in repeatable mode (-R), espeak-ng and flite are deterministic.

Contents (about 100 files):
- human: greetings of several lengths and styles ("Hello?", "Yeah?",
  "Hi, this is John.", "Good morning, Smith residence, how can I
  help?", "Hello?" ... "Hello?"), after a short pick-up pause, then the
  silence of someone waiting for the caller; some over room or line
  noise.
- machine: voicemail greetings (personal, carrier, business), with and
  without leading silence, with a beep (sox sine, 440-2000 Hz, some off
  the usual frequencies, 0.2-1 s) or without one, then silence.
- silence and noise (white, pink, brown, hum) for the whole recording.

Speech from espeak-ng (several voices and speeds) and flite (kal, slt,
awb, rms), telephone band (300-3400 Hz), through G.711 mu-law.

Labels: expect "human" / "machine" / "unsure". Silence and noise are
"unsure": nobody spoke, so the detector cannot know who answered (a
person waiting for the caller to speak first, a dead line, a voicemail
that has not started); the agent's unsure action decides. clear=False
marks what timing alone cannot settle: human greetings with over 1.3 s
of speech (app_amd's rules call them machines) and voicemail greetings
under 2 s of speech.
"""
import argparse
import concurrent.futures
import json
import os
import random
import subprocess
import sys
import tempfile
import wave

import numpy as np

RATE = 8000

HUMAN_SHORT = [
    "Hello?", "Hello.", "Yeah?", "Hi.", "Yes?", "Hello, hello?",
    "Hi, this is John.", "Hey, it's Maria.", "Speaking.", "Yes, hello?",
    "Hello, who is this?", "Good morning.", "Hi there.", "Hello, yes?",
    "Hey.",
]
HUMAN_LONG = [
    "Good morning, Smith residence, how can I help?",
    "Hello, this is Dave speaking, who's calling please?",
    "Hi, you've got Karen, what can I do for you?",
    "Good afternoon, Johnson and Partners, Linda speaking.",
]
MACHINE = [
    ("Hi, you've reached John Smith. I can't take your call right now. "
     "Please leave a message after the tone."),
    ("The person you are calling is not available. At the tone, please "
     "record your message. When you have finished recording, you may hang "
     "up or press pound for more options."),
    ("Hello, you have reached the voicemail of 5 5 5, 0 1 9 9. Please "
     "leave a message after the beep."),
    "Hey, it's Maria. Leave a message and I'll call you back.",
    ("Hi, this is Dave. Sorry I missed you. Leave your name and number and "
     "I'll get back to you as soon as I can."),
    ("Thank you for calling Acme Dental. Our office is currently closed. "
     "Our hours are Monday through Friday, nine to five. Please leave a "
     "message after the tone."),
    "You have reached the mailbox of Sarah Connor. Please leave a message.",
    ("The subscriber you have called is not available. Please leave a "
     "message after the tone."),
    ("Your call has been forwarded to an automated voice messaging system. "
     "5 5 5, 0 1 4 2 is not available. At the tone, please record your "
     "message."),
]
MACHINE_SHORT = ["Please leave a message.", "Leave it at the beep."]

ESPEAK_VOICES = ["en-us", "en-gb", "en-us+f3", "en-gb-x-rp", "en-gb-scotland",
                 "en-029", "en-us+m3", "en-gb+f4"]
ESPEAK_SPEEDS = [140, 155, 170, 185, 200]
FLITE_VOICES = ["kal", "slt", "awb", "rms"]
BEEP_HZ = [440, 480, 500, 620, 800, 850, 900, 950, 1000, 1100, 1200, 1400,
           1600, 1800, 2000, 1050, 745, 1330]


def sox(args, tmp):
    subprocess.run(["sox", "-R"] + args, check=True, capture_output=True,
                   cwd=tmp)


def read_wav(path):
    with wave.open(path, "rb") as w:
        assert w.getsampwidth() == 2 and w.getnchannels() == 1
        assert w.getframerate() == RATE
        data = w.readframes(w.getnframes())
    return np.frombuffer(data, dtype="<i2").astype(np.float64) / 32768.0


def write_wav(path, x):
    pcm = np.clip(np.round(x * 32768.0), -32768, 32767).astype("<i2")
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(pcm.tobytes())


def synth(job, tmp):
    """(engine, voice, speed, text) -> speech at 8 kHz, telephone band,
    trimmed to its first and last audible sample."""
    engine, voice, speed, text, key = job
    raw = os.path.join(tmp, "raw-%s.wav" % key)
    out = os.path.join(tmp, "tts-%s.wav" % key)
    if engine == "espeak-ng":
        subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", raw,
                        text], check=True, capture_output=True)
    else:
        subprocess.run(["flite", "-voice", voice, "--setf",
                        "duration_stretch=%.2f" % (170.0 / speed), "-t", text,
                        "-o", raw], check=True, capture_output=True)
    sox([raw, "-r", str(RATE), "-b", "16", "-c", "1", out, "highpass", "300",
         "lowpass", "3400"], tmp)
    x = read_wav(out)
    idx = np.nonzero(np.abs(x) > 10 ** (-45 / 20))[0]
    return x[idx[0]:idx[-1] + 1] if len(idx) else x


def active_rms(x):
    """RMS over the 20 ms frames within 30 dB of the loudest (speech)."""
    n = len(x) // 160
    f = np.sqrt(np.mean(x[:n * 160].reshape(n, 160) ** 2, axis=1) + 1e-12)
    return float(np.sqrt(np.mean(f[f > f.max() * 10 ** (-30 / 20)] ** 2)))


def speech_ms(x):
    """Milliseconds of 20 ms frames within 30 dB of the loudest."""
    n = len(x) // 160
    f = np.sqrt(np.mean(x[:n * 160].reshape(n, 160) ** 2, axis=1) + 1e-12)
    return int(np.sum(f > f.max() * 10 ** (-30 / 20))) * 20


def mulaw(x):
    """A G.711 mu-law round trip (8-bit companding)."""
    mu = 255.0
    y = np.sign(x) * np.log1p(mu * np.minimum(np.abs(x), 1.0)) / np.log1p(mu)
    y = np.round(y * 127.0) / 127.0
    return np.sign(y) * ((1 + mu) ** np.abs(y) - 1) / mu


class Noise:
    """Long sox noise recordings of each colour; clips at random offsets."""

    def __init__(self, tmp, rng):
        self.rng = rng
        self.src = {}
        for colour in ("whitenoise", "pinknoise", "brownnoise"):
            path = os.path.join(tmp, colour + ".wav")
            sox(["-n", "-r", str(RATE), "-b", "16", "-c", "1", path, "synth",
                 "40", colour, "vol", "0.5"], tmp)
            x = read_wav(path)
            self.src[colour] = x / np.sqrt(np.mean(x ** 2))

    def get(self, colour, n, dbfs):
        src = self.src[colour]
        off = self.rng.randrange(0, len(src) - n)
        return src[off:off + n] * 10 ** (dbfs / 20)


def beep(tmp, hz, dur, dbfs, key):
    path = os.path.join(tmp, "beep-%s.wav" % key)
    amp = 10 ** (dbfs / 20) * np.sqrt(2)
    sox(["-n", "-r", str(RATE), "-b", "16", "-c", "1", path, "synth",
         "%.3f" % dur, "sine", str(hz), "vol", "%.4f" % amp,
         "fade", "t", "0.005", "%.3f" % dur, "0.005"], tmp)
    return read_wav(path)


def ms_to_n(ms):
    return int(round(ms * RATE / 1000.0))


def plan(rng):
    """Every recording to make: a dict of choices, and the TTS jobs."""
    items, jobs = [], {}

    def voice():
        if rng.random() < 0.3:
            return ("flite", rng.choice(FLITE_VOICES),
                    rng.choice([150, 170, 190]))
        return ("espeak-ng", rng.choice(ESPEAK_VOICES),
                rng.choice(ESPEAK_SPEEDS))

    def tts(text, v):
        key = "%03d" % len(jobs)
        jobs[key] = v + (text, key)
        return key

    # humans: every short greeting twice (two voices), the long ones
    # three times, and "Hello?" ... "Hello?"
    for text in HUMAN_SHORT * 2:
        items.append({"expect": "human", "kind": "human-short", "text": text,
                      "parts": [tts(text, voice())]})
    for text in HUMAN_LONG * 3:
        items.append({"expect": "human", "kind": "human-long", "text": text,
                      "parts": [tts(text, voice())]})
    for text in ["Hello?", "Hello?", "Yes?", "Hello, hello?"]:
        v = voice()
        items.append({"expect": "human", "kind": "human-repeat",
                      "text": text + " ... " + text,
                      "parts": [tts(text, v), tts(text, v)]})

    # machines: every greeting four times, three of them with a beep;
    # the short ones twice, with a beep
    for text in MACHINE * 4 + MACHINE_SHORT * 2:
        items.append({"expect": "machine", "kind": "machine", "text": text,
                      "parts": [tts(text, voice())]})
    nbeep = 0
    for i, it in enumerate(items):
        if it["expect"] == "machine":
            it["beep"] = it["text"] in MACHINE_SHORT or nbeep % 4 != 3
            nbeep += 1

    # silence and noise, 6 s each
    for kind, colour, level in [
            ("silence", None, None), ("silence", None, None),
            ("silence", "whitenoise", -72), ("silence", "pinknoise", -66),
            ("noise", "whitenoise", -50), ("noise", "whitenoise", -35),
            ("noise", "whitenoise", -20), ("noise", "pinknoise", -45),
            ("noise", "pinknoise", -30), ("noise", "pinknoise", -18),
            ("noise", "brownnoise", -40), ("noise", "brownnoise", -25),
            ("noise", "hum", -30), ("noise", "hum", -20)]:
        items.append({"expect": "unsure", "kind": kind, "colour": colour,
                      "level": level, "parts": []})
    return items, jobs


def render(it, speech, noise, tmp, rng, idx):
    """Mix one recording; returns (samples, label)."""
    label = {k: it[k] for k in ("expect", "kind") if k in it}
    if it.get("text"):
        label["text"] = it["text"]
    total_ms = 6000
    if it["kind"] in ("silence", "noise"):
        n = ms_to_n(total_ms)
        if it["colour"] is None:
            x = np.zeros(n)
        elif it["colour"] == "hum":
            t = np.arange(n) / RATE
            x = (np.sin(2 * np.pi * 60 * t) + 0.3 * np.sin(2 * np.pi * 180 * t))
            x *= 10 ** (it["level"] / 20) * np.sqrt(2) / 1.04
        else:
            x = noise.get(it["colour"], n, it["level"])
        label.update(clear=True, noise=it["colour"] or "digital",
                     level_dbfs=it["level"])
        return x, label

    human = it["expect"] == "human"
    lead_ms = rng.uniform(150, 900) if human else rng.choice(
        [rng.uniform(0, 300), rng.uniform(300, 1200), rng.uniform(1200, 2000)])
    level = rng.uniform(-26, -14)
    parts = [speech[k] for k in it["parts"]]
    gain = 10 ** (level / 20) / active_rms(np.concatenate(parts))
    segs, t = [np.zeros(ms_to_n(lead_ms))], lead_ms
    speech_start = lead_ms
    talk = 0
    for i, p in enumerate(parts):
        if i:
            gap = rng.uniform(1200, 1800)
            segs.append(np.zeros(ms_to_n(gap)))
            t += gap
        segs.append(p * gain)
        t += len(p) * 1000.0 / RATE
        talk += speech_ms(p)
    speech_end = t
    label.update(lead_ms=round(lead_ms),
                 speech_ms=talk, speech_start_ms=round(speech_start),
                 speech_end_ms=round(speech_end), speech_dbfs=round(level, 1))

    if human:
        label["clear"] = speech_ms(parts[0]) <= 1300
        total_ms = max(total_ms, t + 3000)
    else:
        label["clear"] = talk >= 2000 and lead_ms < 2000
        if it.get("beep"):
            pause = rng.uniform(200, 1200)
            hz = rng.choice(BEEP_HZ)
            dur = rng.uniform(0.2, 1.0)
            bdb = rng.uniform(-20, -8)
            segs.append(np.zeros(ms_to_n(pause)))
            t += pause
            label.update(has_beep=True, beep_ms=round(t), beep_hz=hz,
                         beep_len_ms=round(dur * 1000), beep_dbfs=round(bdb, 1))
            segs.append(beep(tmp, hz, dur, bdb, idx))
            t += dur * 1000
        else:
            label["has_beep"] = False
        total_ms = t + 2500
    x = np.concatenate(segs)
    n = ms_to_n(total_ms)
    x = np.concatenate([x, np.zeros(max(0, n - len(x)))])[:n]

    # background: quiet line noise everywhere, louder for some
    r = rng.random()
    if r < 0.2:
        colour, ndb = rng.choice(["whitenoise", "pinknoise"]), level - rng.uniform(15, 22)
    else:
        colour, ndb = rng.choice(["whitenoise", "pinknoise", "brownnoise"]), rng.uniform(-70, -55)
    x = x + noise.get(colour, n, ndb)
    label.update(noise=colour, noise_dbfs=round(ndb, 1))
    return x, label


def percentile(xs, p):
    """The p-th percentile (nearest rank) of a non-empty list."""
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, int(np.ceil(p / 100.0 * len(xs))) - 1))]


def evaluate(labels, results, beep_tol_ms=100):
    """Scores `parley amd analyze --json` results (dicts, in the order of
    labels) against the labels. Returns a dict of figures and the list of
    wrong decisions."""
    classes = ("human", "machine", "unsure")
    conf = {e: {d: 0 for d in classes} for e in classes}
    m = {"n": len(labels), "errors": [], "confusion": conf}
    hm = clear = hm_ok = clear_ok = none = none_ok = 0
    clear_human_as_machine = 0
    times = {"human": [], "machine": []}
    beeps = beeps_ok = beeps_heard = beeps_heard_ok = false_beeps = 0
    beep_err, end_err = [], []
    for l, r in zip(labels, results):
        assert l["file"] == os.path.basename(r["file"]), (l["file"], r["file"])
        e, d = l["expect"], r["decision"]
        conf[e][d if d in classes else "unsure"] += 1
        ok = d == e
        if e in ("human", "machine"):
            hm += 1
            hm_ok += ok
            if l["clear"]:
                clear += 1
                clear_ok += ok
                clear_human_as_machine += e == "human" and d == "machine"
            if ok:
                times[e].append(r["decided_ms"])
        else:
            none += 1
            none_ok += ok
        if not ok:
            m["errors"].append({"file": l["file"], "expect": e, "decision": d,
                                "cause": r["cause"], "at_ms": r["decided_ms"],
                                "clear": l["clear"], "text": l.get("text", "")})
        if l.get("has_beep"):
            beeps += 1
            found = r["beep_ms"] is not None and \
                abs(r["beep_ms"] - l["beep_ms"]) <= beep_tol_ms
            beeps_ok += found
            if r["beep_ms"] is not None:
                beep_err.append(r["beep_ms"] - l["beep_ms"])
            if d == "machine":          # still listening when it came
                beeps_heard += 1
                beeps_heard_ok += found
        elif r["beep_ms"] is not None:
            false_beeps += 1
        if e == "machine" and d == "machine" and not l.get("has_beep") and \
                r["greeting_end_ms"] is not None:
            end_err.append(r["greeting_end_ms"] - l["speech_end_ms"])
    m.update(
        hm_total=hm, hm_correct=hm_ok, hm_accuracy=hm_ok / hm,
        clear_total=clear, clear_correct=clear_ok,
        clear_accuracy=clear_ok / clear,
        clear_human_as_machine=clear_human_as_machine,
        none_total=none, none_correct=none_ok,
        all_correct=hm_ok + none_ok, all_accuracy=(hm_ok + none_ok) / len(labels),
        beeps=beeps, beeps_found=beeps_ok, beeps_heard=beeps_heard,
        beeps_heard_found=beeps_heard_ok, false_beeps=false_beeps,
        beep_err_ms=beep_err, greeting_end_after_speech_ms=end_err,
        ns_per_frame=float(np.median([r["ns_per_frame"] for r in results])))
    for k in ("human", "machine"):
        ts = times[k]
        m[k + "_median_ms"] = float(np.median(ts)) if ts else None
        m[k + "_p90_ms"] = percentile(ts, 90) if ts else None
    ts = times["human"] + times["machine"]
    m["median_ms"] = float(np.median(ts)) if ts else None
    m["p90_ms"] = percentile(ts, 90) if ts else None
    return m


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("outdir")
    ap.add_argument("--seed", type=int, default=4)
    a = ap.parse_args()
    os.makedirs(a.outdir, exist_ok=True)
    rng = random.Random(a.seed)
    items, jobs = plan(rng)

    with tempfile.TemporaryDirectory(prefix="amdset-") as tmp:
        with concurrent.futures.ThreadPoolExecutor(os.cpu_count() or 2) as ex:
            done = {k: ex.submit(synth, j, tmp) for k, j in jobs.items()}
            speech = {k: f.result() for k, f in done.items()}
        noise = Noise(tmp, rng)
        labels = []
        for i, it in enumerate(items):
            x, label = render(it, speech, noise, tmp, rng, i)
            x = mulaw(np.clip(x, -1.0, 1.0))
            name = "%03d-%s.wav" % (i, label["kind"])
            write_wav(os.path.join(a.outdir, name), x)
            label["file"] = name
            label["voices"] = sorted({"%s:%s@%d" % jobs[k][:3]
                                      for k in it["parts"]})
            label["duration_ms"] = round(len(x) * 1000 / RATE)
            labels.append(label)

    with open(os.path.join(a.outdir, "labels.json"), "w") as f:
        json.dump(labels, f, indent=1)
    counts = {}
    for l in labels:
        counts[l["kind"]] = counts.get(l["kind"], 0) + 1
    print("%d recordings in %s: %s" % (len(labels), a.outdir, ", ".join(
        "%d %s" % (v, k) for k, v in sorted(counts.items()))), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
