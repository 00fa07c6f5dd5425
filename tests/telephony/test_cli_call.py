"""`parley call` and `parley trunk check` against a running server and the
callee tool: the command follows the call to its outcome."""
import subprocess

import pytest

from conftest import PARLEY, SAN_ENV
from tel_helpers import latest_call, peers, wait_call


def wait_call_answered(api):
    call = latest_call(api)
    return wait_call(api, call["id"], lambda c: c["status"] == "answered")


def cli(server, key, *args):
    env = dict(server.env, PARLEY_API_KEY=key, **SAN_ENV)
    return subprocess.run([PARLEY] + list(args) + ["--server", server.url], env=env,
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_parley_call_follows_outcomes(server, tmp_path):
    key = server.new_key("acme")
    api = server.client(key)
    with peers.Callee(str(tmp_path / "callee")) as callee:
        agent = api.post("/api/v1/agents", {"name": "Out", "first_message": "Hello."}).json
        trunk = api.post("/api/v1/trunks", {
            "name": "callee", "sip_uri": "sip:127.0.0.1:%d" % callee.sip_port}).json
        # the callee answers a number with a tone; the call is hung up
        # through the API while `parley call` follows it
        env = dict(server.env, PARLEY_API_KEY=key, **SAN_ENV)
        proc = subprocess.Popen([PARLEY, "call", "--agent", str(agent["id"]), "--to",
                                 "+14155550100", "--trunk", str(trunk["id"]),
                                 "--server", server.url], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            call = wait_call_answered(api)
            assert api.post("/api/v1/calls/%d/hangup" % call["id"]).status == 202
            out, errs = proc.communicate(timeout=30)
        finally:
            proc.kill()
        assert proc.returncode == 0, out + errs
        lines = out.splitlines()
        assert lines[0] == "call %d to +14155550100" % call["id"]
        assert "  answered" in lines and lines[-1].startswith("outcome answered, SIP 200")
        assert "api_hangup by agent" in lines[-1]

        r = cli(server, key, "trunk", "check", str(trunk["id"]))
        assert r.returncode == 0, r.stdout + r.stderr
        assert r.stdout.startswith("trunk %d: reachable, SIP " % trunk["id"])

    r = cli(server, key, "call", "--agent", "999", "--to", "+14155550100")
    assert r.returncode == 1 and "no agent 999" in r.stderr
    r = cli(server, key, "call", "--to", "+14155550100")
    assert r.returncode == 2 and "--agent" in r.stderr
    env = dict(server.env, **SAN_ENV)
    env.pop("PARLEY_API_KEY", None)
    r = subprocess.run([PARLEY, "trunk", "check", "1", "--server", server.url], env=env,
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and "API key" in r.stderr
