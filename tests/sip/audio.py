"""Signal measures for telephony tests (numpy only).

Signals are float64 numpy arrays in [-1, 1), mono, at a known rate; the
telephone band is 8 kHz, so most helpers default to RATE = 8000 and
`load()` reads any WAV and brings it there.

Reading:      read_wav, write_wav, load, resample, to_mono
Making:       tone, silence, concat, speech_like, dtmf_tone, dtmf_sequence,
              pad
Measuring:    rms, rms_dbfs, dominant_freq, goertzel_power, tone_level_db,
              normalised_xcorr_peak, best_alignment, snr_db,
              detect_tone_segments, detect_dtmf
"""
import struct

import numpy as np

RATE = 8000

DTMF_LOW = (697, 770, 852, 941)
DTMF_HIGH = (1209, 1336, 1477, 1633)
DTMF_KEYS = ("123A", "456B", "789C", "*0#D")
DTMF_FREQS = {key: (DTMF_LOW[r], DTMF_HIGH[c])
              for r, row in enumerate(DTMF_KEYS) for c, key in enumerate(row)}


# ---------------------------------------------------------------- WAV I/O

def read_wav(path):
    """Read a RIFF/WAVE file: PCM 8/16/24/32-bit, IEEE float 32/64, or
    WAVE_FORMAT_EXTENSIBLE of those. Returns (samples, rate) where samples
    is float64 shaped (n,) for mono or (n, channels) otherwise.

    Tolerates the data size being 0 or too large (files still being
    written, or killed writers): it reads what is there."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ValueError("%s: not a RIFF/WAVE file" % path)
    pos, fmt, payload = 12, None, None
    while pos + 8 <= len(data):
        cid, size = data[pos:pos + 4], struct.unpack("<I", data[pos + 4:pos + 8])[0]
        body = data[pos + 8:pos + 8 + size]
        if cid == b"fmt ":
            fmt = body
        elif cid == b"data":
            # a header written before the samples says 0 (or too much)
            payload = data[pos + 8:] if size == 0 or len(body) < size else body
            break
        pos += 8 + size + (size & 1)
    if fmt is None or payload is None:
        raise ValueError("%s: missing fmt or data chunk" % path)
    tag, channels, rate, _, block, bits = struct.unpack("<HHIIHH", fmt[:16])
    if tag == 0xFFFE and len(fmt) >= 26:  # WAVE_FORMAT_EXTENSIBLE
        tag = struct.unpack("<H", fmt[24:26])[0]
    width = bits // 8
    usable = len(payload) - len(payload) % (width * channels)
    raw = payload[:usable]
    if tag == 1:
        if width == 1:
            x = (np.frombuffer(raw, np.uint8).astype(np.float64) - 128) / 128
        elif width == 2:
            x = np.frombuffer(raw, "<i2").astype(np.float64) / 32768
        elif width == 3:
            b = np.frombuffer(raw, np.uint8).reshape(-1, 3).astype(np.int32)
            v = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
            v = np.where(v >= 1 << 23, v - (1 << 24), v)
            x = v.astype(np.float64) / (1 << 23)
        elif width == 4:
            x = np.frombuffer(raw, "<i4").astype(np.float64) / 2 ** 31
        else:
            raise ValueError("%s: %d-bit PCM unsupported" % (path, bits))
    elif tag == 3:
        x = np.frombuffer(raw, "<f4" if width == 4 else "<f8").astype(np.float64)
    else:
        raise ValueError("%s: WAV format tag %d unsupported" % (path, tag))
    if channels > 1:
        x = x.reshape(-1, channels)
    return x, rate


def write_wav(path, x, rate=RATE):
    """Write mono (n,) or multi-channel (n, ch) float samples as 16-bit PCM."""
    x = np.asarray(x, dtype=np.float64)
    channels = 1 if x.ndim == 1 else x.shape[1]
    pcm = (np.clip(x, -1, 32767 / 32768) * 32768).round().astype("<i2")
    body = pcm.tobytes()
    with open(path, "wb") as f:
        f.write(b"RIFF" + struct.pack("<I", 36 + len(body)) + b"WAVE")
        f.write(b"fmt " + struct.pack("<IHHIIHH", 16, 1, channels, rate,
                                      rate * 2 * channels, 2 * channels, 16))
        f.write(b"data" + struct.pack("<I", len(body)) + body)


def to_mono(x):
    """Average the channels of an (n, ch) array; mono passes through."""
    x = np.asarray(x, dtype=np.float64)
    return x if x.ndim == 1 else x.mean(axis=1)


def resample(x, src_rate, dst_rate=RATE, zero_crossings=16):
    """Band-limited resampling by any ratio (windowed-sinc interpolation).
    When downsampling, content above 0.95 x the new Nyquist is removed, so
    nothing aliases into the telephone band."""
    x = to_mono(x)
    if src_rate == dst_rate or len(x) == 0:
        return x.copy()
    ratio = dst_rate / src_rate
    scale = min(1.0, ratio)
    cutoff = scale * (0.95 if ratio < 1 else 1.0)
    hw = int(np.ceil(zero_crossings / scale))
    n_out = int(round(len(x) * ratio))
    xp = np.concatenate([np.zeros(hw), x, np.zeros(hw + 1)])
    taps = np.arange(-hw + 1, hw + 1)
    out = np.empty(n_out)
    step = max(1, 2 ** 20 // (2 * hw))
    for start in range(0, n_out, step):
        t = np.arange(start, min(n_out, start + step)) / ratio
        base = np.floor(t).astype(np.int64)
        idx = base[:, None] + taps[None, :]
        d = t[:, None] - idx
        win = 0.5 * (1 + np.cos(np.pi * np.clip(d / hw, -1, 1)))
        h = cutoff * np.sinc(cutoff * d) * win
        out[start:start + len(t)] = (h * xp[idx + hw]).sum(axis=1)
    return out


def load(path, rate=RATE, channel=None):
    """Read any WAV, mix to mono (or take one channel: Parley's call
    recordings have the caller left and the agent right) and resample to
    `rate` (8 kHz default)."""
    x, src = read_wav(path)
    if channel is not None and np.asarray(x).ndim == 2:
        return resample(np.asarray(x, dtype=np.float64)[:, channel], src, rate)
    return resample(to_mono(x), src, rate)


# ------------------------------------------------------------ test signals

def silence(dur, rate=RATE):
    return np.zeros(int(round(dur * rate)))


def tone(freq, dur, rate=RATE, amp=0.5, phase=0.0, ramp=0.005):
    """A sine of `freq` Hz; `ramp` seconds of raised-cosine fade in/out keep
    clicks (broadband energy) out of frequency measurements."""
    n = int(round(dur * rate))
    x = amp * np.sin(2 * np.pi * freq * np.arange(n) / rate + phase)
    return _fade(x, int(ramp * rate))


def _fade(x, k):
    if k > 0 and len(x) > 2 * k:
        w = 0.5 - 0.5 * np.cos(np.pi * np.arange(k) / k)
        x[:k] *= w
        x[-k:] *= w[::-1]
    return x


def concat(*parts):
    return np.concatenate([np.asarray(p, dtype=np.float64) for p in parts])


def pad(x, before=0.0, after=0.0, rate=RATE):
    """Silence around a signal (baresip's aufile source ends the call when
    its file ends, so give it a tail longer than the call)."""
    return concat(silence(before, rate), x, silence(after, rate))


def speech_like(segments=None, rate=RATE, amp=0.4, seed=1):
    """A "speech-like" sequence: syllables of two or three harmonics with a
    gliding pitch and an amplitude envelope, separated by short gaps.
    `segments` is a list of (f0_hz, dur_s) syllables; a gap of 60 ms follows
    each. Without it, a fixed pseudo-random 1.5 s utterance is made."""
    rng = np.random.default_rng(seed)
    if segments is None:
        segments = [(float(rng.uniform(110, 240)), float(rng.uniform(0.12, 0.3)))
                    for _ in range(7)]
    parts = []
    for f0, dur in segments:
        n = int(round(dur * rate))
        t = np.arange(n) / rate
        f = f0 * (1 + 0.15 * t / max(dur, 1e-9))  # pitch glide
        ph = 2 * np.pi * np.cumsum(f) / rate
        syl = (np.sin(ph) + 0.5 * np.sin(2 * ph) + 0.25 * np.sin(3 * ph)) / 1.75
        env = np.sin(np.pi * np.arange(n) / max(n, 1)) ** 0.5
        parts.append(amp * syl * env)
        parts.append(silence(0.06, rate))
    return concat(*parts)


def dtmf_tone(key, dur=0.1, rate=RATE, amp=0.35):
    """The dual tone of one DTMF key ("0"-"9", "*", "#", "A"-"D")."""
    lo, hi = DTMF_FREQS[key.upper()]
    return tone(lo, dur, rate, amp) + tone(hi, dur, rate, amp)


def dtmf_sequence(keys, on=0.1, off=0.1, rate=RATE, amp=0.35):
    return concat(*[concat(dtmf_tone(k, on, rate, amp), silence(off, rate))
                    for k in keys])


# ---------------------------------------------------------------- measures

def rms(x):
    x = np.asarray(x, dtype=np.float64)
    return float(np.sqrt(np.mean(x ** 2))) if len(x) else 0.0


def rms_dbfs(x):
    """RMS level in dB relative to full scale (a full-scale sine is -3)."""
    return 20 * np.log10(max(rms(x), 1e-12))


def dominant_freq(x, rate=RATE, fmin=50.0):
    """Frequency (Hz) of the strongest spectral peak above fmin, from a
    Hann-windowed FFT with parabolic interpolation (accurate to ~1 Hz for a
    second of tone)."""
    x = to_mono(x)
    if len(x) < 16:
        return 0.0
    n = len(x)
    spec = np.abs(np.fft.rfft((x - x.mean()) * np.hanning(n)))
    k0 = int(np.ceil(fmin * n / rate))
    if k0 >= len(spec) - 1:
        return 0.0
    k = k0 + int(np.argmax(spec[k0:]))
    if 0 < k < len(spec) - 1:
        a, b, c = np.log(spec[k - 1:k + 2] + 1e-20)
        denom = a - 2 * b + c
        k = k + (0.5 * (a - c) / denom if denom else 0.0)
    return float(k * rate / n)


def goertzel_power(x, freq, rate=RATE):
    """Power of the `freq` component, scaled so that a sine of amplitude A
    (lasting the whole block) reads A**2 / 2, the same unit as mean(x**2).
    Uses the generalised Goertzel recurrence (any frequency, not only
    FFT bins)."""
    x = to_mono(x)
    n = len(x)
    if n == 0:
        return 0.0
    w = 2 * np.pi * freq / rate
    # the recurrence is a single-pole filter; evaluate it in closed form
    # as a DFT at a non-integer bin, which is what it computes
    xk = np.dot(x, np.exp(-1j * w * np.arange(n)))
    return float(2 * abs(xk) ** 2 / n ** 2)


def tone_level_db(x, freq, rate=RATE):
    """Level of the `freq` component in dBFS (full-scale sine = -3 dB)."""
    return 10 * np.log10(max(goertzel_power(x, freq, rate), 1e-24))


def _xcorr(ref, got):
    """Full cross-correlation c[lag] = sum got[n + lag] * ref[n] for
    lag = -(len(ref)-1) .. len(got)-1, via FFT."""
    n = len(ref) + len(got) - 1
    size = 1 << (n - 1).bit_length()
    c = np.fft.irfft(np.fft.rfft(got, size) * np.conj(np.fft.rfft(ref, size)), size)
    # lags 0..len(got)-1 are at the start, negative lags wrap to the end
    return np.concatenate([c[size - (len(ref) - 1):], c[:len(got)]]) \
        if len(ref) > 1 else c[:len(got)]


def normalised_xcorr_peak(ref, got, max_lag=None):
    """Best normalised cross-correlation between `ref` and an equally long
    stretch of `got` (lag >= 0: ref starts `lag` samples into got; negative
    lags are allowed when got starts part-way through ref). Each lag is
    normalised by the energies of the overlapping parts, so an exact (even
    scaled) copy of ref inside got scores 1.0 regardless of what surrounds
    it. Returns (peak, lag). `max_lag` bounds |lag| in samples."""
    ref = to_mono(ref)
    got = to_mono(got)
    if len(ref) == 0 or len(got) == 0:
        return 0.0, 0
    c = _xcorr(ref, got)
    lags = np.arange(-(len(ref) - 1), len(got))
    # overlap energies of ref and got at every lag, from cumulative sums
    cr = np.concatenate([[0.0], np.cumsum(ref ** 2)])
    cg = np.concatenate([[0.0], np.cumsum(got ** 2)])
    g0 = np.clip(lags, 0, len(got))
    g1 = np.clip(lags + len(ref), 0, len(got))
    r0 = np.clip(-lags, 0, len(ref))
    r1 = r0 + (g1 - g0)
    e = (cr[r1] - cr[r0]) * (cg[g1] - cg[g0])
    # demand an overlap of at least a quarter of ref (or of got if shorter)
    min_overlap = max(1, min(len(ref), len(got)) // 4)
    valid = ((g1 - g0) >= min_overlap) & (e > 1e-18)
    if max_lag is not None:
        valid &= np.abs(lags) <= max_lag
    if not valid.any():
        return 0.0, 0
    score = np.where(valid, c / np.sqrt(np.where(valid, e, 1.0)), -np.inf)
    i = int(np.argmax(score))
    return float(score[i]), int(lags[i])


def best_alignment(ref, got, max_lag=None):
    """Lag (samples) at which `ref` best matches `got`; see
    normalised_xcorr_peak."""
    return normalised_xcorr_peak(ref, got, max_lag)[1]


def snr_db(ref, got, max_lag=None):
    """Signal-to-noise ratio of `got` as a copy of `ref`, after finding the
    best alignment by cross-correlation and the best gain (least squares);
    everything in `got` that is not the scaled, shifted ref counts as noise,
    over the overlapping span. Returns (snr_db, delay) with delay in samples
    (positive: got lags ref). G.711 round trips score ~35-38 dB on tones."""
    ref = to_mono(ref)
    got = to_mono(got)
    peak, lag = normalised_xcorr_peak(ref, got, max_lag)
    if peak <= 0:
        return -np.inf, lag
    if lag >= 0:
        r, g = ref, got[lag:]
    else:
        r, g = ref[-lag:], got
    n = min(len(r), len(g))
    r, g = r[:n], g[:n]
    gain = np.dot(r, g) / max(np.dot(r, r), 1e-20)
    sig = gain * r
    noise = g - sig
    return float(10 * np.log10(max(np.dot(sig, sig), 1e-20) /
                               max(np.dot(noise, noise), 1e-20))), lag


def _frames(x, rate, frame_ms):
    n = max(1, int(rate * frame_ms / 1000))
    count = len(x) // n
    return x[:count * n].reshape(count, n), n


def detect_tone_segments(x, freq, rate=RATE, frame_ms=20, min_ratio=0.5,
                         min_dbfs=-45.0, min_dur=0.04, max_gap=0.04):
    """Where a tone of `freq` Hz is present: list of (start_s, end_s).

    A frame counts when the tone holds at least `min_ratio` of the frame's
    power and the frame is louder than `min_dbfs`. Runs of frames are
    merged across gaps up to `max_gap` s and kept when at least `min_dur` s
    long. Resolution is one frame (20 ms)."""
    x = to_mono(x)
    frames, n = _frames(x, rate, frame_ms)
    if len(frames) == 0:
        return []
    w = 2 * np.pi * freq / rate
    basis = np.exp(-1j * w * np.arange(n))
    tone_p = 2 * np.abs(frames @ basis) ** 2 / n ** 2
    total = np.mean(frames ** 2, axis=1)
    on = (tone_p >= min_ratio * np.maximum(total, 1e-20)) & \
         (total >= 10 ** (min_dbfs / 10))
    return _runs(on, n / rate, min_dur, max_gap)


def _runs(on, frame_s, min_dur, max_gap):
    segs = []
    start = None
    for i, v in enumerate(list(on) + [False]):
        if v and start is None:
            start = i
        elif not v and start is not None:
            segs.append([start * frame_s, i * frame_s])
            start = None
    merged = []
    for s in segs:
        if merged and s[0] - merged[-1][1] <= max_gap + 1e-9:
            merged[-1][1] = s[1]
        else:
            merged.append(s)
    return [(round(a, 4), round(b, 4)) for a, b in merged if b - a >= min_dur - 1e-9]


def detect_dtmf(x, rate=RATE, frame_ms=20, min_dur=0.04, min_dbfs=-40.0):
    """In-band DTMF digits in order, e.g. "1234#": per frame, the strongest
    low-group and high-group tones must each be 8 dB above the others of
    their group and together carry most of the frame's power."""
    x = to_mono(x)
    frames, n = _frames(x, rate, frame_ms)
    if len(frames) == 0:
        return ""
    t = np.arange(n)

    def powers(freqs):
        return np.stack([2 * np.abs(frames @ np.exp(-2j * np.pi * f / rate * t)) ** 2 / n ** 2
                         for f in freqs], axis=1)

    lo, hi = powers(DTMF_LOW), powers(DTMF_HIGH)
    total = np.mean(frames ** 2, axis=1)
    keys = []
    for i in range(len(frames)):
        li, hj = int(np.argmax(lo[i])), int(np.argmax(hi[i]))
        lo_rest = np.delete(lo[i], li).max()
        hi_rest = np.delete(hi[i], hj).max()
        ok = (total[i] >= 10 ** (min_dbfs / 10) and
              lo[i, li] > 6.3 * lo_rest and hi[i, hj] > 6.3 * hi_rest and
              lo[i, li] + hi[i, hj] >= 0.6 * total[i])
        keys.append(DTMF_KEYS[li][hj] if ok else None)
    need = max(1, int(round(min_dur * 1000 / frame_ms)))
    out, prev, run = [], None, 0
    for k in keys + [None]:
        if k is not None and k == prev:
            run += 1
        else:
            if prev is not None and run >= need:
                out.append(prev)
            prev, run = k, 1
    return "".join(out)
