"""Agents: CRUD, defaults, write-only secrets, prompt history, the runtime
config and its cache (including a store outage on PostgreSQL)."""
import copy
import os
import re
import subprocess
import time

import pytest

from parley_helpers import (ALL_SECRETS, ISO_TS, LLM_KEY, STT_KEY, TOOL_AUTH,
                            TTS_KEY, Checks, agent_body, campaign_body, err,
                            list_all, no_secret, ok, strip_times, trunk_body)
import parley_helpers

# every test: no secret or API key in any server log
no_secrets_in_logs = parley_helpers.no_secrets_in_logs

A = "/api/v1/agents"

DEFAULT_OUTBOUND = {
    "max_attempts": 3,
    "retry_delays": {"busy": 300, "no_answer": 1800, "failed": 3600,
                     "unreachable": 600, "voicemail": 7200},
    "amd": {"enabled": False, "voicemail_action": "hangup",
            "unsure_action": "human"},
    "calling_window": {"windows": [{"days": ["mon", "tue", "wed", "thu", "fri",
                                             "sat", "sun"],
                                    "start": "08:00", "end": "21:00"}]},
    "greet_after_silence_ms": 2500,
}
DEFAULT_LIMITS = {"max_duration": 1800, "silence_timeout": 20,
                  "silence_reprompts": 1}
DEFAULT_RECORDING = {"enabled": True}
DEFAULT_TURN = {"min_silence_ms": 500, "max_silence_ms": 1500, "barge_in": True,
                "barge_in_min_ms": 400, "min_speech_ms": 120}


def expected_full(body):
    """What Parley answers for agent_body(): secrets replaced by *_set,
    phones in E.164, nested defaults filled in."""
    e = copy.deepcopy(body)
    for part in ("stt", "llm", "tts"):
        del e[part]["api_key"]
        e[part]["api_key_set"] = True
    del e["tools"][0]["auth_header"]
    e["tools"][0]["auth_header_set"] = True
    e["tools"][1]["auth_header_set"] = False
    e["tools"][1]["timeout_ms"] = 5000
    e["inbound"]["transfer_number"] = "+442079460958"
    e["outbound"]["retry_delays"].update(failed=3600, unreachable=600,
                                         voicemail=7200)
    e["version"] = 1
    e.setdefault("turn", DEFAULT_TURN)
    e.setdefault("recording", DEFAULT_RECORDING)
    return e


def test_create_full_agent_roundtrip(api):
    body = agent_body()
    r = api.post(A, body)
    created = ok(r, 201)
    aid = created["id"]
    assert isinstance(aid, int) and aid > 0
    assert r.headers["Location"] == "%s/%d" % (A, aid)
    assert ISO_TS.match(created["created_at"]) and ISO_TS.match(created["updated_at"])
    got = strip_times(created)
    del got["id"]
    assert got == expected_full(body)
    no_secret(r.body, "in create")

    r = api.get("%s/%d" % (A, aid))
    assert ok(r) == created
    no_secret(r.body, "in get")

    items, _ = list_all(api, A)
    assert [i["id"] for i in items] == [aid]
    assert items[0] == created


def test_minimal_agent_gets_defaults(api):
    a = ok(api.post(A, {"name": "Bare"}), 201)
    assert strip_times(a) == {
        "id": a["id"], "name": "Bare", "first_speaker": "agent",
        "stt": {"provider": "pocketsphinx", "api_key_set": False},
        "llm": {"provider": "scenario", "temperature": 0.7, "max_tokens": 300,
                "api_key_set": False},
        "tts": {"provider": "espeak-ng", "speed": 1.0, "api_key_set": False},
        "outbound": DEFAULT_OUTBOUND,
        "limits": DEFAULT_LIMITS,
        "turn": DEFAULT_TURN,
        "recording": DEFAULT_RECORDING,
        "version": 1,
    }
    assert a["created_at"] == a["updated_at"]


def test_update_patch_and_put(api):
    a = ok(api.post(A, agent_body()), 201)
    url = "%s/%d" % (A, a["id"])

    p = ok(api.patch(url, {"name": "Renamed", "limits": {"max_duration": 60}}))
    assert p["name"] == "Renamed"
    # merge patch: sibling members of a nested object are kept
    assert p["limits"] == {"max_duration": 60, "silence_timeout": 12,
                           "silence_reprompts": 2}
    assert p["version"] == 2
    assert p["created_at"] == a["created_at"]
    assert p["updated_at"] >= a["updated_at"]
    assert p["llm"] == a["llm"] and p["tools"] == a["tools"]

    # PUT is the same merge patch, not a replacement
    q = ok(api.put(url, {"description": None, "outbound": {"amd": {"enabled": False}}}))
    assert "description" not in q
    assert q["outbound"]["amd"] == {"enabled": False, "voicemail_action": "leave_message",
                                    "voicemail_message": "Sorry we missed you.",
                                    "unsure_action": "machine"}
    assert q["name"] == "Renamed" and q["version"] == 3
    assert ok(api.get(url)) == q

    # arrays are replaced as a whole (RFC 7396)
    t = ok(api.patch(url, {"tools": [{"name": "only", "url": "https://x.example/t"}]}))
    assert t["tools"] == [{"name": "only", "url": "https://x.example/t",
                           "method": "POST", "timeout_ms": 5000,
                           "auth_header_set": False}]
    # removing an optional object entirely
    u = ok(api.patch(url, {"inbound": None, "metadata": None}))
    assert "inbound" not in u and "metadata" not in u

    # a PATCH that the schema refuses changes nothing
    before = ok(api.get(url))
    err(api.patch(url, {"name": "ok", "llm": {"temperature": 3}}), 400,
        "invalid_value", "llm.temperature")
    err(api.patch(url, {"name": None}), 400, "missing_field", "name")
    assert ok(api.get(url)) == before


def test_delete_agent(api):
    a = ok(api.post(A, {"name": "Temp", "system_prompt": "x"}), 201)
    url = "%s/%d" % (A, a["id"])
    ok(api.delete(url), 204)
    err(api.get(url), 404, "not_found")
    err(api.delete(url), 404, "not_found")
    err(api.patch(url, {"name": "x"}), 404, "not_found")
    err(api.get(url + "/runtime-config"), 404, "not_found")
    err(api.get(url + "/prompt-history"), 404, "not_found")
    assert ok(api.get(A))["data"] == []


def test_delete_agent_in_use_by_campaign(api):
    a = ok(api.post(A, {"name": "Busy"}), 201)["id"]
    t = ok(api.post("/api/v1/trunks", trunk_body()), 201)["id"]
    c = ok(api.post("/api/v1/campaigns", campaign_body(a, t)), 201)["id"]
    err(api.delete("%s/%d" % (A, a)), 409, "in_use")
    err(api.delete("/api/v1/trunks/%d" % t), 409, "in_use")
    assert ok(api.get("%s/%d" % (A, a)))["name"] == "Busy"
    ok(api.delete("/api/v1/campaigns/%d" % c), 204)
    ok(api.delete("%s/%d" % (A, a)), 204)
    ok(api.delete("/api/v1/trunks/%d" % t), 204)


def test_list_pagination(api):
    ids = [ok(api.post(A, {"name": "Agent %02d" % i}), 201)["id"] for i in range(7)]
    assert ids == sorted(ids)
    page1 = ok(api.get(A + "?limit=3"))
    assert [a["id"] for a in page1["data"]] == ids[:3]
    assert page1["next_cursor"] == str(ids[2])
    page2 = ok(api.get(A + "?limit=3&cursor=" + page1["next_cursor"]))
    assert [a["id"] for a in page2["data"]] == ids[3:6]
    page3 = ok(api.get(A + "?limit=3&cursor=" + page2["next_cursor"]))
    assert [a["id"] for a in page3["data"]] == ids[6:]
    assert page3["next_cursor"] is None
    # exactly a full last page: no cursor pointing at an empty page
    assert ok(api.get(A + "?limit=7"))["next_cursor"] is None
    items, pages = list_all(api, A, limit=2)
    assert [a["id"] for a in items] == ids and pages == 4
    assert [a["name"] for a in ok(api.get(A))["data"]] == ["Agent %02d" % i for i in range(7)]
    assert ok(api.get(A + "?limit=500"))["next_cursor"] is None
    assert ok(api.get(A + "?cursor=%d" % ids[-1]))["data"] == []


def test_default_page_size_is_50(api, database):
    from parley_helpers import now_ms, tenant_id
    tid = tenant_id(database, "acme")
    t = now_ms()
    values = ",".join("(%d, %d, %d, 'bulk %d', 1)" % (tid, t, t, i) for i in range(120))
    database.sql("INSERT INTO agents (tenant_id, created_at, updated_at, name, "
                 "version) VALUES " + values)
    page = ok(api.get(A))
    assert len(page["data"]) == 50 and page["next_cursor"] == str(page["data"][-1]["id"])
    items, pages = list_all(api, A, limit=500)
    assert len(items) == 120 and pages == 1
    items, pages = list_all(api, A)
    assert len(items) == 120 and pages == 3
    assert len({i["id"] for i in items}) == 120


def test_agent_validation(api):
    a = ok(api.post(A, agent_body()), 201)
    url = "%s/%d" % (A, a["id"])
    win = {"days": ["mon"], "start": "09:00", "end": "17:00"}
    tool = {"name": "t", "url": "https://t.example/x"}
    cases = [
        ({"nmae": "x"}, "unknown_field", "nmae"),
        ({"llm": {"temprature": 0.5}}, "unknown_field", "llm.temprature"),
        ({"llm": {"api_key_set": True}}, "unknown_field", "llm.api_key_set"),
        ({"tools": [dict(tool, nam="x")]}, "unknown_field", "tools[0].nam"),
        ({"outbound": {"amd": {"enable": True}}}, "unknown_field", "outbound.amd.enable"),
        ({"inbound": {"business_hours": {"windows": [dict(win, open=True)]}}},
         "unknown_field", "inbound.business_hours.windows[0].open"),
        ({"version": 7}, "read_only_field", "version"),
        ({"id": 7}, "unknown_field", "id"),
        ({"updated_at": "2024-01-01T00:00:00Z"}, "unknown_field", "updated_at"),
        ({"name": 5}, "invalid_type", "name"),
        ({"name": ""}, "invalid_value", "name"),
        ({"name": "x" * 201}, "invalid_value", "name"),
        ({"language": "e"}, "invalid_value", "language"),
        ({"system_prompt": ["a"]}, "invalid_type", "system_prompt"),
        ({"scenario": "start"}, "invalid_type", "scenario"),
        ({"scenario": {"start": "a", "steps": {"a": {"type": "say", "text": "x",
                                                     "next": "zz"}}}},
         "invalid_scenario", "scenario.steps.a.next"),
        ({"scenario": {"start": "a", "steps": {"a": {"type": "ask"}}}},
         "invalid_scenario", "scenario.steps.a.text"),
        ({"turn": {"min_silence_ms": 50}}, "invalid_value", "turn.min_silence_ms"),
        ({"turn": {"barge_in": "yes"}}, "invalid_type", "turn.barge_in"),
        ({"recording": {"enabled": 1}}, "invalid_type", "recording.enabled"),
        ({"outbound": {"amd": {"detector": {"greeting": -5}}}}, "invalid_value",
         "outbound.amd.detector"),
        ({"outbound": {"amd": {"detector": {"greting": 900}}}}, "unknown_field",
         "outbound.amd.detector"),
        ({"stt": "deepgram"}, "invalid_type", "stt"),
        ({"llm": {"temperature": "hot"}}, "invalid_type", "llm.temperature"),
        ({"llm": {"temperature": 2.01}}, "invalid_value", "llm.temperature"),
        ({"llm": {"temperature": -0.1}}, "invalid_value", "llm.temperature"),
        ({"llm": {"max_tokens": 0}}, "invalid_value", "llm.max_tokens"),
        ({"llm": {"max_tokens": 32769}}, "invalid_value", "llm.max_tokens"),
        ({"llm": {"max_tokens": 300.5}}, "invalid_type", "llm.max_tokens"),
        ({"llm": {"max_tokens": "300"}}, "invalid_type", "llm.max_tokens"),
        ({"llm": {"provider": "anthropic"}}, "invalid_value", "llm.provider"),
        ({"llm": {"base_url": "api.openai.com/v1"}}, "invalid_value", "llm.base_url"),
        ({"llm": {"api_key": 12345}}, "invalid_type", "llm.api_key"),
        ({"llm": {"api_key": "k" * 1025}}, "invalid_value", "llm.api_key"),
        ({"stt": {"provider": "whisper"}}, "invalid_value", "stt.provider"),
        ({"tts": {"speed": 0.2}}, "invalid_value", "tts.speed"),
        ({"tts": {"speed": 4.5}}, "invalid_value", "tts.speed"),
        ({"tts": {"base_url": "ftp://tts.example"}}, "invalid_value", "tts.base_url"),
        ({"first_speaker": "robot"}, "invalid_value", "first_speaker"),
        ({"tools": {"name": "t"}}, "invalid_type", "tools"),
        ({"tools": [tool] * 33}, "invalid_value", "tools"),
        ({"tools": [{"url": "https://t.example"}]}, "missing_field", "tools[0].name"),
        ({"tools": [tool, {"name": "u"}]}, "missing_field", "tools[1].url"),
        ({"tools": [dict(tool, url="mailto:x@y.z")]}, "invalid_value", "tools[0].url"),
        ({"tools": [dict(tool, method="DELETE")]}, "invalid_value", "tools[0].method"),
        ({"tools": [dict(tool, timeout_ms=99)]}, "invalid_value", "tools[0].timeout_ms"),
        ({"tools": [dict(tool, name="")]}, "invalid_value", "tools[0].name"),
        ({"tools": [dict(tool, parameters=[])]}, "invalid_type", "tools[0].parameters"),
        ({"tools": [dict(tool, auth_header=["x"])]}, "invalid_type", "tools[0].auth_header"),
        ({"tools": ["t"]}, "invalid_type", "tools[0]"),
        ({"inbound": {"transfer_number": "12"}}, "invalid_value", "inbound.transfer_number"),
        ({"inbound": {"fallback_number": "+999 1234567"}}, "invalid_value",
         "inbound.fallback_number"),
        ({"inbound": {"business_hours": {"timezone": "Mars/Olympus_Mons"}}}, "invalid_value",
         "inbound.business_hours.timezone"),
        ({"inbound": {"business_hours": {"timezone": "europe/london"}}}, "invalid_value",
         "inbound.business_hours.timezone"),
        ({"inbound": {"business_hours": {"windows": [dict(win, start="9:00")]}}},
         "invalid_value", "inbound.business_hours.windows[0].start"),
        ({"inbound": {"business_hours": {"windows": [dict(win, end="17:60")]}}},
         "invalid_value", "inbound.business_hours.windows[0].end"),
        ({"inbound": {"business_hours": {"windows": [dict(win, start="25:00")]}}},
         "invalid_value", "inbound.business_hours.windows[0].start"),
        ({"inbound": {"business_hours": {"windows": [dict(win, start="0900")]}}},
         "invalid_value", "inbound.business_hours.windows[0].start"),
        ({"inbound": {"business_hours": {"windows": [dict(win, days=["mon", "funday"])]}}},
         "invalid_value", "inbound.business_hours.windows[0].days[1]"),
        ({"inbound": {"business_hours": {"windows": [{"days": ["mon"], "end": "10:00"}]}}},
         "missing_field", "inbound.business_hours.windows[0].start"),
        ({"inbound": {"business_hours": {"windows": [win] * 29}}}, "invalid_value",
         "inbound.business_hours.windows"),
        ({"outbound": {"max_attempts": 0}}, "invalid_value", "outbound.max_attempts"),
        ({"outbound": {"max_attempts": 21}}, "invalid_value", "outbound.max_attempts"),
        ({"outbound": {"retry_delays": {"busy": 604801}}}, "invalid_value",
         "outbound.retry_delays.busy"),
        ({"outbound": {"retry_delays": {"no_answer": -1}}}, "invalid_value",
         "outbound.retry_delays.no_answer"),
        ({"outbound": {"amd": {"enabled": "yes"}}}, "invalid_type", "outbound.amd.enabled"),
        ({"outbound": {"amd": {"voicemail_action": "sing"}}}, "invalid_value",
         "outbound.amd.voicemail_action"),
        ({"outbound": {"amd": {"unsure_action": "coin"}}}, "invalid_value",
         "outbound.amd.unsure_action"),
        ({"outbound": {"calling_window": {"timezone": "UTC+1"}}}, "invalid_value",
         "outbound.calling_window.timezone"),
        ({"outbound": {"calling_window": {"windows": [dict(win, days="mon")]}}}, "invalid_type",
         "outbound.calling_window.windows[0].days"),
        ({"outbound": {"greet_after_silence_ms": 10001}}, "invalid_value",
         "outbound.greet_after_silence_ms"),
        ({"limits": {"max_duration": 9}}, "invalid_value", "limits.max_duration"),
        ({"limits": {"max_duration": 14401}}, "invalid_value", "limits.max_duration"),
        ({"limits": {"silence_timeout": 0}}, "invalid_value", "limits.silence_timeout"),
        ({"limits": {"silence_reprompts": 11}}, "invalid_value", "limits.silence_reprompts"),
        ({"limits": None}, "invalid_type", "limits"),
        ({"metadata": {"k%d" % i: i for i in range(201)}}, "invalid_value", "metadata"),
        ({"metadata": "x"}, "invalid_type", "metadata"),
        ({"first_message": "x" * 4001}, "invalid_value", "first_message"),
    ]
    chk = Checks()
    base = {"name": "Valid"}
    for over, code, field in cases:
        chk.run("POST %r" % over, lambda: err(api.post(A, dict(base, **over)), 400, code, field))
        if over != {"limits": None}:
            chk.run("PATCH %r" % over, lambda: err(api.patch(url, over), 400, code, field))
    chk.run("missing name", lambda: err(api.post(A, {"description": "x"}), 400,
                                        "missing_field", "name"))
    # cross-field: an openai agent needs a system prompt
    chk.run("openai without prompt",
            lambda: err(api.post(A, {"name": "x", "llm": {"provider": "openai"}}), 400,
                        "missing_field", "system_prompt"))
    chk.run("PATCH openai prompt null",
            lambda: err(api.patch(url, {"system_prompt": None}), 400, "missing_field",
                        "system_prompt"))
    chk.run("scenario agent without prompt",
            lambda: ok(api.post(A, {"name": "x", "llm": {"provider": "scenario"}}), 201))
    chk.done()
    # nothing above changed the agent
    assert ok(api.get(url)) == a
    assert len(list_all(api, A)[0]) == 2


def test_secrets_write_only(make_server):
    server = make_server(env={"PARLEY_LOG_LEVEL": "debug"})
    key = server.new_key("acme")
    api = server.client(key)
    r = api.post(A, agent_body())
    a = ok(r, 201)
    url = "%s/%d" % (A, a["id"])
    bodies = [r.body]
    for part in ("stt", "llm", "tts"):
        assert a[part]["api_key_set"] is True and "api_key" not in a[part]
    assert a["tools"][0]["auth_header_set"] is True
    assert "auth_header" not in a["tools"][0]
    assert a["tools"][1]["auth_header_set"] is False

    for path in (url, A, A + "?limit=1", url + "/runtime-config",
                 url + "/runtime-config", url + "/prompt-history"):
        r = api.get(path)
        assert r.status == 200, r
        bodies.append(r.body)

    # PATCH without the secrets keeps them
    r = api.patch(url, {"name": "New name", "llm": {"model": "gpt-4o"},
                        "stt": {"language": "en-US"}})
    p = ok(r)
    bodies.append(r.body)
    for part in ("stt", "llm", "tts"):
        assert p[part]["api_key_set"] is True, part
    assert p["tools"][0]["auth_header_set"] is True
    cfg = ok(api.get(url + "/runtime-config"))["config"]
    assert cfg["llm"]["api_key_set"] is True and cfg["llm"]["model"] == "gpt-4o"
    assert cfg["tools"][0]["auth_header_set"] is True

    # a new value replaces the secret; null removes it
    r = api.patch(url, {"llm": {"api_key": "sk-replaced-SECRET"}, "tts": {"api_key": None}})
    p = ok(r)
    bodies.append(r.body)
    assert "sk-replaced-SECRET" not in r.body
    assert p["llm"]["api_key_set"] is True and p["tts"]["api_key_set"] is False
    assert p["tts"]["voice"] == "alloy" and p["stt"]["api_key_set"] is True
    r = api.patch(url, {"stt": {"api_key": None}, "llm": {"api_key": None}})
    p = ok(r)
    assert p["stt"]["api_key_set"] is False and p["llm"]["api_key_set"] is False
    assert p["stt"]["model"] == "nova-2"
    # an empty string is not "set"
    p = ok(api.patch(url, {"stt": {"api_key": ""}}))
    assert p["stt"]["api_key_set"] is False
    r = api.get(url + "/runtime-config")
    cfg = ok(r)["config"]
    bodies.append(r.body)
    assert cfg["llm"]["api_key_set"] is False and cfg["tts"]["api_key_set"] is False
    assert cfg["tools"][0]["auth_header_set"] is True
    # tools is an array: a PATCH of it replaces it whole (RFC 7396), so the
    # secret goes unless sent again
    tools = [{k: v for k, v in t.items() if not k.endswith("_set")} for t in p["tools"]]
    p = ok(api.patch(url, {"tools": tools}))
    assert [t["auth_header_set"] for t in p["tools"]] == [False, False]
    tools[1]["auth_header"] = TOOL_AUTH
    r = api.patch(url, {"tools": tools})
    bodies.append(r.body)
    assert [t["auth_header_set"] for t in ok(r)["tools"]] == [False, True]

    for b in bodies:
        no_secret(b)
    server.stop()
    log = server.output()
    for s in ALL_SECRETS + ["sk-replaced-SECRET", key]:
        assert s not in log, "server log contains %r" % s


def test_secrets_are_stored(api, database):
    """Redaction happens on output only: the store keeps what was sent,
    and a PATCH that does not mention a secret leaves it in place."""
    a = ok(api.post(A, agent_body()), 201)
    ok(api.patch("%s/%d" % (A, a["id"]), {"name": "x", "llm": {"model": "m"}}))
    row = database.sql("SELECT llm, stt, tts, tools FROM agents WHERE id = %d" % a["id"])[0]
    assert LLM_KEY in row[0] and STT_KEY in row[1] and TTS_KEY in row[2]
    assert TOOL_AUTH in row[3]


def test_prompt_history(api):
    a = ok(api.post(A, {"name": "H", "system_prompt": "P1", "first_message": "Hello"}), 201)
    url = "%s/%d" % (A, a["id"])

    def hist():
        return ok(api.get(url + "/prompt-history"))["data"]

    h = hist()
    assert len(h) == 1
    assert set(h[0]) == {"version", "changed_at", "system_prompt", "first_message"}
    assert h[0]["version"] == 1 and h[0]["system_prompt"] == "P1"
    assert h[0]["first_message"] == "Hello" and ISO_TS.match(h[0]["changed_at"])

    # unrelated edits bump the version but add no history entry
    assert ok(api.patch(url, {"name": "H2", "language": "de"}))["version"] == 2
    assert ok(api.patch(url, {"limits": {"max_duration": 60}}))["version"] == 3
    assert hist() == h
    # writing the same prompt again is no change either
    assert ok(api.patch(url, {"system_prompt": "P1"}))["version"] == 4
    assert hist() == h

    assert ok(api.patch(url, {"system_prompt": "P2"}))["version"] == 5
    scenario = {"start": "greet", "steps": {"greet": {"type": "say", "text": "Hi",
                                                      "next": "end"},
                                            "end": {"type": "hangup"}}}
    assert ok(api.put(url, {"scenario": scenario}))["version"] == 6
    assert ok(api.patch(url, {"first_message": None}))["version"] == 7
    assert ok(api.patch(url, {"name": "H3"}))["version"] == 8

    h = hist()
    assert [e["version"] for e in h] == [7, 6, 5, 1]
    # each entry is the complete prompt state after that change
    assert h[0] == {"version": 7, "changed_at": h[0]["changed_at"],
                    "system_prompt": "P2", "scenario": scenario}
    assert h[1] == {"version": 6, "changed_at": h[1]["changed_at"],
                    "system_prompt": "P2", "scenario": scenario,
                    "first_message": "Hello"}
    assert h[2] == {"version": 5, "changed_at": h[2]["changed_at"],
                    "system_prompt": "P2", "first_message": "Hello"}
    assert h[3]["system_prompt"] == "P1"
    assert [e["changed_at"] for e in h] == sorted((e["changed_at"] for e in h), reverse=True)

    # a refused update leaves history alone
    err(api.patch(url, {"system_prompt": 5}), 400, "invalid_type", "system_prompt")
    assert len(hist()) == 4

    # an agent without prompts: one (empty) entry for its creation
    b = ok(api.post(A, {"name": "Plain"}), 201)
    hb = ok(api.get("%s/%d/prompt-history" % (A, b["id"])))["data"]
    assert [set(e) for e in hb] == [{"version", "changed_at"}]


def metrics(client):
    """The runtime-config cache counters from /metrics."""
    r = client.get("/metrics")
    assert r.status == 200
    out = {}
    for line in r.body.splitlines():
        m = re.match(r'^parley_runtime_config_cache_total\{result="(\w+)"\} (\d+)$', line)
        if m:
            out[m.group(1)] = int(m.group(2))
    assert set(out) == {"hit", "miss", "stale", "default"}, r.body
    return out


def cache_entries(client):
    body = client.get("/metrics").body
    m = re.search(r"^parley_runtime_config_cache_entries (\S+)$", body, re.M)
    assert m, body
    return float(m.group(1))


def test_runtime_config_and_cache(api):
    a = ok(api.post(A, agent_body()), 201)
    b = ok(api.post(A, {"name": "Other"}), 201)
    url = "%s/%d/runtime-config" % (A, a["id"])
    m0 = metrics(api)
    assert m0["hit"] == m0["miss"] == 0

    r1 = ok(api.get(url))
    assert set(r1) == {"agent_id", "source", "config"}
    assert r1["agent_id"] == a["id"] and r1["source"] == "store"
    cfg = r1["config"]
    expected = expected_full(agent_body())
    expected["agent_id"] = a["id"]
    assert cfg == expected

    r2 = ok(api.get(url))
    assert r2["source"] == "cache" and r2["config"] == cfg
    m1 = metrics(api)
    assert (m1["miss"], m1["hit"]) == (1, 1)

    # an update invalidates at once; the next lookup reads the store
    ok(api.patch("%s/%d" % (A, a["id"]), {"system_prompt": "New prompt {name}"}))
    r3 = ok(api.get(url))
    assert r3["source"] == "store"
    assert r3["config"]["system_prompt"] == "New prompt {name}"
    assert r3["config"]["version"] == 2
    assert ok(api.get(url))["source"] == "cache"
    m2 = metrics(api)
    assert (m2["miss"], m2["hit"]) == (2, 2) and m2["stale"] == m2["default"] == 0

    # minimal agent: every default resolved
    rb = ok(api.get("%s/%d/runtime-config" % (A, b["id"])))
    assert rb["source"] == "store"
    assert rb["config"]["outbound"] == DEFAULT_OUTBOUND
    assert rb["config"]["limits"] == DEFAULT_LIMITS
    assert rb["config"]["version"] == 1 and rb["config"]["agent_id"] == b["id"]

    # deleting the agent: the cached entry must not be served any more
    ok(api.delete("%s/%d" % (A, b["id"])), 204)
    err(api.get("%s/%d/runtime-config" % (A, b["id"])), 404, "not_found")
    err(api.get("%s/999999/runtime-config" % A), 404, "not_found")
    m3 = metrics(api)
    assert m3["hit"] == m2["hit"]


def test_runtime_config_cache_entries_gauge(api):
    assert cache_entries(api) == 0
    ids = [ok(api.post(A, {"name": "G%d" % i}), 201)["id"] for i in range(3)]
    for i in ids[:2]:
        ok(api.get("%s/%d/runtime-config" % (A, i)))
        ok(api.get("%s/%d/runtime-config" % (A, i)))
    assert cache_entries(api) == 2


def _pg_admin(sql):
    subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1",
                    os.environ["PARLEY_TEST_PG_URL"], "-c", sql],
                   check=True, capture_output=True)


def test_runtime_config_store_outage(backend, database, make_server):
    if backend != "postgres":
        pytest.skip("needs a store that can be made unreachable (PostgreSQL)")
    server = make_server(env={"PARLEY_CACHE_TTL": "0", "PARLEY_AUTH_CACHE_TTL": "300"})
    api = server.client(server.new_key("acme"))
    a = ok(api.post(A, agent_body()), 201)
    b = ok(api.post(A, {"name": "Never loaded", "system_prompt": "B"}), 201)
    url_a = "%s/%d/runtime-config" % (A, a["id"])
    url_b = "%s/%d/runtime-config" % (A, b["id"])
    fresh = ok(api.get(url_a))
    assert fresh["source"] == "store"
    # ttl 0: nothing is fresh after the millisecond it was loaded in, so
    # every lookup goes to the store
    time.sleep(0.002)
    assert ok(api.get(url_a))["source"] == "store"
    m0 = metrics(api)

    name = database.name
    _pg_admin("ALTER DATABASE %s ALLOW_CONNECTIONS false" % name)
    try:
        _pg_admin("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                  "WHERE datname = '%s'" % name)
        for _ in range(3):   # whichever worker answers
            s = ok(api.get(url_a))
            assert s["source"] == "stale_cache", s
            assert s["config"] == fresh["config"]
            d = ok(api.get(url_b))
            assert d["source"] == "defaults", d
            assert d["agent_id"] == b["id"]
            assert d["config"]["name"] == "default" and "system_prompt" not in d["config"]
            assert d["config"]["outbound"] == DEFAULT_OUTBOUND
        h = api.get("/health")
        assert h.status == 503, h
        assert h.json["status"] == "degraded"
        assert h.json["store"]["ok"] is False
        assert h.json["store"]["backend"] == "postgresql"
        # what needs the store says so
        for _ in range(4):
            e = err(api.get(A), 503, "store_unavailable")
            assert "retry" in e["message"]
            assert api.get("/health").status == 503
        # and the cache keeps answering, on every worker, also after
        # workers found their connections broken
        for _ in range(8):
            assert ok(api.get(url_a))["source"] == "stale_cache"
            assert ok(api.get(url_b))["source"] == "defaults"
        m1 = metrics(api)
        assert m1["stale"] == m0["stale"] + 11 and m1["default"] == m0["default"] + 11
    finally:
        _pg_admin("ALTER DATABASE %s ALLOW_CONNECTIONS true" % name)

    for _ in range(3):
        time.sleep(0.002)
        assert ok(api.get(url_a))["source"] == "store"
        rb = ok(api.get(url_b))
        assert rb["source"] == "store" and rb["config"]["system_prompt"] == "B"
    h = ok(api.get("/health"))
    assert h["status"] == "ok" and h["store"]["ok"] is True
    assert len(ok(api.get(A))["data"]) == 2
    # the database is left as found, so that it can be dropped
    out = subprocess.run(["psql", "-qAt", os.environ["PARLEY_TEST_PG_URL"], "-c",
                          "SELECT datallowconn FROM pg_database WHERE datname = '%s'" % name],
                         check=True, capture_output=True, text=True).stdout.strip()
    assert out == "t"
