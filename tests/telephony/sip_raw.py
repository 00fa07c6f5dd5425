"""Raw SIP over UDP, TCP and TLS from Python sockets, for tests that must
send what no well-behaved peer would (broken messages, bare requests) and
read the exact responses. Loopback only."""
import os
import re
import socket
import ssl
import time
import uuid

SDP_PCMU = ("v=0\r\n"
            "o=raw 1 1 IN IP4 127.0.0.1\r\n"
            "s=-\r\n"
            "c=IN IP4 127.0.0.1\r\n"
            "t=0 0\r\n"
            "m=audio 40000 RTP/AVP 0\r\n"
            "a=rtpmap:0 PCMU/8000\r\n"
            "a=sendrecv\r\n")


def request(method, ruri, transport="UDP", local_port=5999, call_id=None, cseq=1,
            headers=None, body=b"", ctype=None, omit=(), clen=None):
    """A SIP request as bytes. `omit` names headers to leave out (e.g.
    "Call-ID"); `clen` overrides the Content-Length text; `headers` are
    extra "Name: value" lines."""
    if isinstance(body, str):
        body = body.encode()
    call_id = call_id or uuid.uuid4().hex
    branch = "z9hG4bK" + uuid.uuid4().hex[:16]
    hdrs = [
        ("Via", "SIP/2.0/%s 127.0.0.1:%d;branch=%s;rport" % (transport, local_port, branch)),
        ("Max-Forwards", "70"),
        ("From", "<sip:raw@127.0.0.1>;tag=%s" % uuid.uuid4().hex[:8]),
        ("To", "<%s>" % ruri),
        ("Call-ID", call_id),
        ("CSeq", "%d %s" % (cseq, method)),
        ("Contact", "<sip:raw@127.0.0.1:%d;transport=%s>" % (local_port, transport.lower())),
    ]
    if ctype is not None:
        hdrs.append(("Content-Type", ctype))
    hdrs += [tuple(h.split(": ", 1)) for h in headers or []]
    hdrs.append(("Content-Length", clen if clen is not None else str(len(body))))
    lines = ["%s %s SIP/2.0" % (method, ruri)]
    lines += ["%s: %s" % (n, v) for n, v in hdrs if n not in omit]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class Response:
    def __init__(self, raw):
        self.raw = raw
        head, _, self.body = raw.partition(b"\r\n\r\n")
        lines = head.decode(errors="replace").split("\r\n")
        m = re.match(r"SIP/2\.0 (\d{3}) (.*)", lines[0])
        if not m:
            raise ValueError("not a SIP response: %r" % raw[:200])
        self.code = int(m.group(1))
        self.reason = m.group(2)
        self.headers = []
        for line in lines[1:]:
            name, _, value = line.partition(":")
            self.headers.append((name.strip().lower(), value.strip()))

    def header(self, name):
        name = name.lower()
        for n, v in self.headers:
            if n == name:
                return v
        return None

    def __repr__(self):
        return "<SIP %d %s>" % (self.code, self.reason)


def split_stream(buf):
    """Complete messages at the front of a TCP byte stream -> (msgs, rest)."""
    out = []
    while True:
        while buf.startswith(b"\r\n"):
            buf = buf[2:]
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            return out, buf
        m = re.search(rb"\r\n(?:Content-Length|l)[ \t]*:[ \t]*(\d+)", buf[:end + 2], re.I)
        n = int(m.group(1)) if m else 0
        if len(buf) < end + 4 + n:
            return out, buf
        out.append(buf[:end + 4 + n])
        buf = buf[end + 4 + n:]


class Client:
    """One socket to Parley's SIP port: send raw bytes, collect responses.
    transport: "UDP", "TCP" or "TLS" (no certificate verification)."""

    def __init__(self, port, transport="UDP", host="127.0.0.1"):
        self.transport = transport
        self.addr = (host, port)
        self.buf = b""
        self.closed = False
        self.invite = None
        if transport == "UDP":
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.sock.bind(("127.0.0.1", 0))
        else:
            raw = socket.create_connection(self.addr, timeout=5)
            if transport == "TLS":
                ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
                raw = ctx.wrap_socket(raw, server_hostname=host)
            self.sock = raw
        self.local_port = self.sock.getsockname()[1]

    def request(self, method, ruri, **kw):
        return request(method, ruri, transport=self.transport,
                       local_port=self.local_port, **kw)

    def send(self, data):
        if data.startswith(b"INVITE "):
            self.invite = data
        if self.transport == "UDP":
            self.sock.sendto(data, self.addr)
        else:
            self.sock.sendall(data)

    def recv(self, timeout=2.0, final=True):
        """The next response (a final one unless final=False), or None when
        nothing came within `timeout` (or a stream was closed)."""
        deadline = time.monotonic() + timeout
        while True:
            msg = self._next(deadline)
            if msg is None:
                return None
            if not msg.startswith(b"SIP/2.0"):
                continue     # a request (e.g. a BYE): not what we wait for
            r = Response(msg)
            if r.code >= 300:
                self._ack(r)
            if r.code >= 200 or not final:
                return r

    def _ack(self, resp):
        """ACK a failure response to our INVITE (same branch), so the
        server stops retransmitting it."""
        cseq = resp.header("cseq") or ""
        if not self.invite or not cseq.endswith("INVITE"):
            return
        head = self.invite.split(b"\r\n\r\n", 1)[0].decode(errors="replace")
        lines = head.split("\r\n")
        ruri = lines[0].split(" ")[1]
        keep = [l for l in lines[1:] if l.split(":", 1)[0].lower() in
                ("via", "from", "call-id", "max-forwards")]
        ack = ["ACK %s SIP/2.0" % ruri] + keep + [
            "To: %s" % resp.header("to"),
            "CSeq: %s ACK" % cseq.split()[0], "Content-Length: 0"]
        try:
            self.send(("\r\n".join(ack) + "\r\n\r\n").encode())
        except OSError:
            pass

    def recv_any(self, timeout=2.0):
        """The next message of any kind as raw bytes, or None."""
        return self._next(time.monotonic() + timeout)

    def _next(self, deadline):
        while True:
            if self.transport != "UDP":
                msgs, self.buf = split_stream(self.buf)
                if msgs:
                    self.buf = b"".join(msgs[1:]) + self.buf
                    return msgs[0]
                if self.closed:
                    return None
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                if self.transport == "UDP":
                    data, _ = self.sock.recvfrom(65536)
                    return data
                data = self.sock.recv(65536)
            except (socket.timeout, ssl.SSLError):
                return None
            except OSError:
                self.closed = True
                return None
            if not data:
                self.closed = True
            self.buf += data

    def alive(self):
        """For streams: False once the server closed the connection."""
        return not self.closed

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def transact(port, data, transport="UDP", timeout=2.0):
    """Send one message on a fresh socket; the final response or None."""
    with Client(port, transport) as c:
        c.send(data)
        return c.recv(timeout)


def load_corpus(directory):
    """(name, bytes) for every file of a corpus directory, sorted."""
    out = []
    for name in sorted(os.listdir(directory)):
        with open(os.path.join(directory, name), "rb") as f:
            out.append((name, f.read()))
    return out
