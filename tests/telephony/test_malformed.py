"""Broken SIP over UDP and TCP: every message of the committed corpus
(tests/telephony/sip_corpus/, one message per file, also a regression
corpus) gets the 4xx SIP prescribes, or is dropped without a word when
it cannot be parsed or answered at all, and the server keeps serving:
afterwards a real call still works, /health is 200 and the server exits
cleanly (the fixture checks the sanitizers). Also: OPTIONS answers 200
with Allow, and SIP over TLS works."""
import os
import subprocess
import time
import urllib.request
import uuid

import pytest

import sip_raw
from tel_helpers import audio, latest_call, peers, setup_inbound, sip_port, wait_call

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "sip_corpus")
NUMBER = "+14155550001"   # the corpus INVITEs dial it; it is routable here
DROP = None

# what each corpus message gets: (over UDP, over TCP); DROP = no response
EXPECT = {
    "garbage.txt": (DROP, DROP),
    "binary-junk.bin": (DROP, DROP),
    "nul-only.bin": (DROP, DROP),
    "crlf-only.txt": (DROP, DROP),
    "truncated-request-line.sip": (DROP, DROP),
    "request-line-only.sip": (DROP, DROP),
    "missing-call-id.sip": (400, 400),
    "missing-cseq.sip": (400, 400),
    "missing-from.sip": (400, 400),
    "missing-from-tag.sip": (400, 400),
    "missing-contact.sip": (400, 400),
    "malformed-contact.sip": (400, 400),
    # nowhere to send an answer
    "missing-via.sip": (DROP, DROP),
    "malformed-via.sip": (DROP, DROP),
    "cseq-method-mismatch.sip": (400, 400),
    # over TCP a longer Content-Length means "more is coming"
    "content-length-too-long.sip": (400, DROP),
    "content-length-negative.sip": (400, 400),
    "content-length-garbage.sip": (400, 400),
    "sdp-malformed.sip": (400, 400),
    "sdp-no-media.sip": (488, 488),
    "sdp-g729-only.sip": (488, 488),
    "content-type-foo.sip": (415, 415),
    "body-without-content-type.sip": (400, 400),
    "nul-in-headers.sip": (400, 400),
    "nul-in-request-uri.sip": (400, 400),
    # UDP delivers only its first 8 KB (no end of headers: dropped); over
    # TCP it arrives whole and is refused as too large
    "huge-header.sip": (DROP, 513),
    # no phone number in it: like an unknown number from an allowed source
    "long-request-uri-user.sip": (404, 404),
    "stray-response.sip": (DROP, DROP),
    "bye-unknown-dialog.sip": (481, 481),
}

SQLITE = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


def corpus():
    return sip_raw.load_corpus(CORPUS)


def fresh(data):
    """The message with a Call-ID and branch of its own, so that sending
    it twice (UDP, then TCP) makes two transactions."""
    tag = uuid.uuid4().hex[:12]
    return data.replace(b"z9hG4bKcorpus", b"z9hG4bK" + tag.encode()).replace(
        b"corpus-", tag.encode() + b"-")


def options(c, port):
    c.send(c.request("OPTIONS", "sip:127.0.0.1:%d" % port))
    return c.recv(3)


def test_corpus_is_complete():
    names = [n for n, _ in corpus()]
    assert sorted(names) == sorted(EXPECT), set(names) ^ set(EXPECT)


def send_one(port, transport, name, data, expect):
    """The response to one corpus message, or DROP, after checking that
    the server still answers OPTIONS right after it."""
    barrier = "barrier-" + uuid.uuid4().hex
    c = sip_raw.Client(port, transport)
    probe = c if transport == "UDP" else sip_raw.Client(port, transport)
    try:
        c.send(fresh(data))
        probe.send(probe.request("OPTIONS", "sip:127.0.0.1:%d" % port, call_id=barrier))
        got, alive = [], False
        # drops are decided at once on the loop; answers may come from the
        # router's worker, later: wait for those, and a little for a drop
        deadline = time.monotonic() + (3.0 if expect else 0.5)
        while time.monotonic() < deadline and not (alive and got):
            for sock in {c, probe}:
                r = sock.recv(0.05)
                if r is None:
                    continue
                if r.header("call-id") == barrier:
                    alive = r.code == 200
                else:
                    got.append(r)
        assert alive, "%s: no answer to OPTIONS after it" % name
        assert len(got) <= 1, (name, got)
        return got[0] if got else DROP
    finally:
        c.close()
        probe.close()


@SQLITE
@pytest.mark.parametrize("transport", ["UDP", "TCP"])
def test_malformed_sip(server, api, tmp_path, transport):
    setup_inbound(api, NUMBER)
    port = sip_port(server)
    got = {}
    want = {n: e[0 if transport == "UDP" else 1] for n, e in EXPECT.items()}
    for name, data in corpus():
        r = send_one(port, transport, name, data, want[name])
        got[name] = r.code if r else DROP
        if r is not None and r.code == 415:
            assert "application/sdp" in (r.header("accept") or ""), r.raw
    assert got == want, {n: (got[n], want[n]) for n in got if got[n] != want[n]}

    # still serving: a real call, the API
    with peers.Baresip(str(tmp_path / "bs")) as bs:
        bs.dial("sip:%s@127.0.0.1:%d" % (NUMBER, port))
        bs.wait_event("CALL_ESTABLISHED", timeout=10)
        call = latest_call(api)
        wait_call(api, call["id"], lambda c: c["status"] == "answered")
        bs.hangup()
        bs.wait_event("CALL_CLOSED", timeout=10)
        wait_call(api, call["id"], lambda c: c["status"] == "ended")
    with urllib.request.urlopen(server.url + "/health", timeout=5) as h:
        assert h.status == 200
    # only the SDP failures got as far as a calls row (routing comes
    # first); each is a failed attempt on record, none was answered
    rows = api.get("/api/v1/calls?limit=500").json["data"]
    failed = sorted((c["sip_code"], c["hangup_cause"], c["outcome"], c["status"])
                    for c in rows if c["id"] != call["id"])
    assert failed == [(400, "bad_sdp", "failed", "ended")] + \
        [(488, "no_common_codec", "failed", "ended")] * 2, rows


@SQLITE
def test_options_answered_with_allow(server):
    port = sip_port(server)
    for transport in ("UDP", "TCP"):
        with sip_raw.Client(port, transport) as c:
            r = options(c, port)
        assert r is not None and r.code == 200, (transport, r)
        allow = {m.strip() for m in (r.header("allow") or "").split(",")}
        assert {"INVITE", "ACK", "BYE", "CANCEL", "OPTIONS"} <= allow, r.raw


def make_pem(directory):
    key, cert = os.path.join(directory, "k.pem"), os.path.join(directory, "c.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                    "-subj", "/CN=127.0.0.1", "-days", "2", "-keyout", key,
                    "-out", cert], check=True, capture_output=True, timeout=60)
    pem = os.path.join(directory, "sip.pem")
    with open(pem, "wb") as out:
        for p in (cert, key):
            with open(p, "rb") as f:
                out.write(f.read())
    return pem


@SQLITE
def test_tls_options_round_trip(make_server, tmp_path):
    pem = make_pem(str(tmp_path))
    tls_port = peers.free_port()
    server = make_server(env={"PARLEY_SIP_TLS_LISTEN": "127.0.0.1:%d" % tls_port,
                              "PARLEY_SIP_TLS_CERT": pem})
    with sip_raw.Client(tls_port, "TLS") as c:
        peer_cert = c.sock.getpeercert(binary_form=True)
        assert peer_cert, "no certificate from the server"
        r = options(c, tls_port)
        assert r is not None and r.code == 200, r
        assert "OPTIONS" in (r.header("allow") or "")
        # a second request on the same connection
        r = options(c, tls_port)
        assert r is not None and r.code == 200, r
    assert "TLS on 127.0.0.1:%d" % tls_port in server.output()


@SQLITE
def test_tls_without_certificate_refuses_to_start(make_server, tmp_path):
    server = make_server(env={"PARLEY_SIP_TLS_LISTEN": "127.0.0.1:%d" % peers.free_port(),
                              "PARLEY_SIP_TLS_CERT": str(tmp_path / "missing.pem")},
                         start=False)
    with pytest.raises(RuntimeError) as e:
        server.start()
    assert "missing.pem" in str(e.value)
    server.proc = None
    server.log.close()


@SQLITE
def test_tls_call_from_baresip(make_server, tmp_path):
    pem = make_pem(str(tmp_path))
    tls_port = peers.free_port()
    server = make_server(env={"PARLEY_SIP_TLS_LISTEN": "127.0.0.1:%d" % tls_port,
                              "PARLEY_SIP_TLS_CERT": pem})
    api = server.client(server.new_key("acme"))
    setup_inbound(api, NUMBER)
    with peers.Baresip(str(tmp_path / "bs")) as bs:
        bs.dial("sip:%s@127.0.0.1:%d;transport=tls" % (NUMBER, tls_port))
        bs.wait_event("CALL_ESTABLISHED", timeout=10)
        call = latest_call(api)
        wait_call(api, call["id"], lambda c: c["status"] == "answered")
        time.sleep(3)
        bs.hangup()
        bs.wait_event("CALL_CLOSED", timeout=10)
        ended = wait_call(api, call["id"], lambda c: c["status"] == "ended")
        heard = bs.received_audio()
    assert ended["outcome"] == "answered" and ended["hangup_by"] == "caller"
    # the port speaks only TLS, so the signalling went over TLS; the
    # greeting still reached the caller over RTP
    assert audio.rms_dbfs(heard[: 8000 * 3]) > -40, audio.rms_dbfs(heard)
