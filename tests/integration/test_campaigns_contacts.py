"""Campaigns and contacts: CRUD, references, read-only state, immutable
campaign_id, filters, and bulk import (CSV and JSON)."""
import json
import time

from parley_helpers import (Checks, agent_body, campaign_body, err, list_all,
                            ok, strip_times, trunk_body)
import parley_helpers

# every test: no secret or API key in any server log
no_secrets_in_logs = parley_helpers.no_secrets_in_logs

C = "/api/v1/campaigns"
K = "/api/v1/contacts"
IMP = "/api/v1/contacts/import"


def setup_campaign(api, **over):
    a = ok(api.post("/api/v1/agents", agent_body()), 201)["id"]
    t = ok(api.post("/api/v1/trunks", trunk_body()), 201)["id"]
    c = ok(api.post(C, campaign_body(a, t, **over)), 201)
    return a, t, c


def test_campaign_crud(api):
    a, t, c = setup_campaign(api)
    expected = campaign_body(a, t)
    expected["retry"]["delays"].update(failed=3600, unreachable=600, voicemail=7200)
    expected.update(id=c["id"], state="draft")
    assert strip_times(c) == expected
    url = "%s/%d" % (C, c["id"])
    assert ok(api.get(url)) == c

    p = ok(api.patch(url, {"pacing": {"max_concurrent": 10}, "caller_id": "(415) 555-0188",
                           "default_country": "us"}))
    assert p["pacing"] == {"max_concurrent": 10, "calls_per_second": 0.5}
    assert p["caller_id"] == "+14155550188" and p["default_country"] == "US"
    assert p["state"] == "draft" and "started_at" not in p
    a2 = ok(api.post("/api/v1/agents", {"name": "Second"}), 201)["id"]
    p = ok(api.put(url, {"agent_id": a2, "prompt": None}))
    assert p["agent_id"] == a2 and "prompt" not in p and p["trunk_id"] == t
    ok(api.delete(url), 204)
    err(api.get(url), 404, "not_found")
    ok(api.delete("/api/v1/agents/%d" % a), 204)


def test_campaign_defaults(api):
    a = ok(api.post("/api/v1/agents", {"name": "A"}), 201)["id"]
    t = ok(api.post("/api/v1/trunks", {"name": "T", "sip_uri": "sip:t.example"}), 201)["id"]
    c = ok(api.post(C, {"name": "Min", "agent_id": a, "trunk_id": t}), 201)
    assert strip_times(c) == {
        "id": c["id"], "name": "Min", "agent_id": a, "trunk_id": t, "state": "draft",
        "calling_window": {"windows": [{"days": ["mon", "tue", "wed", "thu", "fri", "sat",
                                                 "sun"], "start": "08:00", "end": "21:00"}]},
        "pacing": {"max_concurrent": 5, "calls_per_second": 1.0},
        "retry": {"delays": {"busy": 300, "no_answer": 1800, "failed": 3600,
                             "unreachable": 600, "voicemail": 7200}},
    }


def test_campaign_validation_and_state(api):
    a, t, c = setup_campaign(api)
    url = "%s/%d" % (C, c["id"])
    chk = Checks()
    base = {"name": "x", "agent_id": a, "trunk_id": t}
    cases = [
        ({"state": "running"}, "read_only_field", "state"),
        ({"started_at": "2024-01-01T00:00:00Z"}, "read_only_field", "started_at"),
        ({"completed_at": None}, "read_only_field", "completed_at"),
        ({"agent_id": 999999}, "invalid_reference", "agent_id"),
        ({"trunk_id": 999999}, "invalid_reference", "trunk_id"),
        ({"agent_id": "1"}, "invalid_type", "agent_id"),
        ({"default_country": "XX"}, "invalid_value", "default_country"),
        ({"default_country": "GBR"}, "invalid_value", "default_country"),
        ({"caller_id": "abc"}, "invalid_value", "caller_id"),
        ({"pacing": {"max_concurrent": 0}}, "invalid_value", "pacing.max_concurrent"),
        ({"pacing": {"calls_per_second": 5000}}, "invalid_value", "pacing.calls_per_second"),
        ({"pacing": {"burst": 2}}, "unknown_field", "pacing.burst"),
        ({"retry": {"max_attempts": 21}}, "invalid_value", "retry.max_attempts"),
        ({"retry": {"delays": {"busy": -1}}}, "invalid_value", "retry.delays.busy"),
        ({"retry": {"delays": {"bussy": 1}}}, "unknown_field", "retry.delays.bussy"),
        ({"calling_window": {"timezone": "Europe/Londn"}}, "invalid_value",
         "calling_window.timezone"),
        ({"calling_window": {"windows": [{"days": ["mon"], "start": "9:00", "end": "17:00"}]}},
         "invalid_value", "calling_window.windows[0].start"),
        ({"calling_window": {"windows": [{"days": ["mon"], "start": "09:00", "end": "24:30"}]}},
         "invalid_value", "calling_window.windows[0].end"),
        ({"calling_window": {"windows": [{"days": ["monday"], "start": "09:00",
                                          "end": "17:00"}]}},
         "invalid_value", "calling_window.windows[0].days[0]"),
        ({"calling_window": {"windows": [{"days": ["mon"], "start": "09:00"}]}},
         "missing_field", "calling_window.windows[0].end"),
        ({"calling_window": {"windows": [{"days": ["mon"] * 8, "start": "09:00",
                                          "end": "17:00"}]}},
         "invalid_value", "calling_window.windows[0].days"),
        ({"metadata": [1]}, "invalid_type", "metadata"),
        ({"prompt": "x" * 100001}, "invalid_value", "prompt"),
    ]
    for over, code, field in cases:
        chk.run("POST %r" % over, lambda: err(api.post(C, dict(base, **over)), 400, code, field))
        chk.run("PATCH %r" % over, lambda: err(api.patch(url, over), 400, code, field))
    for missing in ("name", "agent_id", "trunk_id"):
        body = {k: v for k, v in base.items() if k != missing}
        chk.run("missing " + missing,
                lambda: err(api.post(C, body), 400, "missing_field", missing))
    chk.run("24:00 is a valid end", lambda: ok(api.patch(url, {"calling_window": {"windows": [
        {"days": ["sun"], "start": "00:00", "end": "24:00"}]}})))
    chk.done()
    assert ok(api.get(url))["state"] == "draft"
    assert len(ok(api.get(C))["data"]) == 1


def test_campaign_filters(api):
    a, t, c1 = setup_campaign(api)
    a2 = ok(api.post("/api/v1/agents", {"name": "B"}), 201)["id"]
    c2 = ok(api.post(C, campaign_body(a2, t, "Other")), 201)
    assert [c["id"] for c in ok(api.get(C + "?agent_id=%d" % a2))["data"]] == [c2["id"]]
    assert [c["id"] for c in ok(api.get(C + "?state=draft"))["data"]] == [c1["id"], c2["id"]]
    assert ok(api.get(C + "?state=running"))["data"] == []
    assert ok(api.get(C + "?state=draft&agent_id=%d" % a))["data"][0]["id"] == c1["id"]
    err(api.get(C + "?state=started"), 400, "invalid_query", "state")
    err(api.get(C + "?trunk_id=%d" % t), 400, "invalid_query", "trunk_id")


def test_contact_crud(api):
    _, _, camp = setup_campaign(api)
    cid = camp["id"]
    r = api.post(K + "?default_country=GB", {
        "campaign_id": cid, "phone": "07700 900123", "name": "Jane Doe",
        "email": "jane@example.com", "timezone": "Europe/London",
        "fields": {"company": "Initech", "plan": "gold"}})
    k = ok(r, 201)
    assert r.headers["Location"] == "%s/%d" % (K, k["id"])
    assert strip_times(k) == {"id": k["id"], "campaign_id": cid, "phone": "+447700900123",
                              "name": "Jane Doe", "email": "jane@example.com",
                              "timezone": "Europe/London",
                              "fields": {"company": "Initech", "plan": "gold"}}
    url = "%s/%d" % (K, k["id"])
    assert ok(api.get(url)) == k

    p = ok(api.patch(url, {"name": "Jane Smith", "timezone": None,
                           "fields": {"plan": "platinum"}}))
    assert p["name"] == "Jane Smith" and "timezone" not in p
    # free-form objects merge too (RFC 7396); null removes a member
    assert p["fields"] == {"company": "Initech", "plan": "platinum"}
    p = ok(api.patch(url, {"fields": {"company": None, "size": 50}}))
    assert p["fields"] == {"plan": "platinum", "size": 50}
    # the same campaign_id is fine, another one is not
    ok(api.patch(url, {"campaign_id": cid, "email": "js@example.com"}))
    _, _, other = setup_campaign(api)
    err(api.patch(url, {"campaign_id": other["id"]}), 400, "immutable_field", "campaign_id")
    err(api.put(url, {"campaign_id": None}), 400, "immutable_field", "campaign_id")
    assert ok(api.get(url))["campaign_id"] == cid

    # unique per campaign, whatever the spelling
    err(api.post(K, {"campaign_id": cid, "phone": "+44 7700 900123"}), 409, "conflict")
    k2 = ok(api.post(K, {"campaign_id": other["id"], "phone": "+447700900123"}), 201)
    assert k2["campaign_id"] == other["id"]
    k3 = ok(api.post(K, {"campaign_id": cid, "phone": "+447700900124"}), 201)
    err(api.patch("%s/%d" % (K, k3["id"]), {"phone": "+447700900123"}), 409, "conflict")

    # filters
    by_phone = ok(api.get(K + "?phone=%2B447700900123"))["data"]
    assert sorted(x["id"] for x in by_phone) == sorted([k["id"], k2["id"]])
    by_phone = ok(api.get(K + "?phone=07700%%20900123&default_country=GB&campaign_id=%d" % cid))
    assert [x["id"] for x in by_phone["data"]] == [k["id"]]
    assert [x["id"] for x in ok(api.get(K + "?campaign_id=%d" % cid))["data"]] == [k["id"], k3["id"]]
    assert ok(api.get(K + "?phone=%2B15555550100"))["data"] == []
    err(api.get(K + "?phone=hello"), 400, "invalid_query", "phone")
    err(api.get(K + "?campaign_id=x"), 400, "invalid_query", "campaign_id")
    err(api.get(K + "?name=Jane"), 400, "invalid_query", "name")

    # contacts go with their campaign
    ok(api.delete("%s/%d" % (K, k3["id"])), 204)
    ok(api.delete("%s/%d" % (C, cid)), 204)
    err(api.get(url), 404, "not_found")
    assert [x["id"] for x in ok(api.get(K))["data"]] == [k2["id"]]


def test_contact_validation(api):
    _, _, camp = setup_campaign(api)
    base = {"campaign_id": camp["id"], "phone": "+14155550100"}
    chk = Checks()
    cases = [
        ({"campaign_id": 999999}, "invalid_reference", "campaign_id"),
        ({"phone": "555"}, "invalid_value", "phone"),
        ({"phone": None}, "invalid_type", "phone"),
        ({"timezone": "Mars/Olympus"}, "invalid_value", "timezone"),
        ({"timezone": "../../etc/passwd"}, "invalid_value", "timezone"),
        ({"timezone": "Europe"}, "invalid_value", "timezone"),
        ({"email": 5}, "invalid_type", "email"),
        ({"email": "x" * 321}, "invalid_value", "email"),
        ({"fields": "plan=gold"}, "invalid_type", "fields"),
        ({"fields": {"k%d" % i: i for i in range(101)}}, "invalid_value", "fields"),
        ({"notes": "x"}, "unknown_field", "notes"),
    ]
    for over, code, field in cases:
        chk.run(repr(over)[:80], lambda: err(api.post(K, dict(base, **over)), 400, code, field))
    chk.run("missing campaign", lambda: err(api.post(K, {"phone": "+14155550100"}), 400,
                                            "missing_field", "campaign_id"))
    chk.run("missing phone", lambda: err(api.post(K, {"campaign_id": camp["id"]}), 400,
                                         "missing_field", "phone"))
    chk.done()
    assert ok(api.get(K))["data"] == []


def test_contact_pagination(api):
    _, _, camp = setup_campaign(api)
    rows = [{"phone": "+1415555%04d" % i, "name": "N%d" % i} for i in range(23)]
    ok(api.post(IMP + "?campaign_id=%d" % camp["id"], rows))
    items, pages = list_all(api, K + "?campaign_id=%d" % camp["id"], limit=10)
    assert pages == 3 and [x["phone"] for x in items] == [r["phone"] for r in rows]
    page = ok(api.get(K + "?campaign_id=%d&limit=10" % camp["id"]))
    nxt = ok(api.get(K + "?campaign_id=%d&limit=10&cursor=%s" % (camp["id"], page["next_cursor"])))
    assert nxt["data"][0]["name"] == "N10"


# ---- import ----

def imp(api, campaign, data, ctype="text/csv", query=""):
    raw = data if isinstance(data, (bytes, str)) else json.dumps(data)
    return api.post("%s?campaign_id=%d%s" % (IMP, campaign, query), raw=raw, ctype=ctype)


def contacts_of(api, campaign):
    items, _ = list_all(api, K + "?campaign_id=%d" % campaign, limit=500)
    return {c["phone"]: c for c in items}


def test_import_csv_aliases_quotes_bom_crlf(api):
    _, _, camp = setup_campaign(api)   # default_country GB
    csv = ("\ufeffPhone Number , Full_Name,E-Mail,TZ,Plan,Notes\r\n"
           "+44 7700 900001,\"Doe, Jane\",jane@example.com,Europe/London,gold,\"line1\r\nline2, \"\"quoted\"\"\"\r\n"
           "07700 900002,Bob,,,silver,\r\n"
           "\r\n"
           "+1 (415) 555-0100,Al,al@example.com,America/Los_Angeles,,\r\n")
    r = imp(api, camp["id"], csv.encode("utf-8"))
    res = ok(r)
    assert res == {"campaign_id": camp["id"], "received": 3, "created": 3, "updated": 0,
                   "skipped_dnc": 0, "failed": 0, "errors": []}
    got = contacts_of(api, camp["id"])
    assert set(got) == {"+447700900001", "+447700900002", "+14155550100"}
    jane = got["+447700900001"]
    assert strip_times(jane) == {
        "id": jane["id"], "campaign_id": camp["id"], "phone": "+447700900001",
        "name": "Doe, Jane", "email": "jane@example.com", "timezone": "Europe/London",
        "fields": {"Plan": "gold", "Notes": "line1\r\nline2, \"quoted\""}}
    bob = got["+447700900002"]
    assert bob["name"] == "Bob" and bob["fields"] == {"Plan": "silver"}
    assert "email" not in bob and "timezone" not in bob
    assert got["+14155550100"]["timezone"] == "America/Los_Angeles"
    assert "fields" not in got["+14155550100"]


def test_import_header_aliases(api):
    _, _, camp = setup_campaign(api)
    variants = ["phone", "PHONE", "phone_number", "PhoneNumber", "number", "Mobile", "tel",
                "Telephone", "Phone Number"]
    chk = Checks()
    for i, h in enumerate(variants):
        csv = "%s,full_name,EMAIL,time_zone\n+1202555%04d,N %s,e%d@x.io,America/Chicago\n" % (
            h, i, h, i)

        def one():
            res = ok(imp(api, camp["id"], csv))
            assert (res["created"], res["failed"]) == (1, 0), res
            c = ok(api.get(K + "?phone=%%2B1202555%04d" % i))["data"]
            assert len(c) == 1 and c[0]["name"] == "N " + h, c
            assert c[0]["email"] == "e%d@x.io" % i and c[0]["timezone"] == "America/Chicago"
            assert "fields" not in c[0]
        chk.run(h, one)
    # tz alias, and a column repeating an alias: the first one wins
    def tz():
        res = ok(imp(api, camp["id"], "tel,tz,name,mobile\n+12025559999,UTC,X,+12025558888\n"))
        assert res["created"] == 1, res
        c = ok(api.get(K + "?phone=%2B12025559999"))["data"]
        assert c and c[0]["timezone"] == "UTC" and "fields" not in c[0], c
    chk.run("tz", tz)

    def repeated_extra_column():
        # a repeated column name: the first wins (and the contact stays readable)
        res = ok(imp(api, camp["id"], "phone,plan,plan,Plan\n+12025557777,a,b,c\n,,,\n"))
        assert res["created"] == 1, res
        c = ok(api.get(K + "?phone=%2B12025557777"))["data"]
        assert c and c[0]["fields"] == {"plan": "a", "Plan": "c"}, c
    chk.run("repeated column", repeated_extra_column)
    chk.done()


def test_import_row_errors(api):
    _, _, camp = setup_campaign(api)
    csv = ("phone,name,timezone\n"
           "+447700900001,Good,\n"
           "not-a-phone,Bad phone,\n"
           "+447700900003,Bad tz,Mars/Base\n"
           "+447700900004,too,many,fields\n"
           "+447700900005\n"
           "\"+447700900006\",\"multi\nline\",\n"
           "12,short,\n"
           "+447700900008,Good too,Asia/Tokyo\n")
    res = ok(imp(api, camp["id"], csv))
    assert (res["received"], res["created"], res["updated"], res["skipped_dnc"], res["failed"]) \
        == (8, 3, 0, 0, 5)
    errs = [(e["row"], e["code"], e.get("field")) for e in res["errors"]]
    assert errs == [(3, "invalid_value", "phone"), (4, "invalid_value", "timezone"),
                    (5, "invalid_row", None), (6, "invalid_row", None),
                    (9, "invalid_value", "phone")]
    for e in res["errors"]:
        assert isinstance(e["message"], str) and e["message"]
    assert "4 fields" in res["errors"][2]["message"]
    assert set(contacts_of(api, camp["id"])) == {"+447700900001", "+447700900006",
                                                  "+447700900008"}


def test_import_upsert_and_dnc(api):
    _, _, camp = setup_campaign(api)
    cid = camp["id"]
    first = ("phone,name,email,plan\n"
             "+447700900001,Ann,ann@example.com,gold\n"
             "+447700900002,Ben,ben@example.com,silver\n")
    assert ok(imp(api, cid, first))["created"] == 2
    before = contacts_of(api, cid)
    ok(api.post("/api/v1/dnc", {"phone": "+447700900003"}), 201)
    ok(api.post("/api/v1/dnc", {"phone": "+447700900004", "campaign_id": cid}), 201)
    _, _, other = setup_campaign(api)
    ok(api.post("/api/v1/dnc", {"phone": "+447700900005", "campaign_id": other["id"]}), 201)
    time.sleep(0.005)
    second = ("phone,name,plan\n"
              "07700 900001,Ann B,platinum\n"      # update: name and fields change, email kept
              "+447700900003,Dee,\n"                # tenant-wide DNC
              "+447700900004,Eve,\n"                # this campaign's DNC
              "+447700900005,Fay,\n"                # another campaign's DNC: imported
              "+447700900002,Ben,silver\n")         # unchanged values: still an update
    res = ok(imp(api, cid, second))
    assert (res["received"], res["created"], res["updated"], res["skipped_dnc"], res["failed"]) \
        == (5, 1, 2, 2, 0), res
    assert [(e["row"], e["code"], e["field"]) for e in res["errors"]] == [
        (3, "dnc", "phone"), (4, "dnc", "phone")]
    after = contacts_of(api, cid)
    assert set(after) == {"+447700900001", "+447700900002", "+447700900005"}
    ann = after["+447700900001"]
    assert ann["id"] == before["+447700900001"]["id"]
    assert ann["name"] == "Ann B" and ann["email"] == "ann@example.com"
    assert ann["fields"] == {"plan": "platinum"}
    assert ann["created_at"] == before["+447700900001"]["created_at"]
    assert ann["updated_at"] > before["+447700900001"]["updated_at"]
    assert after["+447700900002"]["id"] == before["+447700900002"]["id"]
    # nothing leaked into the other campaign
    assert contacts_of(api, other["id"]) == {}


def test_import_json_forms(api):
    _, _, camp = setup_campaign(api)
    cid = camp["id"]
    arr = [{"phone": "+14155550100", "name": "A", "fields": {"x": 1}},
           {"phone": "(415) 555-0101", "timezone": "America/Los_Angeles"},
           {"phone": "nope"},
           "not an object",
           {"phone": "+14155550102", "campaign_id": cid},
           {"phone": "+14155550103", "colour": "red"}]
    res = ok(imp(api, cid, arr, ctype="application/json", query="&default_country=US"))
    assert (res["received"], res["created"], res["failed"]) == (6, 2, 4), res
    assert [(e["row"], e["code"], e.get("field")) for e in res["errors"]] == [
        (3, "invalid_value", "phone"), (4, "invalid_type", None),
        (5, "unknown_field", "campaign_id"), (6, "unknown_field", "colour")]
    res = ok(imp(api, cid, {"contacts": [{"phone": "+14155550100", "name": "A2"},
                                         {"phone": "+14155550104"}]},
                 ctype="application/json"))
    assert (res["received"], res["created"], res["updated"]) == (2, 1, 1), res
    got = contacts_of(api, cid)
    assert got["+14155550100"]["name"] == "A2" and got["+14155550100"]["fields"] == {"x": 1}
    assert set(got) == {"+14155550100", "+14155550101", "+14155550104"}
    res = ok(imp(api, cid, [], ctype="application/json"))
    assert res["received"] == 0 and res["errors"] == []
    # default_country: the query wins over the campaign's (GB)
    res = ok(imp(api, cid, "phone\n(212) 555-0100\n", query="&default_country=US"))
    assert res["created"] == 1 and "+12125550100" in contacts_of(api, cid)
    res = ok(imp(api, cid, "phone\n020 7946 0000\n"))
    assert res["created"] == 1 and "+442079460000" in contacts_of(api, cid)


def test_import_refusals(api, other):
    _, _, camp = setup_campaign(api)
    cid = camp["id"]
    chk = Checks()
    cases = [
        ("phone,name\n\"unterminated,x\n", "text/csv", "", 400, "invalid_csv"),
        ("phone,name\na\"b,x\n", "text/csv", "", 400, "invalid_csv"),
        ("name,email\nx,y@z\n", "text/csv", "", 400, "invalid_csv"),
        ("\n\n", "text/csv", "", 400, "invalid_csv"),
        ("", "text/csv", "", 400, "invalid_body"),
        ("phone\n+14155550100\n", "text/plain", "", 415, "unsupported_media_type"),
        ("[{\"phone\":\"+14155550100\"},]", "application/json", "", 400, "invalid_json"),
        ("{\"contacts\":[],\"x\":1}", "application/json", "", 400, "invalid_body"),
        ("{\"rows\":[]}", "application/json", "", 400, "invalid_body"),
        ("\"str\"", "application/json", "", 400, "invalid_json"),
        ("phone\n+14155550100\n", "text/csv", "&default_country=XX", 400, "invalid_query"),
        ("phone\n+14155550100\n", "text/csv", "&dry_run=1", 400, "invalid_query"),
    ]
    for body, ctype, q, status, code in cases:
        chk.run("%r %s %s" % (body[:30], ctype, q),
                lambda: err(imp(api, cid, body, ctype=ctype, query=q), status, code))

    def bad_line_col():
        e = err(imp(api, cid, "phone,name\n+14155550100,ok\n+14155550101,\"open\n"), 400,
                "invalid_csv")
        assert "line 3 column" in e["message"], e
    chk.run("line/col", bad_line_col)
    chk.run("no phone column field",
            lambda: err(imp(api, cid, "name\nx\n"), 400, "invalid_csv", "phone"))
    chk.run("no campaign_id", lambda: err(api.post(IMP, raw="phone\n+14155550100\n",
                                                   ctype="text/csv"),
                                          400, "invalid_query", "campaign_id"))
    for bad in ("abc", "%dabc" % cid, "0", "-1", "", "1.0", "99999999999999999999"):
        chk.run("campaign_id=" + bad,
                lambda: err(api.post(IMP + "?campaign_id=" + bad, raw="phone\n+14155550100\n",
                                     ctype="text/csv"), 400, "invalid_query", "campaign_id"))
    chk.run("unknown campaign", lambda: err(imp(api, 999999, "phone\n+14155550100\n"), 404,
                                            "not_found"))
    chk.run("other tenant's campaign",
            lambda: err(imp(other, cid, "phone\n+14155550100\n"), 404, "not_found"))
    chk.done()
    assert contacts_of(api, cid) == {}


def test_import_is_atomic_on_bad_syntax(api):
    """A CSV syntax error late in the file imports nothing."""
    _, _, camp = setup_campaign(api)
    rows = "".join("+1202555%04d,N\n" % i for i in range(50))
    err(imp(api, camp["id"], "phone,name\n" + rows + "\"broken\n"), 400, "invalid_csv")
    assert contacts_of(api, camp["id"]) == {}


def test_import_20000_rows(api, database):
    _, _, camp = setup_campaign(api)
    cid = camp["id"]
    lines = ["phone,name,email,segment"]
    for i in range(20000):
        lines.append("+1%d555%04d,Contact %d,c%d@example.com,s%d" % (
            202 + i // 10000, i % 10000, i, i, i % 7))
    # 1,100 bad rows: more errors than the response lists
    for i in range(1100):
        lines.append("bad-%d,Broken %d,," % (i, i))
    body = "\n".join(lines) + "\n"
    t0 = time.time()
    res = ok(imp(api, cid, body))
    elapsed = time.time() - t0
    assert (res["received"], res["created"], res["updated"], res["failed"]) == \
        (21100, 20000, 0, 1100), {k: v for k, v in res.items() if k != "errors"}
    assert len(res["errors"]) == 1000
    assert res["errors"][0]["row"] == 20002 and res["errors"][-1]["row"] == 21001
    n = database.sql("SELECT COUNT(*) FROM contacts WHERE campaign_id = %d" % cid)
    assert int(n[0][0]) == 20000
    sample = ok(api.get(K + "?phone=%2B12035550042"))["data"]
    assert len(sample) == 1 and sample[0]["name"] == "Contact 10042"
    assert sample[0]["fields"] == {"segment": "s%d" % (10042 % 7)}
    items, pages = list_all(api, K + "?campaign_id=%d" % cid, limit=500)
    assert len(items) == 20000 and pages == 40
    assert len({c["phone"] for c in items}) == 20000
    # import metric counts created + updated
    m = api.get("/metrics").body
    assert "parley_contacts_imported_total 20000" in m
    assert elapsed < 60


def test_concurrent_imports_upsert(api):
    """Imports of the same numbers into one campaign at the same time all
    succeed: each number is created once and updated by the others."""
    import threading
    _, _, camp = setup_campaign(api)
    csv = "phone,name\n" + "".join("+1202555%04d,N%d\n" % (i, i) for i in range(300))
    res = [None] * 4

    def run(i):
        res[i] = imp(api, camp["id"], csv)
    threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    bodies = [ok(r) for r in res]
    assert sorted((b["created"], b["updated"]) for b in bodies) == [(0, 300)] * 3 + [(300, 0)]
    assert len(contacts_of(api, camp["id"])) == 300
