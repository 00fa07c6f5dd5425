"""Mid-call SDP changes on an answered inbound call, from a small raw SIP
caller written here (no test peer sends these): a re-INVITE without SDP
(Parley offers, the ACK answers and switches codec and port), hold and
resume (a=sendonly / a=inactive / a=sendrecv: Parley stops and resumes
its RTP, and the greeting waits), and an unusable answer in the ACK
(Parley hangs up with BYE); DTMF in SIP INFO bodies of every common
shape. RTP is counted packet by packet."""
import re
import socket
import struct
import threading
import time
import uuid

import pytest

from tel_helpers import latest_call, setup_inbound, sip_port, wait_call

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)

NUMBER = "+14155550001"


def sdp(port, pts=(0, 101), direction="sendrecv", version=1):
    names = {0: "PCMU/8000", 8: "PCMA/8000", 18: "G729/8000",
             101: "telephone-event/8000"}
    lines = ["v=0", "o=raw 1 %d IN IP4 127.0.0.1" % version, "s=-",
             "c=IN IP4 127.0.0.1", "t=0 0",
             "m=audio %d RTP/AVP %s" % (port, " ".join(str(p) for p in pts))]
    lines += ["a=rtpmap:%d %s" % (p, names[p]) for p in pts]
    if 101 in pts:
        lines.append("a=fmtp:101 0-15")
    if direction:
        lines.append("a=" + direction)
    return ("\r\n".join(lines) + "\r\n").encode()


def sdp_media(body):
    text = body.decode()
    port = int(re.search(r"^m=audio (\d+)", text, re.M).group(1))
    fmts = [int(x) for x in re.search(r"^m=audio \d+ \S+ ([\d ]+)", text, re.M)
            .group(1).split()]
    d = re.search(r"^a=(sendrecv|sendonly|recvonly|inactive)", text, re.M)
    return port, fmts, d.group(1) if d else "sendrecv"


class Rtp:
    """An RTP endpoint: sends PCMU silence every 20 ms to `dest` (when
    set) and records (time, payload type) of every packet received."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.01)
        self.port = self.sock.getsockname()[1]
        self.dest = None
        self.pt = 0
        self.got = []
        self._stop = False
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        seq, ts, ssrc = 1, 0, 0x1234
        nxt = time.monotonic()
        while not self._stop:
            now = time.monotonic()
            if self.dest and now >= nxt:
                hdr = struct.pack("!BBHII", 0x80, self.pt, seq & 0xFFFF, ts, ssrc)
                self.sock.sendto(hdr + b"\xff" * 160, self.dest)
                seq, ts, nxt = seq + 1, ts + 160, nxt + 0.02
                if nxt < now:
                    nxt = now + 0.02
            try:
                data = self.sock.recv(2048)
            except socket.timeout:
                continue
            except OSError:
                break
            if len(data) >= 12:
                self.got.append((time.monotonic(), data[1] & 0x7F))

    def count(self, since, until=None, pt=None):
        return sum(1 for t, p in list(self.got)
                   if t >= since and (until is None or t < until) and
                   (pt is None or p == pt))

    def close(self):
        self._stop = True
        self._thread.join(2)
        self.sock.close()


class RawCaller:
    """One SIP dialog over UDP: INVITE, ACK, re-INVITE, BYE; requests from
    Parley (BYE) are answered 200 and kept in `requests`."""

    def __init__(self, server_port):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.dest = ("127.0.0.1", server_port)
        self.call_id = uuid.uuid4().hex
        self.tag = uuid.uuid4().hex[:8]
        self.cseq = 0
        self.ruri = "sip:%s@127.0.0.1:%d" % (NUMBER, server_port)
        self.to = "<%s>" % self.ruri
        self.remote = self.ruri
        self.requests = []
        self.ended = False

    def _send(self, method, cseq, body=b"", ruri=None, ctype="application/sdp"):
        lines = [
            "%s %s SIP/2.0" % (method, ruri or self.remote),
            "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK%s;rport"
            % (self.port, uuid.uuid4().hex[:12]),
            "Max-Forwards: 70",
            "From: <sip:raw@127.0.0.1>;tag=%s" % self.tag,
            "To: %s" % self.to,
            "Call-ID: %s" % self.call_id,
            "CSeq: %d %s" % (cseq, method),
            "Contact: <sip:raw@127.0.0.1:%d>" % self.port,
        ]
        if body:
            lines.append("Content-Type: " + ctype)
        lines.append("Content-Length: %d" % len(body))
        self.sock.sendto(("\r\n".join(lines) + "\r\n\r\n").encode() + body, self.dest)

    def _reply(self, head, code=200):
        keep = [line for line in head[1:] if re.match(
            r"(?i)(via|from|to|call-id|cseq):", line)]
        msg = "\r\n".join(["SIP/2.0 %d OK" % code] + keep +
                          ["Content-Length: 0"]) + "\r\n\r\n"
        self.sock.sendto(msg.encode(), self.dest)

    def recv(self, timeout=5.0):
        """The next message: ("response", code, headers, body) or
        ("request", method, headers, body); requests are answered."""
        self.sock.settimeout(timeout)
        data = self.sock.recv(65536)
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        hdrs = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            hdrs.setdefault(name.strip().lower(), value.strip())
        if lines[0].startswith("SIP/2.0"):
            return ("response", int(lines[0].split()[1]), hdrs, body)
        method = lines[0].split()[0]
        self._reply(lines)
        self.requests.append((method, hdrs, body))
        return ("request", method, hdrs, body)

    def final(self, cseq, timeout=5.0):
        deadline = time.monotonic() + timeout
        while True:
            kind, code, hdrs, body = self.recv(max(0.05, deadline - time.monotonic()))
            if kind == "response" and int(hdrs["cseq"].split()[0]) == cseq and code >= 200:
                return code, hdrs, body

    def invite(self, body=b""):
        self.cseq += 1
        first = self.to.find("tag=") < 0
        self._send("INVITE", self.cseq, body)
        code, hdrs, rbody = self.final(self.cseq)
        if code < 300 and first:
            self.to = hdrs["to"]
            self.remote = re.search(r"<([^>]+)>", hdrs["contact"]).group(1)
        return code, hdrs, rbody

    def ack(self, body=b""):
        self._send("ACK", self.cseq, body)

    def info(self, ctype, body):
        """An in-dialog INFO; returns the response code."""
        self.cseq += 1
        self._send("INFO", self.cseq, body.encode(), ctype=ctype)
        return self.final(self.cseq)[0]

    def bye(self):
        self.ended = True
        self.cseq += 1
        self._send("BYE", self.cseq)
        return self.final(self.cseq)[0]

    def wait_request(self, method, timeout=5.0):
        for m, hdrs, body in self.requests:
            if m == method:
                return hdrs
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                kind, what, hdrs, _ = self.recv(max(0.05, deadline - time.monotonic()))
            except socket.timeout:
                break
            if kind == "request" and what == method:
                return hdrs
        raise AssertionError("no %s from Parley" % method)

    def close(self):
        self.sock.close()


@pytest.fixture
def raw(server):
    made = []

    def make():
        c = RawCaller(sip_port(server))
        made.append(c)
        return c

    yield make
    for c in made:
        if c.to.find("tag=") >= 0 and not c.ended and \
                not any(m == "BYE" for m, _, _ in c.requests):
            try:    # a failed test must not leave the call up (Parley
                c.bye()   # waits for live calls when it stops)
            except (OSError, AssertionError):
                pass
        c.close()


@pytest.fixture
def rtp():
    made = []

    def make():
        r = Rtp()
        made.append(r)
        return r

    yield make
    for r in made:
        r.close()


def types(call):
    return [e["type"] for e in call["events"]]


def test_reinvite_without_sdp_gets_an_offer(server, api, raw, rtp):
    setup_inbound(api, number=NUMBER, first_message="Hello.")
    c, r1, r2 = raw(), rtp(), rtp()
    code, _, answer = c.invite(sdp(r1.port))
    assert code == 200
    c.ack()
    port, fmts, _ = sdp_media(answer)
    r1.dest = ("127.0.0.1", port)
    call = latest_call(api)
    wait_call(api, call["id"], lambda x: x["status"] == "answered")
    time.sleep(0.5)
    assert r1.count(0, pt=0) > 10, r1.got[-5:]

    # no SDP: Parley offers everything it supports, the ACK answers with
    # PCMA on another port, and the audio follows
    code, hdrs, offer = c.invite()
    assert code == 200
    assert hdrs.get("content-type") == "application/sdp"
    oport, ofmts, odir = sdp_media(offer)
    assert oport == port and {0, 8, 101} <= set(ofmts), offer
    assert odir == "sendrecv"
    r1.dest = None
    r2.pt = 8
    r2.dest = ("127.0.0.1", oport)
    c.ack(sdp(r2.port, pts=(8, 101), version=2))
    t = time.monotonic()
    time.sleep(1.0)
    assert r2.count(t + 0.2, pt=8) > 30, r2.got[-5:]
    assert r2.count(t, pt=0) == 0
    assert r1.count(t + 0.2) == 0
    # an SDP re-offer still works afterwards
    code, _, ans = c.invite(sdp(r2.port, pts=(0, 8, 101), version=3))
    assert code == 200 and sdp_media(ans)[1][0] == 0
    c.ack()
    assert c.bye() == 200
    ended = wait_call(api, call["id"], lambda x: x["status"] == "ended")
    assert ended["hangup_by"] == "caller" and ended["outcome"] == "answered", ended


def test_hold_and_resume(server, api, raw, rtp):
    greeting = ("Hello, thank you for calling. This greeting is long enough "
                "to be put on hold while it plays.")
    setup_inbound(api, number=NUMBER, first_message=greeting)
    c, r = raw(), rtp()
    code, _, answer = c.invite(sdp(r.port))
    assert code == 200
    c.ack()
    r.dest = ("127.0.0.1", sdp_media(answer)[0])
    call = latest_call(api)
    wait_call(api, call["id"], lambda x: "playback.started" in types(x))
    time.sleep(0.5)

    # hold: Parley answers recvonly and sends nothing; the greeting waits
    code, _, ans = c.invite(sdp(r.port, direction="sendonly", version=2))
    assert code == 200 and sdp_media(ans)[2] == "recvonly", ans
    c.ack()
    t_hold = time.monotonic()
    time.sleep(2.0)
    assert r.count(t_hold + 0.2, time.monotonic()) == 0
    held = api.get("/api/v1/calls/%d" % call["id"]).json
    assert types(held).count("call.held") == 1, types(held)
    assert "playback.finished" not in types(held)

    # inactive: still nothing, and no second "held"
    code, _, ans = c.invite(sdp(r.port, direction="inactive", version=3))
    assert code == 200 and sdp_media(ans)[2] == "inactive", ans
    c.ack()
    time.sleep(0.5)
    assert r.count(t_hold + 0.2, time.monotonic()) == 0

    # resume: RTP flows again and the greeting carries on
    code, _, ans = c.invite(sdp(r.port, direction="sendrecv", version=4))
    assert code == 200 and sdp_media(ans)[2] == "sendrecv", ans
    c.ack()
    t_resume = time.monotonic()
    time.sleep(1.0)
    assert r.count(t_resume + 0.2) > 30
    resumed = wait_call(api, call["id"], lambda x: "playback.finished" in types(x),
                        timeout=15)
    t = types(resumed)
    assert t.count("call.held") == 1 and t.count("call.resumed") == 1, t
    assert t.index("call.held") < t.index("call.resumed") < t.index("playback.finished")
    assert c.bye() == 200
    wait_call(api, call["id"], lambda x: x["status"] == "ended")


def test_unusable_answer_in_ack_ends_the_call(server, api, raw):
    setup_inbound(api, number=NUMBER, first_message="Hello.")
    c = raw()
    # no SDP in the INVITE: Parley offers in the 200, our ACK answers
    # with a codec it never offered
    code, _, offer = c.invite()
    assert code == 200 and {0, 8} <= set(sdp_media(offer)[1])
    c.ack(sdp(40000, pts=(18,)))
    c.wait_request("BYE")
    call = latest_call(api)
    ended = wait_call(api, call["id"], lambda x: x["status"] == "ended")
    assert ended["hangup_by"] == "system", ended
    assert ended["hangup_cause"] in ("no_common_codec", "bad_sdp"), ended
    assert ended["outcome"] == "failed", ended


def test_sip_info_dtmf_bodies(server, api, raw, rtp):
    setup_inbound(api, number=NUMBER, first_message="Enter your code.")
    c, r = raw(), rtp()
    code, _, answer = c.invite(sdp(r.port))
    assert code == 200
    c.ack()
    r.dest = ("127.0.0.1", sdp_media(answer)[0])
    call = latest_call(api)
    wait_call(api, call["id"], lambda x: x["status"] == "answered")
    relay = "application/dtmf-relay"
    assert c.info(relay, "Signal=5\r\nDuration=160\r\n") == 200
    assert c.info(relay, "Signal= 10\r\nDuration=160\r\n") == 200    # event code: *
    assert c.info("application/dtmf", "#") == 200
    assert c.info(relay, "signal=b\r\nDuration=160\r\n") == 200
    assert c.info(relay, "Signal=11\r\n") == 200                      # #
    assert c.info(relay, "Duration=160\r\n") == 415                   # no key
    assert c.info("text/plain", "5") == 415
    assert c.info("application/dtmf-relay", "") == 200                  # empty probe
    got = wait_call(api, call["id"], lambda x: sum(
        e["type"] == "dtmf" for e in x["events"]) >= 5)
    assert c.bye() == 200
    ended = wait_call(api, call["id"], lambda x: x["status"] == "ended")
    evs = [e["data"] for e in ended["events"] if e["type"] == "dtmf"]
    assert "".join(e["digit"] for e in evs) == "5*#B#", evs
    assert {e["source"] for e in evs} == {"sip_info"}, evs
    assert got["status"] == "answered"
