"""`parley contacts import`: a CSV with bad rows through a real server;
rejected rows come back with the file's line numbers and reasons, also
when the file goes in many small chunks (quoted line breaks, blank lines
and a CRLF file included), and a progress bar is drawn on stderr."""
import json
import subprocess

import pytest

from conftest import PARLEY, SAN_ENV

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


def ok(r, status=200):
    assert r.status == status, r
    return r.json


def campaign(api, name="Import"):
    agent = ok(api.post("/api/v1/agents", {"name": "A"}), 201)
    trunk = ok(api.post("/api/v1/trunks", {"name": "T", "sip_uri": "sip:127.0.0.1:5999"}), 201)
    return ok(api.post("/api/v1/campaigns", {"name": name, "agent_id": agent["id"],
                                             "trunk_id": trunk["id"],
                                             "default_country": "US"}), 201)


def run_import(server, key, camp, path, *extra):
    env = dict(server.env, **SAN_ENV)
    env.pop("PARLEY_API_KEY", None)
    r = subprocess.run([PARLEY, "contacts", "import", "--campaign", str(camp["id"]),
                        str(path), "--server", server.url, "--api-key", key] + list(extra),
                       env=env, capture_output=True, timeout=120)
    # bytes: text mode would turn the bar's carriage returns into newlines
    r.stdout, r.stderr = r.stdout.decode(), r.stderr.decode()
    return r


SMALL = (
    "phone,name,email,timezone,plan\n"                       # 1
    "+14155550001,Ann,ann@example.com,,gold\n"               # 2
    "not-a-number,Bob,bob@example.com,,silver\n"             # 3 invalid phone
    "+14155550002,\"Carol, Jr.\",c@example.com,,\"two\n"     # 4
    "lines\"\n"                                              # 5
    "+14155550003,Dan\n"                                     # 6 field count
    "\n"                                                     # 7 blank
    "+14155550004,Eve,eve@example.com,Mars/Base,gold\n"      # 8 bad time zone
    "+14155550001,Ann Again,ann@example.com,,gold\n"         # 9 update
    "+14155550005,Fay,fay@example.com,,bronze\n"             # 10 DNC
)


def test_import_reports_rejected_rows_by_line(server, tmp_path):
    key = server.new_key("acme")
    api = server.client(key)
    camp = campaign(api)
    ok(api.post("/api/v1/dnc", {"phone": "+14155550005"}), 201)
    path = tmp_path / "small.csv"
    path.write_text(SMALL)
    r = run_import(server, key, camp, path)
    assert r.returncode == 0, r.stderr
    # the bar: percent, bar, bytes
    assert "100% [##############################]" in r.stderr, r.stderr
    assert "\r" in r.stderr and "kB" in r.stderr
    out = r.stdout
    assert "imported %s into campaign %d: 7 rows" % (path, camp["id"]) in out, out
    assert "created 2, updated 1, skipped (DNC) 1, invalid 3" in out, out
    lines = [l.strip() for l in out.splitlines() if l.strip().startswith("line ")]
    assert [l.split(":")[0] for l in lines] == ["line 3", "line 6", "line 8", "line 10"], out
    assert "invalid_value phone" in lines[0], lines
    assert "row has 2 fields, the header has 5" in lines[1], lines
    assert "timezone" in lines[2], lines
    assert lines[3].startswith("line 10: dnc phone"), lines
    got = ok(api.get("/api/v1/contacts?campaign_id=%d&limit=100" % camp["id"]))["data"]
    by_phone = {c["phone"]: c for c in got}
    assert set(by_phone) == {"+14155550001", "+14155550002"}
    assert by_phone["+14155550001"]["name"] == "Ann Again"
    assert by_phone["+14155550002"]["fields"] == {"plan": "two\nlines"}

    # errors and usage
    r = run_import(server, key, {"id": 999999}, path)
    assert r.returncode == 1 and "campaign 999999 not found" in r.stderr, r.stderr
    r = subprocess.run([PARLEY, "contacts", "import", str(path)], capture_output=True,
                       text=True, env=dict(server.env, **SAN_ENV))
    assert r.returncode == 2 and "--campaign" in r.stderr, r.stderr
    r = subprocess.run([PARLEY, "contacts", "--help"], capture_output=True, text=True,
                       env=dict(server.env, **SAN_ENV))
    assert r.returncode == 0 and "--chunk-size" in r.stdout


def big_csv(n, crlf=False):
    """n data rows; every 37th phone invalid, every 53rd row short, every
    10th row's note spans two lines. Returns (text, {line: code})."""
    eol = "\r\n" if crlf else "\n"
    rows = ["phone,name,note"]
    line = 2
    bad = {}
    for i in range(n):
        phone = "+1415%07d" % (5550000 + i)
        if i % 37 == 5:
            phone = "12"
            bad[line] = "invalid_value"
        if i % 53 == 7 and i % 37 != 5:
            rows.append("%s,Short %d" % (phone, i))
            bad[line] = "invalid_row"
            line += 1
            continue
        if i % 10 == 3:
            rows.append("%s,Name %d,\"first%ssecond, \"\"q\"\"\"" % (phone, i, eol))
            line += 2
        else:
            rows.append("%s,Name %d,plain" % (phone, i))
            line += 1
        if i % 97 == 50:
            rows.append("")
            line += 1
    return eol.join(rows) + eol, bad


@pytest.mark.parametrize("crlf", [False, True], ids=["lf", "crlf"])
def test_import_in_chunks_maps_line_numbers(server, tmp_path, crlf):
    key = server.new_key("acme")
    api = server.client(key)
    camp = campaign(api)
    text, bad = big_csv(600, crlf)
    path = tmp_path / "big.csv"
    path.write_bytes(text.encode())
    r = run_import(server, key, camp, path, "--chunk-size", "2048", "--json")
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    assert res["chunks"] >= 8, res["chunks"]
    assert res["received"] == 600 and res["failed"] == len(bad), res
    assert res["created"] == 600 - len(bad) and res["updated"] == 0, res
    assert {e["line"]: e["code"] for e in res["errors"]} == bad
    assert res["ok"] is True and res["bytes"] == len(text.encode())
    assert r.stderr.count("\r") >= res["chunks"], r.stderr[-500:]
    # the multi-line notes arrived whole
    page = ok(api.get("/api/v1/contacts?campaign_id=%d&phone=%%2B14155550003" % camp["id"]))
    assert page["data"][0]["fields"]["note"] == "first%ssecond, \"q\"" % ("\r\n" if crlf else "\n")


def test_import_chunk_too_large_for_server_is_split(make_server, tmp_path):
    """A server with a small body limit answers 413: the command halves
    its chunks and carries on."""
    server = make_server(env={"PARLEY_HTTP_IMPORT_MAX_BODY": "4096"})
    key = server.new_key("acme")
    api = server.client(key)
    camp = campaign(api)
    text, bad = big_csv(300)
    path = tmp_path / "big.csv"
    path.write_text(text)
    r = run_import(server, key, camp, path, "--chunk-size", "16384", "--json")
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    assert res["received"] == 300 and {e["line"] for e in res["errors"]} == set(bad), res
