"""A fixed prompt is synthesised once: the second call's greeting comes
from the prompt cache, and sounds the same."""
import pytest

from tel_helpers import audio, latest_call, peers, setup_inbound, sip_port, wait_call


def one_call(server, api, workdir):
    with peers.Baresip(workdir) as bs:
        bs.dial("sip:+14155550001@127.0.0.1:%d" % sip_port(server))
        bs.wait_event("CALL_ESTABLISHED", timeout=10)
        call = latest_call(api)
        wait_call(api, call["id"], lambda c: any(
            e["type"] == "playback.finished" for e in c.get("events", [])))
        bs.hangup()
        bs.wait_event("CALL_CLOSED", timeout=10)
        ended = wait_call(api, call["id"], lambda c: c["status"] == "ended")
        return ended, bs.received_audio()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_second_greeting_comes_from_the_cache(server, api, tmp_path):
    setup_inbound(api, first_message="Welcome to Parley.")
    first, heard1 = one_call(server, api, str(tmp_path / "a"))
    second, heard2 = one_call(server, api, str(tmp_path / "b"))

    def playback(call):
        return [e["data"] for e in call["events"] if e["type"] == "playback.started"][0]
    p1, p2 = playback(first), playback(second)
    assert p1["cached"] is False and p2["cached"] is True
    assert p1["samples"] == p2["samples"]
    # the same audio reached both callers
    peak, _ = audio.normalised_xcorr_peak(heard1[: 8000 * 3], heard2[: 8000 * 3])
    assert peak > 0.8, peak
