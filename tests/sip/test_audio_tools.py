"""Self-tests of tests/sip/audio.py: pure numpy, no processes, fast."""
import os
import struct
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import audio  # noqa: E402


def g711_ulaw_roundtrip(x):
    """mu-law companding and back (continuous formula, close to G.711)."""
    mu = 255.0
    y = np.sign(x) * np.log1p(mu * np.abs(x)) / np.log1p(mu)
    y = np.round(y * 127) / 127
    return np.sign(y) * np.expm1(np.abs(y) * np.log1p(mu)) / mu


def test_tone_and_dominant_freq():
    for f in (300, 440, 1000, 3400):
        x = audio.tone(f, 0.5)
        assert len(x) == 4000
        assert abs(audio.dominant_freq(x) - f) < 2


def test_dominant_freq_in_noise():
    rng = np.random.default_rng(3)
    x = audio.tone(1234, 1.0, amp=0.1) + rng.normal(0, 0.05, 8000)
    assert abs(audio.dominant_freq(x) - 1234) < 2


def test_goertzel_power_units():
    x = audio.tone(700, 1.0, amp=0.5, ramp=0)
    assert goertzel_close(audio.goertzel_power(x, 700), 0.125)
    assert audio.goertzel_power(x, 1500) < 1e-5
    assert abs(audio.tone_level_db(x, 700) - 20 * np.log10(0.5 / np.sqrt(2))) < 0.1
    # equal to the power of the whole signal when it is a pure sine
    assert goertzel_close(audio.goertzel_power(x, 700), np.mean(x ** 2))


def goertzel_close(a, b, rel=0.02):
    return abs(a - b) <= rel * abs(b)


def test_wav_roundtrip_mono_and_stereo(tmp_path):
    x = audio.tone(440, 0.25)
    p = str(tmp_path / "m.wav")
    audio.write_wav(p, x)
    y, rate = audio.read_wav(p)
    assert rate == 8000 and y.shape == x.shape
    assert np.max(np.abs(x - y)) < 1e-4
    st = np.stack([audio.tone(440, 0.25, 16000), audio.tone(880, 0.25, 16000)], axis=1)
    p2 = str(tmp_path / "s.wav")
    audio.write_wav(p2, st, 16000)
    z, rate = audio.read_wav(p2)
    assert rate == 16000 and z.shape == (4000, 2)
    assert abs(audio.dominant_freq(z[:, 1], 16000) - 880) < 2


def _write_raw_wav(path, tag, channels, rate, bits, payload):
    block = channels * bits // 8
    with open(path, "wb") as f:
        f.write(b"RIFF" + struct.pack("<I", 36 + len(payload)) + b"WAVE")
        f.write(b"fmt " + struct.pack("<IHHIIHH", 16, tag, channels, rate,
                                      rate * block, block, bits))
        f.write(b"data" + struct.pack("<I", len(payload)) + payload)


def test_read_float_24bit_and_8bit_wavs(tmp_path):
    x = audio.tone(500, 0.1, amp=0.5, ramp=0)
    p = str(tmp_path / "f.wav")
    _write_raw_wav(p, 3, 1, 8000, 32, x.astype("<f4").tobytes())
    y, _ = audio.read_wav(p)
    assert np.max(np.abs(x - y)) < 1e-6
    v = np.round(x * (1 << 23)).astype(np.int32)
    b = np.stack([v & 0xFF, (v >> 8) & 0xFF, (v >> 16) & 0xFF], axis=1).astype(np.uint8)
    p = str(tmp_path / "24.wav")
    _write_raw_wav(p, 1, 1, 8000, 24, b.tobytes())
    y, _ = audio.read_wav(p)
    assert np.max(np.abs(x - y)) < 1e-6
    p = str(tmp_path / "8.wav")
    _write_raw_wav(p, 1, 1, 8000, 8, (np.round(x * 127) + 128).astype(np.uint8).tobytes())
    y, _ = audio.read_wav(p)
    assert np.max(np.abs(x - y)) < 0.01


def test_read_wav_tolerates_bad_data_size(tmp_path):
    """Writers killed mid-call leave 0 or stale sizes in the header."""
    x = audio.tone(440, 0.2)
    p = str(tmp_path / "t.wav")
    audio.write_wav(p, x)
    with open(p, "r+b") as f:
        f.seek(40)
        f.write(struct.pack("<I", 0xFFFFFFF0))
    y, _ = audio.read_wav(p)
    assert len(y) == len(x)
    with open(p, "r+b") as f:
        f.seek(40)
        f.write(struct.pack("<I", 0))
    y, _ = audio.read_wav(p)
    assert len(y) == len(x)


@pytest.mark.parametrize("src", [16000, 22050, 44100, 48000, 11025])
def test_resample_keeps_in_band_tone(src):
    x = audio.tone(1000, 0.5, rate=src, amp=0.5)
    y = audio.resample(x, src, 8000)
    assert abs(len(y) - 4000) <= 1
    assert abs(audio.dominant_freq(y) - 1000) < 2
    mid = y[400:-400]
    assert abs(audio.rms(mid) - 0.5 / np.sqrt(2)) < 0.01


def test_resample_removes_out_of_band_content():
    """6 kHz at 48 kHz would alias to 2 kHz at 8 kHz without filtering."""
    x = audio.tone(6000, 0.5, rate=48000, amp=0.5)
    y = audio.resample(x, 48000, 8000)
    assert audio.rms_dbfs(y[400:-400]) < -50


def test_resample_up():
    x = audio.tone(700, 0.5)
    y = audio.resample(x, 8000, 16000)
    assert len(y) == 8000
    assert abs(audio.dominant_freq(y, 16000) - 700) < 2


def test_load_resamples_and_mixes(tmp_path):
    st = np.stack([audio.tone(600, 0.5, 44100), audio.tone(600, 0.5, 44100)], axis=1)
    p = str(tmp_path / "st.wav")
    audio.write_wav(p, st, 44100)
    y = audio.load(p)
    assert abs(len(y) - 4000) <= 1
    assert abs(audio.dominant_freq(y) - 600) < 2


def test_xcorr_finds_delay_and_scores_copy():
    ref = audio.speech_like()
    for delay in (0, 1, 137, 1600):
        got = audio.concat(audio.silence(delay / 8000), 0.3 * ref, audio.silence(0.5))
        peak, lag = audio.normalised_xcorr_peak(ref, got)
        assert lag == delay
        assert peak > 0.999
        assert audio.best_alignment(ref, got) == delay


def test_xcorr_negative_lag_and_bound():
    ref = audio.speech_like()
    got = ref[800:]                       # recording started 100 ms late
    peak, lag = audio.normalised_xcorr_peak(ref, got)
    assert lag == -800 and peak > 0.999
    peak, lag = audio.normalised_xcorr_peak(ref, np.concatenate([np.zeros(3000), ref]),
                                           max_lag=1000)
    assert abs(lag) <= 1000


def test_xcorr_unrelated_signals_score_low():
    rng = np.random.default_rng(7)
    a = rng.normal(0, 0.1, 8000)
    b = rng.normal(0, 0.1, 8000)
    peak, _ = audio.normalised_xcorr_peak(a[:4000], b)
    assert peak < 0.2


def test_snr_db():
    rng = np.random.default_rng(5)
    ref = audio.speech_like()
    got = audio.concat(audio.silence(0.05), 0.5 * ref + rng.normal(0, 0.005, len(ref)))
    snr, delay = audio.snr_db(ref, got)
    assert delay == 400
    # signal power of 0.5*ref against noise power 0.005**2
    expect = 10 * np.log10(np.mean((0.5 * ref) ** 2) / 0.005 ** 2)
    assert abs(snr - expect) < 1.0
    snr_g711, _ = audio.snr_db(ref, g711_ulaw_roundtrip(ref))
    assert 25 < snr_g711 < 45
    snr_same, delay = audio.snr_db(ref, ref)
    assert snr_same > 100 and delay == 0


def test_detect_tone_segments():
    x = audio.concat(audio.silence(0.5), audio.tone(440, 1.0), audio.silence(0.3),
                     audio.tone(1000, 0.4), audio.tone(440, 0.5), audio.silence(0.2))
    segs = audio.detect_tone_segments(x, 440)
    assert len(segs) == 2
    (s0, e0), (s1, e1) = segs
    assert abs(s0 - 0.5) <= 0.04 and abs(e0 - 1.5) <= 0.04
    assert abs(s1 - 2.2) <= 0.04 and abs(e1 - 2.7) <= 0.04
    assert audio.detect_tone_segments(x, 1000) == [(pytest.approx(1.8, abs=0.04),
                                                    pytest.approx(2.2, abs=0.04))]
    assert audio.detect_tone_segments(x, 2000) == []


def test_detect_tone_segments_ignores_quiet_and_mixed():
    rng = np.random.default_rng(1)
    quiet = audio.tone(440, 1.0, amp=0.001)
    assert audio.detect_tone_segments(quiet, 440) == []
    noisy = audio.tone(440, 1.0, amp=0.05) + rng.normal(0, 0.2, 8000)
    assert audio.detect_tone_segments(noisy, 440) == []


def test_dtmf_generation_and_detection():
    x = audio.pad(audio.dtmf_sequence("1234567890*#ABCD"), 0.2, 0.2)
    assert audio.detect_dtmf(x) == "1234567890*#ABCD"
    for k, (lo, hi) in audio.DTMF_FREQS.items():
        t = audio.dtmf_tone(k, 0.2)
        assert audio.goertzel_power(t, lo) > 100 * audio.goertzel_power(t, 1000)
        assert audio.goertzel_power(t, hi) > 100 * audio.goertzel_power(t, 1000)
    # repeated key needs the gap to count twice
    assert audio.detect_dtmf(audio.dtmf_sequence("11")) == "11"
    assert audio.detect_dtmf(audio.tone(440, 1.0)) == ""
    assert audio.detect_dtmf(audio.speech_like()) == ""


def test_speech_like_is_voice_band_and_deterministic():
    x = audio.speech_like()
    assert np.array_equal(x, audio.speech_like())
    assert 1.0 < len(x) / 8000 < 3.0
    spec = np.abs(np.fft.rfft(x)) ** 2
    freqs = np.fft.rfftfreq(len(x), 1 / 8000)
    assert spec[(freqs > 80) & (freqs < 1000)].sum() > 0.95 * spec.sum()
    custom = audio.speech_like([(150, 0.2), (200, 0.3)])
    assert abs(len(custom) / 8000 - (0.2 + 0.3 + 0.12)) < 0.01
