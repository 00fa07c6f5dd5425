"""The SIP test tooling proves itself with no Parley involved: real baresip,
linphonec and the libre callee talk to each other on 127.0.0.1, and the
audio that crossed is checked by signal measures."""
import os
import sys
import time

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import audio  # noqa: E402
import peers  # noqa: E402
from peers import Baresip, Callee, Linphonec  # noqa: E402

pytestmark = pytest.mark.skipif(
    not all(os.path.exists(p) for p in ("/usr/bin/baresip", "/usr/bin/linphonec")),
    reason="baresip-core and linphone-cli are needed (scripts/deps.sh --test)")

A_HZ, B_HZ, CALLEE_HZ = 600, 1000, 440


@pytest.fixture
def make(tmp_path):
    """make(cls, name, **kw) -> a started peer, stopped at teardown (a
    Callee that exits non-zero or with a sanitizer report fails the test)."""
    made = []

    def factory(cls, name, **kw):
        peer = cls(str(tmp_path / name), **kw)
        made.append(peer)
        return peer.start()

    yield factory
    errors = []
    for peer in reversed(made):
        try:
            peer.stop()
        except peers.PeerError as e:
            errors.append(str(e))
    for peer in made:
        pid = getattr(peer, "proc", None) and peer.proc.pid
        if pid:
            with pytest.raises(ProcessLookupError):
                os.kill(pid, 0)
    assert not errors, errors


def assert_tone(x, freq, min_secs, what):
    """x is mostly a tone of freq: dominant frequency and tone coverage."""
    assert len(x) >= min_secs * audio.RATE, "%s: only %.2fs" % (what, len(x) / audio.RATE)
    f = audio.dominant_freq(x)
    assert abs(f - freq) < 5, "%s: dominant %.1f Hz, expected %d" % (what, f, freq)
    covered = sum(e - s for s, e in audio.detect_tone_segments(x, freq))
    assert covered >= 0.8 * len(x) / audio.RATE, "%s: tone in %.2fs of %.2fs" % (
        what, covered, len(x) / audio.RATE)


# ------------------------------------------------------------ baresip pair

def test_baresip_calls_baresip_two_way_audio(make):
    a = make(Baresip, "a", user="alice", audio_wav=audio.tone(A_HZ, 5))
    b = make(Baresip, "b", user="bob", audio_wav=audio.tone(B_HZ, 5))
    a.dial(b.uri)
    est_a = a.wait_event("CALL_ESTABLISHED", 5)
    est_b = b.wait_event("CALL_ESTABLISHED", 5)
    assert est_a["direction"] == "outgoing" and est_b["direction"] == "incoming"
    assert est_a["id"] == est_b["id"]             # the SIP Call-ID
    time.sleep(2.0)
    a.hangup()
    assert a.wait_event("CALL_CLOSED", 5)["param"] == "Connection reset by user"
    assert b.wait_event("CALL_CLOSED", 5)["param"] == "Connection reset by peer"

    assert_tone(a.received_audio(), B_HZ, 1.5, "alice heard")
    assert_tone(b.received_audio(), A_HZ, 1.5, "bob heard")
    assert_tone(a.sent_audio(), A_HZ, 1.5, "alice sent")
    assert_tone(b.sent_audio(), B_HZ, 1.5, "bob sent")


def test_baresip_speech_like_audio_survives_g711(make):
    """What bob decodes is what alice encoded, sample for sample up to G.711
    quantisation: snr_db() after alignment, and the xcorr peak."""
    speech = audio.concat(*[audio.speech_like(seed=s) for s in range(1, 4)])
    a = make(Baresip, "a", user="alice", audio_wav=speech)
    b = make(Baresip, "b", user="bob")
    a.dial(b.uri)
    b.wait_event("CALL_ESTABLISHED", 5)
    time.sleep(2.5)
    b.hangup()
    a.wait_event("CALL_CLOSED", 5)
    sent, got = a.sent_audio(), b.received_audio()
    snr, delay = audio.snr_db(sent, got)
    peak, lag = audio.normalised_xcorr_peak(sent, got)
    assert lag == delay
    assert snr > 25, "snr %.1f dB at delay %d" % (snr, delay)
    assert peak > 0.99
    # and it really is the speech signal that was sent, not just any audio
    peak_src, _ = audio.normalised_xcorr_peak(speech[:8000], got)
    assert peak_src > 0.99


def test_baresip_dtmf_rfc4733(make):
    a = make(Baresip, "a", user="alice", audio_wav=audio.tone(A_HZ, 5))
    b = make(Baresip, "b", user="bob")
    a.dial(b.uri)
    b.wait_event("CALL_ESTABLISHED", 5)
    t0 = time.time()
    a.send_dtmf("1234#")
    for digit in "1234#":
        assert b.wait_event("CALL_DTMF_START", 5)["param"] == digit
        b.wait_event("CALL_DTMF_END", 5)
    took = time.time() - t0
    assert 0.8 < took < 3.0, took          # ~240 ms per digit
    assert b.dtmf_received() == "1234#"
    # DTMF is out of band: nothing of it is in the audio bob decoded
    a.hangup()
    b.wait_event("CALL_CLOSED", 5)
    assert audio.detect_dtmf(b.received_audio()) == ""


def test_baresip_reject_manual_and_early_answer_modes(make):
    a = make(Baresip, "a", user="alice")
    rej = make(Baresip, "rej", user="rej", auto_answer="reject")
    man = make(Baresip, "man", user="man", auto_answer=False)

    a.dial(rej.uri)
    assert a.wait_event("CALL_CLOSED", 5)["param"] == "486 Rejected"
    rej.wait_event("CALL_INCOMING", 5)

    a.dial(man.uri)
    man.wait_event("CALL_INCOMING", 5)
    a.wait_event("CALL_RINGING", 5)
    time.sleep(0.3)
    man.answer()
    a.wait_event("CALL_ESTABLISHED", 5)
    man.hangup()
    assert a.wait_event("CALL_CLOSED", 5)["param"] == "Connection reset by peer"

    # manual, then the caller gives up: CANCEL -> 487 at the caller
    a.dial(man.uri)
    man.wait_event("CALL_INCOMING", 5)
    a.wait_event("CALL_RINGING", 5)
    a.hangup()
    man.wait_event("CALL_CLOSED", 5)


def test_baresip_early_media_then_answer(make):
    a = make(Baresip, "a", user="alice")
    e = make(Baresip, "e", user="early", auto_answer="early",
             audio_wav=audio.tone(B_HZ, 5))
    a.dial(e.uri)
    a.wait_event("CALL_PROGRESS", 5)          # 183 Session Progress + SDP
    time.sleep(0.5)
    e.answer()
    a.wait_event("CALL_ESTABLISHED", 5)
    time.sleep(1.0)
    a.hangup()
    a.wait_event("CALL_CLOSED", 5)
    assert_tone(a.received_audio(), B_HZ, 0.8, "alice heard")


# ------------------------------------------------------------------ callee

def test_callee_rejections(make):
    c = make(Callee, "callee")
    a = make(Baresip, "a", user="alice")
    for user, status in [("busy1", "486 Busy Here"), ("decline1", "603 Decline"),
                         ("reject7", "603 Decline"),
                         ("unavail1", "480 Temporarily Unavailable"),
                         ("fail1", "500 Server Internal Error")]:
        a.dial(c.uri(user))
        assert a.wait_event("CALL_CLOSED", 5)["param"] == status
        reply = c.wait_event("reply", 5)
        assert reply["user"] == user and str(reply["code"]) == status[:3]
    assert c.count("invite") == 5
    assert [e["user"] for e in c.events("invite")] == [
        "busy1", "decline1", "reject7", "unavail1", "fail1"]
    assert all(e["from"] == "sip:alice@127.0.0.1" for e in c.events("invite"))


def test_callee_noanswer_then_cancel(make):
    c = make(Callee, "callee")
    a = make(Baresip, "a", user="alice")
    a.dial(c.uri("noanswer1"))
    a.wait_event("CALL_RINGING", 5)
    c.wait_event("ringing", 5)
    time.sleep(0.5)
    a.hangup()
    a.wait_event("CALL_CLOSED", 5)
    ev = c.wait_event("cancel", 5)
    assert ev["user"] == "noanswer1"
    assert c.count("answered") == 0


def test_callee_answers_with_440_hz_and_records_caller(make):
    c = make(Callee, "callee", ring_ms=300)
    a = make(Baresip, "a", user="alice", audio_wav=audio.tone(A_HZ, 5))
    t0 = time.time()
    a.dial(c.uri("answer1"))
    a.wait_event("CALL_RINGING", 5)
    a.wait_event("CALL_ESTABLISHED", 5)
    assert time.time() - t0 >= 0.28            # rang for --ring-ms
    ans = c.wait_event("answered", 5)
    assert ans["codec"] == "PCMU"
    time.sleep(2.0)
    a.hangup()
    a.wait_event("CALL_CLOSED", 5)
    bye = c.wait_event("bye", 5)
    assert 1800 < bye["duration_ms"] < 4000
    assert bye["rx"] > 80 and bye["tx"] > 80    # 50 packets a second each way
    assert_tone(a.received_audio(), CALLEE_HZ, 1.5, "alice heard the callee")
    time.sleep(0.2)                             # the WAV is finished on free
    got = audio.load(c.recording(ans["callid"]))
    assert_tone(got, A_HZ, 1.5, "callee recorded alice")


def test_callee_pcma_and_hangup_after_n_seconds(make):
    c = make(Callee, "callee")
    a = make(Baresip, "a", user="alice", codecs="PCMA", audio_wav=audio.tone(A_HZ, 5))
    t0 = time.time()
    a.dial(c.uri("answer_hangup2"))
    a.wait_event("CALL_ESTABLISHED", 5)
    assert c.wait_event("answered", 5)["codec"] == "PCMA"
    closed = a.wait_event("CALL_CLOSED", 6)
    assert closed["param"] == "Connection reset by peer"   # callee sent BYE
    assert 1.9 < time.time() - t0 < 4.0
    hang = c.wait_event("hangup", 5)
    assert 1900 <= hang["duration_ms"] <= 2300
    assert_tone(a.received_audio(), CALLEE_HZ, 1.5, "alice heard (PCMA)")


def test_callee_digest_auth(make):
    c = make(Callee, "callee", user="alice", password="s3cret")
    good = make(Baresip, "good", user="alice", password="s3cret")
    bad = make(Baresip, "bad", user="alice", password="wrong")
    anon = make(Baresip, "anon", user="alice")

    good.dial(c.uri("answer1"))
    good.wait_event("CALL_ESTABLISHED", 5)
    invites = c.wait_count("invite", 2, "answer1")
    assert [e["auth"] for e in invites] == [False, True]   # 407, then retried
    assert [e["code"] for e in c.events("challenge")] == [407]
    good.hangup()
    c.wait_event("bye", 5)

    bad.dial(c.uri("answer2"))
    assert bad.wait_event("CALL_CLOSED", 5)["param"] == "403 Forbidden"
    assert c.wait_count("reply", 1, "answer2")[0]["code"] == 403
    assert [e["auth"] for e in c.events("invite", "answer2")] == [False, False]

    # no auth_pass: baresip 1.0.0 still answers the challenge, with an
    # empty password, so the callee sees a second (bad) INVITE -> 403
    anon.dial(c.uri("answer3"))
    assert anon.wait_event("CALL_CLOSED", 5)["param"] == "403 Forbidden"
    assert c.wait_count("reply", 1, "answer3")[0]["code"] == 403
    assert [e["auth"] for e in c.events("invite", "answer3")] == [False, False]
    assert c.count("answered") == 1


def test_callee_www_auth_and_dtmf(make):
    c = make(Callee, "callee", user="alice", password="pw", www_auth=True)
    a = make(Baresip, "a", user="alice", password="pw")
    a.dial(c.uri("answer1"))
    a.wait_event("CALL_ESTABLISHED", 5)
    assert c.wait_event("challenge", 5)["code"] == 401
    a.send_dtmf("*9#")
    for digit in "*9#":
        assert c.wait_event("dtmf", 5)["digit"] == digit


def test_callee_voicemail_beep(make):
    c = make(Callee, "callee", ring_ms=0)
    a = make(Baresip, "a", user="alice")
    a.dial(c.uri("voicemail1"))
    a.wait_event("CALL_ESTABLISHED", 5)
    time.sleep(2.2)
    a.hangup()
    a.wait_event("CALL_CLOSED", 5)
    got = a.received_audio()
    segs = audio.detect_tone_segments(got, 1000)
    assert len(segs) == 1, segs
    start, end = segs[0]
    assert 0.4 <= end - start <= 0.6
    assert 0.8 <= start <= 1.3, start             # ~1 s after the answer
    assert audio.rms_dbfs(got[:int(0.8 * audio.RATE)]) < -50


def test_callee_stops_cleanly_with_calls_up(make, tmp_path):
    """SIGTERM with a call up: BYE to the caller, exit 0, no ASan report."""
    c = Callee(str(tmp_path / "callee")).start()
    a = make(Baresip, "a", user="alice")
    try:
        a.dial(c.uri("answer1"))
        a.wait_event("CALL_ESTABLISHED", 5)
        c.wait_event("answered", 5)
        time.sleep(0.3)
    finally:
        assert c.stop() == 0
    assert a.wait_event("CALL_CLOSED", 5)["param"] == "Connection reset by peer"
    assert c.events()[-1]["event"] == "exit"
    assert c.events("hangup")[0]["reason"] == "signal"


# --------------------------------------------------------------- linphonec

def test_linphonec_calls_baresip(make):
    b = make(Baresip, "b", user="bob", audio_wav=audio.tone(B_HZ, 5))
    lin = make(Linphonec, "lin", audio_wav=audio.tone(A_HZ, 5))
    lin.call(b.uri)
    lin.wait_state("connected", 5)
    lin.wait_state("media", 5)
    b.wait_event("CALL_ESTABLISHED", 5)
    time.sleep(2.0)
    lin.terminate()
    assert lin.wait_state("ended", 5).group(3) == "No error"
    assert b.wait_event("CALL_CLOSED", 5)["param"] == "Connection reset by peer"
    assert_tone(lin.received_audio(), B_HZ, 1.5, "linphone heard")
    assert_tone(b.received_audio(), A_HZ, 1.5, "bob heard")


def test_baresip_calls_linphonec_and_linphone_dtmf(make):
    lin = make(Linphonec, "lin", audio_wav=audio.tone(A_HZ, 5))
    b = make(Baresip, "b", user="bob", audio_wav=audio.tone(B_HZ, 5))
    b.dial(lin.uri)
    assert lin.wait_state("incoming", 5).group(1) == "sip:bob@127.0.0.1"
    lin.wait_state("connected", 5)
    b.wait_event("CALL_ESTABLISHED", 5)
    time.sleep(1.0)
    lin.send("7")                      # a single key during a call = DTMF
    assert b.wait_event("CALL_DTMF_START", 5)["param"] == "7"
    time.sleep(1.0)
    b.hangup()
    lin.wait_state("ended", 5)
    b.wait_event("CALL_CLOSED", 5)
    assert_tone(lin.received_audio(), B_HZ, 1.5, "linphone heard")
    assert_tone(b.received_audio(), A_HZ, 1.5, "bob heard")


def test_linphonec_manual_answer(make):
    lin = make(Linphonec, "lin", auto_answer=False, audio_wav=audio.tone(A_HZ, 5))
    b = make(Baresip, "b", user="bob", audio_wav=audio.tone(B_HZ, 5))
    b.dial(lin.uri)
    lin.wait_state("incoming", 5)
    b.wait_event("CALL_RINGING", 5)
    lin.answer()
    lin.wait_state("connected", 5)
    b.wait_event("CALL_ESTABLISHED", 5)
    time.sleep(1.5)
    lin.terminate()
    lin.wait_state("ended", 5)
    b.wait_event("CALL_CLOSED", 5)
    assert_tone(lin.received_audio(), B_HZ, 1.0, "linphone heard")


def test_linphonec_against_callee(make):
    c = make(Callee, "callee")
    lin = make(Linphonec, "lin", audio_wav=audio.tone(A_HZ, 5))
    lin.call(c.uri("busy1"))
    lin.wait_state("error", 5)
    lin.call(c.uri("decline1"))
    assert lin.wait_state("ended", 5).group(3) == "Call declined"
    lin.call(c.uri("answer1_hangup2"))
    lin.wait_state("connected", 5)
    lin.wait_state("ended", 6)
    assert [e["code"] for e in c.wait_count("reply", 2)] == [486, 603]
    assert_tone(lin.received_audio(), CALLEE_HZ, 1.5, "linphone heard the callee")
    ans = c.wait_event("answered", 5)
    c.wait_event("hangup", 5)
    assert_tone(audio.load(c.recording(ans["callid"])), A_HZ, 1.5, "callee recorded linphone")


def test_ports_are_never_reused():
    ports = [peers.free_sip_port() for _ in range(20)]
    taken = set()
    for p in ports:
        assert p not in taken and p + 1 not in taken
        taken.update((p, p + 1))
    assert len(set(peers.free_port() for _ in range(20)) & taken) == 0


def test_make_source_wav_pads_and_converts(tmp_path):
    src = str(tmp_path / "in.wav")
    audio.write_wav(src, np.stack([audio.tone(800, 1.0, 44100)] * 2, axis=1), 44100)
    out = peers.make_source_wav(str(tmp_path / "out.wav"), src, pad_to=3.0)
    x, rate = audio.read_wav(out)
    assert rate == 8000 and x.ndim == 1 and len(x) == 24000
    assert abs(audio.dominant_freq(x[:8000]) - 800) < 2
    assert np.all(x[9000:] == 0)
