"""Who may call in: a trunk's inbound rules (source allowlist, digest
credentials, or both) decide, numbers are never revealed to strangers
(403 whether or not the number exists; 404 only for allowed sources), a
number without an agent is unavailable (480), and only answered calls
leave a calls row."""
import pytest

import sip_raw
from tel_helpers import latest_call, peers, setup_inbound, sip_port, wait_call

NUMBER = "+14155550001"
UNKNOWN = "+14155559999"

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


def uri(server, number):
    return "sip:%s@127.0.0.1:%d" % (number, sip_port(server))


def call_rows(api):
    r = api.get("/api/v1/calls?limit=500")
    assert r.status == 200, r
    return r.json["data"]


def dial_refused(bs, server, number, code):
    """baresip dials and the call ends with `code` and no answer."""
    mark = bs.mark()
    bs.dial(uri(server, number))
    ev = bs.wait_event("CALL_CLOSED", timeout=10, since=mark)
    assert ev["param"].startswith("%d " % code), ev
    assert not [e for e in bs.events("CALL_ESTABLISHED")], bs.events()


def dial_answered(bs, server, api, number):
    """baresip dials, Parley answers; the caller hangs up. The call row."""
    mark = bs.mark()
    bs.dial(uri(server, number))
    bs.wait_event("CALL_ESTABLISHED", timeout=10, since=mark)
    call = latest_call(api)
    wait_call(api, call["id"], lambda c: c["status"] == "answered")
    bs.hangup()
    bs.wait_event("CALL_CLOSED", timeout=10, since=mark)
    return wait_call(api, call["id"], lambda c: c["status"] == "ended")


def raw_invite(server, number, headers=None):
    """An INVITE with an SDP offer from a Python socket: the response."""
    with sip_raw.Client(sip_port(server)) as c:
        c.send(c.request("INVITE", uri(server, number), body=sip_raw.SDP_PCMU,
                         ctype="application/sdp", headers=headers))
        r = c.recv(5)
    assert r is not None, "no response to the INVITE"
    return r


def test_allowlist_refuses_other_sources(server, api, tmp_path):
    setup_inbound(api, NUMBER, inbound={"allowed_ips": ["10.0.0.0/8"]})
    with peers.Baresip(str(tmp_path / "bs")) as bs:
        dial_refused(bs, server, NUMBER, 403)
        # an unknown number from a stranger: 403 too, never 404
        dial_refused(bs, server, UNKNOWN, 403)
    # a user part that is no phone number at all: the same answer
    assert raw_invite(server, "reception").code == 403
    assert raw_invite(server, NUMBER).code == 403
    assert call_rows(api) == []


def test_unknown_number_from_allowed_source_is_404(server, api, tmp_path):
    setup_inbound(api, NUMBER)   # allows 127.0.0.1/32
    with peers.Baresip(str(tmp_path / "bs")) as bs:
        dial_refused(bs, server, UNKNOWN, 404)
    assert raw_invite(server, "reception").code == 404
    assert call_rows(api) == []


def test_allowlisted_source_is_answered(server, api, tmp_path):
    setup_inbound(api, NUMBER, inbound={"allowed_ips": ["10.0.0.0/8", "127.0.0.0/8"]})
    with peers.Baresip(str(tmp_path / "bs")) as bs:
        ended = dial_answered(bs, server, api, NUMBER)
    assert ended["outcome"] == "answered" and ended["to_number"] == NUMBER
    assert [c["id"] for c in call_rows(api)] == [ended["id"]]


def test_digest_challenge_and_answer(server, api, tmp_path):
    setup_inbound(api, NUMBER, inbound={"username": "alice", "password": "s3cret"})
    # without credentials: a 401 challenge for our realm, no row
    r = raw_invite(server, NUMBER)
    assert r.code == 401, r
    chal = r.header("www-authenticate")
    assert chal and chal.startswith("Digest ") and 'realm="parley"' in chal, chal
    assert 'qop="auth"' in chal and "nonce=" in chal
    # a made-up answer to the challenge: refused
    forged = ('Digest username="alice", realm="parley", nonce="%s", '
              'uri="%s", response="00000000000000000000000000000000"'
              % ("0" * 40, uri(server, NUMBER)))
    assert raw_invite(server, NUMBER, ["Authorization: " + forged]).code == 403
    assert call_rows(api) == []

    with peers.Baresip(str(tmp_path / "good"), password="s3cret") as bs:
        ended = dial_answered(bs, server, api, NUMBER)
    assert ended["outcome"] == "answered"
    with peers.Baresip(str(tmp_path / "bad"), password="wrong") as bs:
        dial_refused(bs, server, NUMBER, 403)
    with peers.Baresip(str(tmp_path / "who"), user="mallory", password="s3cret") as bs:
        dial_refused(bs, server, NUMBER, 403)
    assert [c["id"] for c in call_rows(api)] == [ended["id"]]


def test_allowlist_and_digest_both_needed(server, api, tmp_path):
    # the right password from the wrong source is still refused
    setup_inbound(api, NUMBER, inbound={"allowed_ips": ["10.0.0.0/8"],
                                        "username": "alice", "password": "s3cret"})
    with peers.Baresip(str(tmp_path / "a"), password="s3cret") as bs:
        dial_refused(bs, server, NUMBER, 403)
    assert raw_invite(server, NUMBER).code == 403     # no challenge either
    assert call_rows(api) == []

    # from an allowed source the password is still needed
    setup_inbound(api, "+14155550002", inbound={
        "allowed_ips": ["127.0.0.1/32"], "username": "alice", "password": "s3cret"})
    assert raw_invite(server, "+14155550002").code == 401
    with peers.Baresip(str(tmp_path / "b"), password="wrong") as bs:
        dial_refused(bs, server, "+14155550002", 403)
    with peers.Baresip(str(tmp_path / "c"), password="s3cret") as bs:
        ended = dial_answered(bs, server, api, "+14155550002")
    assert ended["to_number"] == "+14155550002"
    assert [c["id"] for c in call_rows(api)] == [ended["id"]]


def test_number_without_agent_is_480(server, api, tmp_path):
    trunk = api.post("/api/v1/trunks", {
        "name": "loopback", "sip_uri": "sip:127.0.0.1:5999",
        "inbound": {"allowed_ips": ["127.0.0.1/32"]}})
    assert trunk.status == 201, trunk
    num = api.post("/api/v1/phone-numbers", {"number": NUMBER,
                                             "trunk_id": trunk.json["id"]})
    assert num.status == 201, num
    with peers.Baresip(str(tmp_path / "bs")) as bs:
        dial_refused(bs, server, NUMBER, 480)
    assert call_rows(api) == []


def test_number_without_trunk_is_refused(server, api, tmp_path):
    # no trunk says who may call this number: nobody may
    agent = api.post("/api/v1/agents", {"name": "A", "first_message": "Hi"})
    num = api.post("/api/v1/phone-numbers", {"number": NUMBER,
                                             "agent_id": agent.json["id"]})
    assert num.status == 201, num
    assert raw_invite(server, NUMBER).code == 403
    assert call_rows(api) == []


def test_disabled_trunk_lets_no_one_in(server, api, tmp_path):
    _, trunk, _ = setup_inbound(api, NUMBER)
    assert raw_invite(server, UNKNOWN).code == 404
    r = api.patch("/api/v1/trunks/%d" % trunk["id"], {"enabled": False})
    assert r.status == 200, r
    with peers.Baresip(str(tmp_path / "bs")) as bs:
        dial_refused(bs, server, NUMBER, 403)
    # and it no longer vouches for its sources
    assert raw_invite(server, UNKNOWN).code == 403
    assert call_rows(api) == []
    assert api.patch("/api/v1/trunks/%d" % trunk["id"], {"enabled": True}).status == 200
    with peers.Baresip(str(tmp_path / "bs2")) as bs:
        dial_answered(bs, server, api, NUMBER)
