"""Helpers for telephony tests: a Parley server with a trunk, an agent
and a number set up through the API, and peers from tests/sip/."""
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "sip"))

import audio  # noqa: E402
import peers  # noqa: E402


def sip_port(server):
    return int(server.env["PARLEY_SIP_LISTEN"].rsplit(":", 1)[1])


def setup_inbound(api, number="+14155550001", first_message="Hello, this is Parley.",
                  inbound=None, agent_extra=None):
    """An agent, a trunk allowing 127.0.0.1 and a number routed to them."""
    body = {"name": "Reception", "first_message": first_message}
    body.update(agent_extra or {})
    agent = api.post("/api/v1/agents", body)
    assert agent.status == 201, agent
    trunk = api.post("/api/v1/trunks", {
        "name": "loopback", "sip_uri": "sip:127.0.0.1:5999",
        "inbound": inbound if inbound is not None else {"allowed_ips": ["127.0.0.1/32"]}})
    assert trunk.status == 201, trunk
    num = api.post("/api/v1/phone-numbers", {
        "number": number, "agent_id": agent.json["id"], "trunk_id": trunk.json["id"]})
    assert num.status == 201, num
    return agent.json, trunk.json, num.json


def wait_call(api, call_id, pred, timeout=15.0):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        r = api.get("/api/v1/calls/%d" % call_id)
        if r.status == 200:
            last = r.json
            if pred(last):
                return last
        time.sleep(0.1)
    raise AssertionError("call %d never matched; last: %r" % (call_id, last))


def latest_call(api, timeout=10.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        r = api.get("/api/v1/calls?limit=500")
        if r.status == 200 and r.json["data"]:
            return r.json["data"][-1]
        time.sleep(0.1)
    raise AssertionError("no call row appeared")
