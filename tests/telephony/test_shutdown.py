"""Ending well: on SIGTERM Parley refuses new calls (503), lets calls in
progress go on for shutdown.grace seconds, then hangs them up with BYE,
records why, and exits 0 without a sanitizer report; with nothing to
wait for it exits at once. A caller that vanishes without a BYE does not
keep a call open forever: the RTP timeout ends it."""
import json
import os
import signal
import time

import pytest

import sip_raw
from tel_helpers import audio, latest_call, peers, setup_inbound, sip_port, wait_call

NUMBER = "+14155550001"

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


def ended_row(server, call_id):
    """The calls row straight from the store (the API is gone)."""
    rows = server.db.sql("SELECT status, outcome, hangup_by, hangup_cause FROM calls "
                         "WHERE id = %d" % call_id)
    assert len(rows) == 1, rows
    return dict(zip(("status", "outcome", "hangup_by", "hangup_cause"), rows[0]))


def events(server, call_id):
    return [r[0] for r in server.db.sql("SELECT type FROM call_events WHERE "
                                        "call_id = %d ORDER BY id" % call_id)]


def test_sigterm_lets_calls_finish_then_hangs_up(make_server, tmp_path):
    grace = 3
    server = make_server(env={"PARLEY_SHUTDOWN_GRACE": str(grace)})
    api = server.client(server.new_key("acme"))
    setup_inbound(api, NUMBER)
    with peers.Baresip(str(tmp_path / "bs"), audio_wav=audio.tone(700, 30.0, amp=0.4)) as bs:
        bs.dial("sip:%s@127.0.0.1:%d" % (NUMBER, sip_port(server)))
        bs.wait_event("CALL_ESTABLISHED", timeout=10)
        call = latest_call(api)
        wait_call(api, call["id"], lambda c: c["status"] == "answered")
        t_answer = time.monotonic()
        time.sleep(0.5)

        t_term = time.monotonic()
        server.proc.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        # a new caller during the grace period is turned away
        with sip_raw.Client(sip_port(server)) as c:
            c.send(c.request("INVITE", "sip:%s@127.0.0.1" % NUMBER,
                             body=sip_raw.SDP_PCMU, ctype="application/sdp"))
            r = c.recv(3)
        assert r is not None and r.code == 503, r
        # and a dispatcher's OPTIONS probe learns the node is draining
        with sip_raw.Client(sip_port(server)) as c:
            c.send(c.request("OPTIONS", "sip:127.0.0.1:%d" % sip_port(server)))
            r = c.recv(3)
        assert r is not None and r.code == 503, r
        # the call in progress goes on until the grace period is over,
        # then Parley hangs up (a BYE: "reset by peer" at baresip)
        ev = bs.wait_event("CALL_CLOSED", timeout=grace + 10)
        closed_after = ev["t"] - (time.time() - (time.monotonic() - t_term))
        assert "reset by peer" in ev["param"].lower(), ev
        assert grace - 0.5 <= closed_after <= grace + 5, closed_after
        rc = server.proc.wait(timeout=10)
    assert rc == 0, server.output()[-3000:]
    row = ended_row(server, call["id"])
    assert row == {"status": "ended", "outcome": "answered", "hangup_by": "system",
                   "hangup_cause": "shutdown"}, row
    assert events(server, call["id"])[-1] == "call.ended"
    # the call really went on during the grace period: Parley kept
    # recording the caller's tone until it hung up
    path = server.db.sql("SELECT data FROM call_events WHERE call_id = %d AND "
                         "type = 'recording.started'" % call["id"])[0][0]
    rec = audio.load(os.path.join(server.tmpdir, json.loads(path)["path"]))
    assert len(rec) / 8000 >= (t_term - t_answer) + grace - 0.5, len(rec) / 8000
    tail = rec[-8000:]
    assert abs(audio.dominant_freq(tail) - 700) < 15 and audio.rms_dbfs(tail) > -20
    out = server.output()
    assert "grace period over" in out and "Sanitizer" not in out


def test_sigterm_when_idle_exits_promptly(server):
    t0 = time.monotonic()
    server.proc.send_signal(signal.SIGTERM)
    rc = server.proc.wait(timeout=10)
    took = time.monotonic() - t0
    assert rc == 0, server.output()[-3000:]
    assert took < 2.0, took


def test_sigterm_after_calls_ended_exits_promptly(server, api, tmp_path):
    # a finished call leaves nothing to wait for
    setup_inbound(api, NUMBER)
    with peers.Baresip(str(tmp_path / "bs")) as bs:
        bs.dial("sip:%s@127.0.0.1:%d" % (NUMBER, sip_port(server)))
        bs.wait_event("CALL_ESTABLISHED", timeout=10)
        call = latest_call(api)
        bs.hangup()
        bs.wait_event("CALL_CLOSED", timeout=10)
        wait_call(api, call["id"], lambda c: c["status"] == "ended")
    t0 = time.monotonic()
    server.proc.send_signal(signal.SIGTERM)
    rc = server.proc.wait(timeout=10)
    assert rc == 0 and time.monotonic() - t0 < 2.0


def test_vanished_caller_ends_by_rtp_timeout(make_server, tmp_path):
    server = make_server(env={"PARLEY_RTP_TIMEOUT": "2"})
    api = server.client(server.new_key("acme"))
    setup_inbound(api, NUMBER)
    bs = peers.Baresip(str(tmp_path / "bs")).start()
    try:
        bs.dial("sip:%s@127.0.0.1:%d" % (NUMBER, sip_port(server)))
        bs.wait_event("CALL_ESTABLISHED", timeout=10)
        call = latest_call(api)
        wait_call(api, call["id"], lambda c: c["status"] == "answered")
        time.sleep(3.0)
        # longer than the timeout, but RTP is flowing: the call is up
        assert api.get("/api/v1/calls/%d" % call["id"]).json["status"] == "answered"
        t_kill = time.monotonic()
        os.killpg(bs.proc.pid, signal.SIGKILL)   # no BYE, no more RTP
        ended = wait_call(api, call["id"], lambda c: c["status"] == "ended",
                          timeout=10)
        took = time.monotonic() - t_kill
    finally:
        bs.stop()
    assert ended["hangup_by"] == "system" and ended["hangup_cause"] == "rtp_timeout", ended
    assert ended["outcome"] == "answered"
    assert 1.5 <= took <= 8.0, took
    assert api.get("/health").status == 200


def test_second_sigterm_hangs_up_at_once(make_server, tmp_path):
    # an impatient operator: the second signal ends the grace period, but
    # the call is still hung up properly and its row written
    server = make_server(env={"PARLEY_SHUTDOWN_GRACE": "60"})
    api = server.client(server.new_key("acme"))
    setup_inbound(api, NUMBER)
    with peers.Baresip(str(tmp_path / "bs")) as bs:
        bs.dial("sip:%s@127.0.0.1:%d" % (NUMBER, sip_port(server)))
        bs.wait_event("CALL_ESTABLISHED", timeout=10)
        call = latest_call(api)
        wait_call(api, call["id"], lambda c: c["status"] == "answered")
        server.proc.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        assert not bs.events("CALL_CLOSED")
        t0 = time.monotonic()
        server.proc.send_signal(signal.SIGTERM)
        ev = bs.wait_event("CALL_CLOSED", timeout=5)
        assert "reset by peer" in ev["param"].lower(), ev
        rc = server.proc.wait(timeout=10)
        assert time.monotonic() - t0 < 2.0
    assert rc == 0, server.output()[-3000:]
    row = ended_row(server, call["id"])
    assert (row["status"], row["hangup_by"], row["hangup_cause"]) == \
        ("ended", "system", "shutdown"), row
