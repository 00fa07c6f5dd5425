"""Behind NAT: the configured public address is what Parley advertises in
Contact and SDP. (Only the advertisement is checked: no packet is sent to
the public address, which is a documentation range.)"""
import pytest

import sip_raw
from tel_helpers import setup_inbound, sip_port

PUBLIC = "203.0.113.7"


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_public_address_in_contact_and_sdp(make_server):
    # no ACK is ever sent, so the answered call is ended by shutdown
    server = make_server(env={"PARLEY_SIP_PUBLIC_ADDR": PUBLIC + ":5060",
                              "PARLEY_SHUTDOWN_GRACE": "1"})
    api = server.client(server.new_key("acme"))
    setup_inbound(api)
    port = sip_port(server)
    with sip_raw.Client(port) as c:
        c.send(c.request("INVITE", "sip:+14155550001@127.0.0.1:%d" % port,
                         body=sip_raw.SDP_PCMU, ctype="application/sdp"))
        r = c.recv(timeout=5)
    assert r is not None and r.code == 200, r
    assert r.header("contact") == "<sip:parley@%s:5060>" % PUBLIC
    body = r.body.decode()
    assert "c=IN IP4 %s" % PUBLIC in body, body
    # the call is hung up by the server fixture's shutdown; no ACK was sent
    # anywhere but 127.0.0.1
