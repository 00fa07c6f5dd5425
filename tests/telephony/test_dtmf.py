"""DTMF both ways on calls from real peers: RFC 4733 events and in-band
tones from baresip, SIP INFO from linphonec, and digits Parley sends
through POST /api/v1/calls/{id}/dtmf, which baresip must report exactly."""
import os
import time

import pytest

from tel_helpers import audio, latest_call, peers, setup_inbound, sip_port, wait_call

pytestmark = [
    pytest.mark.parametrize("backend", ["sqlite"], indirect=True),
    pytest.mark.skipif(not os.path.exists("/usr/bin/baresip"),
                       reason="baresip-core is needed (scripts/deps.sh --test)"),
]

NUMBER = "+14155550001"


def digits_of(call, source=None):
    return "".join(e["data"]["digit"] for e in call["events"]
                   if e["type"] == "dtmf" and
                   (source is None or e["data"]["source"] == source))


def dtmf_events(call):
    return [e for e in call["events"] if e["type"] == "dtmf"]


def call_in(api, server, bs):
    """baresip calls Parley; returns the answered call row."""
    bs.dial("sip:%s@127.0.0.1:%d" % (NUMBER, sip_port(server)))
    bs.wait_event("CALL_ESTABLISHED", timeout=10)
    call = latest_call(api)
    return wait_call(api, call["id"], lambda c: c["status"] == "answered")


def hang_up(api, bs, call_id):
    bs.hangup()
    bs.wait_event("CALL_CLOSED", timeout=10)
    return wait_call(api, call_id, lambda c: c["status"] == "ended")


def test_rfc4733_digits_received_exactly(server, api, tmp_path):
    setup_inbound(api, number=NUMBER, first_message="Please enter your code.")
    keys = "1234567890*#"
    with peers.Baresip(str(tmp_path / "bs"), record=False) as bs:
        call = call_in(api, server, bs)
        time.sleep(0.3)
        bs.send_dtmf(keys)
        # ~240 ms a key; all of them within a few seconds
        got = wait_call(api, call["id"],
                        lambda c: len(dtmf_events(c)) >= len(keys), timeout=10)
        time.sleep(0.5)   # nothing more may trickle in
        ended = hang_up(api, bs, call["id"])
    evs = dtmf_events(ended)
    assert digits_of(ended) == keys, evs
    assert {e["data"]["source"] for e in evs} == {"rfc4733"}, evs
    assert digits_of(got) == keys


def test_inband_digits_received_exactly(server, api, tmp_path):
    setup_inbound(api, number=NUMBER, first_message="Hello, this is Parley. "
                  "Please enter your account number followed by the hash key.")
    keys = "159#"
    # speech first (no digit may be heard in it), then silence, the tones
    src = audio.concat(audio.silence(0.3), audio.speech_like(), audio.silence(1.0),
                       audio.dtmf_sequence(keys, on=0.1, off=0.1))
    with peers.Baresip(str(tmp_path / "bs"), audio_wav=src, record=False) as bs:
        call = call_in(api, server, bs)
        got = wait_call(api, call["id"],
                        lambda c: len(dtmf_events(c)) >= len(keys), timeout=10)
        time.sleep(1.0)   # silence after the tones: no false digits
        ended = hang_up(api, bs, call["id"])
    evs = dtmf_events(ended)
    assert digits_of(ended) == keys, evs
    assert {e["data"]["source"] for e in evs} == {"inband"}, evs
    assert digits_of(got) == keys


class InfoLinphonec(peers.Linphonec):
    """linphonec sending DTMF as SIP INFO (application/dtmf-relay) instead
    of RFC 4733: [sip] use_info=1, use_rfc2833=0."""

    def _write_rc(self, codecs, rtp):
        super()._write_rc(codecs, rtp)
        with open(self.rc) as f:
            rc = f.read()
        rc = rc.replace("[sip]\n", "[sip]\nuse_info=1\nuse_rfc2833=0\n", 1)
        with open(self.rc, "w") as f:
            f.write(rc)


@pytest.mark.skipif(not os.path.exists("/usr/bin/linphonec"),
                    reason="linphone-cli is needed (scripts/deps.sh --test)")
def test_sip_info_digits_received(server, api, tmp_path):
    setup_inbound(api, number=NUMBER, first_message="Please enter your code.")
    keys = "7*3"
    with InfoLinphonec(str(tmp_path / "lin")) as lin:
        lin.call("sip:%s@127.0.0.1:%d" % (NUMBER, sip_port(server)))
        lin.wait_state("connected", 10)
        call = latest_call(api)
        wait_call(api, call["id"], lambda c: c["status"] == "answered")
        for k in keys:
            lin.send(k)   # linphonec then sleeps ~1 s per key
        wait_call(api, call["id"], lambda c: len(dtmf_events(c)) >= len(keys),
                  timeout=10)
        time.sleep(0.3)
        lin.terminate()
        lin.wait_state("ended", 10)
        ended = wait_call(api, call["id"], lambda c: c["status"] == "ended")
    evs = dtmf_events(ended)
    assert digits_of(ended) == keys, evs
    assert {e["data"]["source"] for e in evs} == {"sip_info"}, evs


def test_parley_sends_dtmf(server, api, tmp_path):
    setup_inbound(api, number=NUMBER, first_message="One moment.")
    with peers.Baresip(str(tmp_path / "bs"), record=False) as bs:
        call = call_in(api, server, bs)
        path = "/api/v1/calls/%d/dtmf" % call["id"]
        for bad in ("12x", "", "1 2", "e", 5, "1" * 33):
            r = api.post(path, {"digits": bad})
            assert r.status == 400, (bad, r)
        assert api.post(path, {}).status == 400
        r = api.post(path, {"digits": "2580#"})
        assert r.status == 202, r
        # RFC 4733 both ways (baresip offers telephone-event)
        for k in "2580#":
            assert bs.wait_event("CALL_DTMF_START", timeout=5)["param"] == k
        time.sleep(0.5)
        assert bs.dtmf_received() == "2580#"
        # digits queue: two requests in a row arrive in order
        assert api.post(path, {"digits": "1"}).status == 202
        assert api.post(path, {"digits": "*9"}).status == 202
        for k in "1*9":
            assert bs.wait_event("CALL_DTMF_START", timeout=5)["param"] == k
        ended = hang_up(api, bs, call["id"])
        assert bs.dtmf_received() == "2580#1*9"
        r = api.post(path, {"digits": "1"})
        assert r.status == 409, r
    sent = [e["data"]["digits"] for e in ended["events"] if e["type"] == "dtmf.sent"]
    assert sent == ["2580#", "1", "*9"], ended["events"]
    # Parley does not hear its own digits
    assert not dtmf_events(ended), ended["events"]
