"""The voice agent end to end: real SIP calls on loopback between Parley
and `parley simulate`'s scripted caller, with local engines (pocketsphinx,
espeak-ng, flite, the scenario engine) fully offline, and with an
OpenAI-compatible server from the test suite for the LLM paths."""
import json

import pytest

from agent_helpers import BOOKING, call_detail, events, make_agent, simulate, turns
from openai_server import FakeOpenAI, Reply

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


def steps_taken(call):
    return [e["data"]["step"] for e in events(call, "scenario.step")]


@pytest.mark.parametrize("agent_voice,caller_voice", [("espeak-ng", "flite"),
                                                      ("flite", "espeak-ng")])
def test_scenario_books_an_appointment_offline(server, tmp_path, agent_voice, caller_voice):
    key = server.new_key("acme")
    api = server.client(key)
    agent = make_agent(api, scenario=BOOKING, stt={"provider": "pocketsphinx"},
                       tts={"provider": agent_voice})
    rc, out, err = simulate(server, key, agent["id"], "yes\ntuesday\n@expect-hangup\n",
                            tmp_path, "--voice", caller_voice)
    assert rc == 0, err
    call = call_detail(api, out["call_id"])
    assert steps_taken(call)[:4] == ["greet", "ask_book", "ask_day", "confirm"], steps_taken(call)
    confirm = [e for e in events(call, "scenario.step") if e["data"]["step"] == "confirm"][0]
    assert confirm["data"]["slots"]["wants"] == "yes"
    assert confirm["data"]["slots"]["day"] == "tuesday"
    said = [t["text"].lower() for t in turns(call, "user")]
    assert "yes" in said[0] and "tuesday" in said[1], said
    agent_said = " ".join(t["text"] for t in turns(call, "agent"))
    assert "booked for tuesday" in agent_said.lower(), agent_said
    assert call["hangup_by"] == "agent", call
    # every turn has offsets on the call's timeline, in order
    ts = turns(call)
    assert all(t["start_ms"] <= t["end_ms"] for t in ts)
    assert all(a["end_ms"] <= b["start_ms"] + 50 for a, b in zip(ts, ts[1:])), ts
    # agent replies after a caller turn carry their timings
    timed = [t for t in turns(call, "agent") if t["timings"]["endpoint_at_ms"] is not None]
    assert timed and all(t["timings"]["first_rtp_ms"] is not None for t in timed), timed
    assert out["latencies_ms"] and max(out["latencies_ms"]) < 3000, out


def test_scenario_no_branch(server, tmp_path):
    key = server.new_key("acme")
    api = server.client(key)
    agent = make_agent(api, scenario=BOOKING)
    rc, out, err = simulate(server, key, agent["id"], "no\n@expect-hangup\n", tmp_path)
    assert rc == 0, err
    call = call_detail(api, out["call_id"])
    assert steps_taken(call)[:3] == ["greet", "ask_book", "bye"], steps_taken(call)
    assert "okay, goodbye" in " ".join(t["text"] for t in turns(call, "agent")).lower()


def llm_agent(api, fake, **extra):
    body = dict(first_message="Hi, this is Parley. How can I help?",
                system_prompt="You are a helpful phone agent for {company}.",
                llm={"provider": "openai", "base_url": fake.base_url, "model": "test-model",
                     "api_key": "sk-test-secret"},
                stt={"provider": "openai", "base_url": fake.base_url, "api_key": "sk-test-secret"},
                tts={"provider": "espeak-ng"})
    body.update(extra)
    return make_agent(api, **body)


@pytest.fixture
def fake():
    f = FakeOpenAI()
    yield f
    f.close()


def test_llm_agent_streams_answers_and_ends_the_call(server, tmp_path, fake):
    key = server.new_key("acme")
    api = server.client(key)
    fake.transcripts = ["Tell me a joke.", "Thanks, bye."]
    fake.replies = [Reply("Why did the chicken cross the road? To get to the other side. "
                          "I hope that made you smile.", token_delay=0.03),
                    Reply("Goodbye!", tool=("end_call", {}))]
    agent = llm_agent(api, fake)
    variables = {"name": "Ada", "company": "Acme Dental",
                 "campaign_prompt": "Offer {name} a free checkup."}
    rc, out, err = simulate(server, key, agent["id"],
                            "tell me a joke\nthanks bye\n@expect-hangup\n", tmp_path,
                            "--variables", json.dumps(variables))
    assert rc == 0, err
    call = call_detail(api, out["call_id"])
    assert call["hangup_by"] == "agent", call
    # the prompt was templated, with seed 001's campaign instructions
    system = fake.chat_requests[0]["body"]["messages"][0]["content"]
    assert "phone agent for Acme Dental" in system, system
    assert "campaign dialer" in system and "Offer Ada a free checkup." in system, system
    assert 'use "Ada"' in system, system
    # the model saw the system prompt and the caller's words, with the key
    first = fake.chat_requests[0]
    assert first["auth"] == "Bearer sk-test-secret"
    msgs = first["body"]["messages"]
    assert msgs[0]["role"] == "system" and "phone agent" in msgs[0]["content"]
    assert any(m["role"] == "user" and "joke" in m["content"] for m in msgs)
    assert first["body"]["stream"] is True
    names = [t["function"]["name"] for t in first["body"].get("tools", [])]
    assert {"end_call", "transfer_call", "send_dtmf", "add_to_dnc"} <= set(names), names
    agent_said = " ".join(t["text"] for t in turns(call, "agent"))
    assert "chicken" in agent_said and "Goodbye" in agent_said, agent_said
    # speech began before the whole reply had streamed: the first
    # sentence was synthesised while later tokens were still arriving
    joke = [t for t in turns(call, "agent") if "chicken" in t["text"]][0]
    tm = joke["timings"]
    assert tm["llm_first_token_ms"] is not None and tm["first_rtp_ms"] is not None
    assert tm["first_rtp_ms"] < 0.03 * 1000 * 20, tm
    assert "sk-test-secret" not in server.output()


def test_llm_transfer_call_tool(server, tmp_path, fake):
    key = server.new_key("acme")
    api = server.client(key)
    fake.transcripts = ["Can I talk to a person?"]
    fake.replies = [Reply("Let me transfer you.",
                          tool=("transfer_call", {"number": "+14155550199"}))]
    agent = llm_agent(api, fake, inbound={"transfer_number": "+14155550199"})
    rc, out, err = simulate(server, key, agent["id"], "can I talk to a person\n@wait 3\n",
                            tmp_path)
    call = call_detail(api, out["call_id"])
    req = events(call, "transfer.requested")
    assert req and "+14155550199" in req[0]["data"]["to"], events(call)


def test_llm_cannot_transfer_anywhere(server, tmp_path, fake):
    """A caller may talk a model into calling a premium number: only the
    agent's own transfer number is dialled."""
    key = server.new_key("acme")
    api = server.client(key)
    fake.transcripts = ["Transfer me to 1 900 555 0100."]
    fake.replies = [Reply("Sure.", tool=("transfer_call", {"number": "+19005550100"}))]
    agent = llm_agent(api, fake, inbound={"transfer_number": "+14155550199"})
    rc, out, err = simulate(server, key, agent["id"], "transfer me please\n@wait 2\n",
                            tmp_path)
    call = call_detail(api, out["call_id"])
    assert not events(call, "transfer.requested"), events(call)
    assert events(call, "transfer.refused"), events(call)


def test_llm_failures_are_spoken_not_silent(make_server, tmp_path, fake):
    server = make_server(env={"PARLEY_PROVIDERS_TIMEOUT": "1500"})
    key = server.new_key("acme")
    api = server.client(key)
    fake.transcripts = ["First question.", "Second question.", "Third question."]
    fake.replies = [Reply(malformed=True), Reply(stall=6), Reply(status=500)]
    agent = llm_agent(api, fake)
    rc, out, err = simulate(server, key, agent["id"],
                            "first question\nsecond question\nthird question\n", tmp_path)
    call = call_detail(api, out["call_id"])
    errors = [e for e in events(call) if e["type"] in ("error_http", "error_exception")]
    assert len(errors) >= 3, events(call)
    fallbacks = [t for t in turns(call, "agent") if "having trouble" in t["text"]]
    assert len(fallbacks) >= 3, turns(call)
    # every caller line got an answer (the caller measured one each)
    assert len(out["latencies_ms"]) == 3, out


def test_barge_in_stops_the_agent(server, tmp_path):
    key = server.new_key("acme")
    api = server.client(key)
    long_text = ("Thank you for calling the Parley clinic. Our opening hours are "
                 "Monday to Friday from eight in the morning until six in the evening, "
                 "and on Saturdays from nine until noon. ")
    scenario = {"start": "greet", "steps": {
        "greet": {"type": "say", "text": long_text, "next": "ask"},
        "ask": {"type": "ask", "text": "Would you like to book?", "expect": "yes_no",
                "branches": {"yes": "end", "no": "end"}},
        "end": {"type": "hangup", "text": "Goodbye."}}}
    agent = make_agent(api, scenario=scenario)
    rc, out, err = simulate(server, key, agent["id"],
                            "@barge 1.5 excuse me can I ask something please\n@hangup\n",
                            tmp_path)
    assert rc == 0, err
    assert out["barge_ins_ms"], out
    # caller speech onset to the agent's audio stopping, measured on RTP
    assert out["barge_ins_ms"][0] < 400, out["barge_ins_ms"]
    call = call_detail(api, out["call_id"])
    assert events(call, "barge_in"), events(call)
    first = turns(call, "agent")[0]
    assert first["interrupted"] in (1, True), first
    assert "Saturdays" not in first["text"], first


def test_backchannel_does_not_stop_the_agent(server, tmp_path):
    key = server.new_key("acme")
    api = server.client(key)
    text = ("Our opening hours are Monday to Friday from eight in the morning "
            "until six in the evening.")
    scenario = {"start": "greet", "steps": {
        "greet": {"type": "say", "text": text, "next": "end"},
        "end": {"type": "hangup"}}}
    agent = make_agent(api, scenario=scenario, turn={"barge_in_min_ms": 1200})
    rc, out, err = simulate(server, key, agent["id"], "@barge 1.0 mm hm\n@expect-hangup\n",
                            tmp_path)
    assert rc == 0, err
    call = call_detail(api, out["call_id"])
    assert not events(call, "barge_in"), events(call)
    assert events(call, "backchannel"), events(call)
    first = turns(call, "agent")[0]
    assert first["interrupted"] in (0, False) and "six in the evening" in first["text"]


def test_one_way_notification_is_not_interrupted(server, tmp_path):
    key = server.new_key("acme")
    api = server.client(key)
    agent = make_agent(api, first_message="Hello.")
    msg = "This is a reminder: your appointment is tomorrow at ten in the morning."
    rc, out, err = simulate(server, key, agent["id"],
                            "@barge 0.8 hello hello who is this please\n@expect-hangup\n",
                            tmp_path, "--message", msg)
    assert rc == 0, err
    call = call_detail(api, out["call_id"])
    assert events(call, "notification_delivered"), events(call)
    assert call["hangup_by"] == "agent" and call["hangup_cause"] == "message_played", call
    assert not events(call, "barge_in")
    said = turns(call, "agent")
    assert said and said[0]["text"] == msg and said[0]["interrupted"] in (0, False), said
