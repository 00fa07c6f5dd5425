"""Calls Parley ends by itself: the agent's maximum call duration, and
calls outside business hours, which hear the closed message and end."""
import datetime
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
DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def secs(ts):
    return datetime.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ").timestamp()


def test_max_duration_ends_the_call(server, api, tmp_path):
    setup_inbound(api, number=NUMBER, first_message="Hello.",
                  agent_extra={"limits": {"max_duration": 10}})
    with peers.Baresip(str(tmp_path / "bs"), record=False) as bs:
        bs.dial("sip:%s@127.0.0.1:%d" % (NUMBER, sip_port(server)))
        bs.wait_event("CALL_ESTABLISHED", timeout=10)
        t0 = time.monotonic()
        call = latest_call(api)
        closed = bs.wait_event("CALL_CLOSED", timeout=14)
        took = time.monotonic() - t0
        ended = wait_call(api, call["id"], lambda c: c["status"] == "ended")
    assert closed["param"] == "Connection reset by peer", closed
    assert 9.0 <= took <= 11.5, took
    assert ended["hangup_by"] == "system" and ended["hangup_cause"] == "max_duration", ended
    assert ended["outcome"] == "answered"
    length = secs(ended["ended_at"]) - secs(ended["answered_at"])
    assert 9.8 <= length <= 10.6, length


def test_out_of_hours_message_then_hangup(server, api, tmp_path):
    # open only on a day that is not today (UTC), so now is outside
    today = datetime.datetime.now(datetime.timezone.utc).weekday()
    other = DAYS[(today + 3) % 7]
    closed_msg = "Sorry, we are closed. Our office is open on weekdays. Goodbye."
    setup_inbound(api, number=NUMBER, first_message="Hello, how can I help?",
                  agent_extra={"inbound": {
                      "business_hours": {"timezone": "UTC", "windows": [
                          {"days": [other], "start": "00:00", "end": "23:59"}]},
                      "out_of_hours_message": closed_msg}})
    with peers.Baresip(str(tmp_path / "bs")) as bs:
        bs.dial("sip:%s@127.0.0.1:%d" % (NUMBER, sip_port(server)))
        bs.wait_event("CALL_ESTABLISHED", timeout=10)
        call = latest_call(api)
        # Parley hangs up after the message (a few seconds of speech)
        closed = bs.wait_event("CALL_CLOSED", timeout=15)
        ended = wait_call(api, call["id"], lambda c: c["status"] == "ended")
        heard = bs.received_audio()
    assert closed["param"] == "Connection reset by peer", closed
    assert ended["hangup_by"] == "agent" and ended["hangup_cause"] == "message_played", ended
    types = [e["type"] for e in ended["events"]]
    assert "out_of_hours" in types, types
    assert types.count("playback.started") == 1, types   # not the greeting too
    assert types.index("playback.started") < types.index("playback.finished") < \
        types.index("call.ended"), types
    # the message was heard: speech energy for over a second, and the call
    # lasted about as long as the message
    frames = heard[: len(heard) // 160 * 160].reshape(-1, 160)
    loud = sum(audio.rms_dbfs(f) > -35 for f in frames) * 0.02
    assert loud >= 1.5, (loud, audio.rms_dbfs(heard))
    samples = [e for e in ended["events"] if e["type"] == "playback.started"][0]["data"]["samples"]
    length = secs(ended["ended_at"]) - secs(ended["answered_at"])
    assert samples / 8000 <= length <= samples / 8000 + 2.0, (length, samples)


def test_out_of_hours_without_message_hangs_up_at_once(server, api, tmp_path):
    """An empty out_of_hours_message (the API allows it): nothing to say,
    so the call ends right after the answer instead of staying up."""
    today = datetime.datetime.now(datetime.timezone.utc).weekday()
    setup_inbound(api, number=NUMBER, first_message="Hello, how can I help?",
                  agent_extra={"inbound": {
                      "business_hours": {"timezone": "UTC", "windows": [
                          {"days": [DAYS[(today + 2) % 7]], "start": "08:00",
                           "end": "18:00"}]},
                      "out_of_hours_message": ""}})
    with peers.Baresip(str(tmp_path / "bs"), record=False) as bs:
        bs.dial("sip:%s@127.0.0.1:%d" % (NUMBER, sip_port(server)))
        bs.wait_event("CALL_ESTABLISHED", timeout=10)
        call = latest_call(api)
        bs.wait_event("CALL_CLOSED", timeout=5)
        ended = wait_call(api, call["id"], lambda c: c["status"] == "ended")
    assert ended["hangup_by"] == "agent" and ended["hangup_cause"] == "message_played", ended
    types = [e["type"] for e in ended["events"]]
    assert "out_of_hours" in types and "playback.started" not in types, types
    assert secs(ended["ended_at"]) - secs(ended["answered_at"]) < 2.0
