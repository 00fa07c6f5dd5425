"""A 300-contact campaign against the callee farm on loopback: numbers
that answer and hang up, are busy, never answer, reject, are unreachable
(503), have an answering machine, or turn out fine on a later attempt; in
four time zones, some of them closed at first; with numbers on DNC lists
before the start and added while the campaign runs, and invalid ones.

The dialer's clock is set through dialer.clock_file: first New York is at
10:00 (Chicago open, Los Angeles and Tokyo not yet), then at 19:00 (all
open). At the end every contact has the final state its number's
behaviour calls for, the callee saw exactly one INVITE per recorded
attempt, retries are spaced as configured, no call went out while its
contact's window was closed, and the pacing limits held (from the call
rows' timestamps)."""
import os
import statistics
import time

import pytest

from dialer_helpers import (Farm, calls_of, dialer_env, insert_contact, local_minutes,
                            max_in_window, max_overlap, offset_for, setup_campaign, stats,
                            tasks_of, wait_state)

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)

CAMPAIGN_MAX = 12        # pacing.max_concurrent
TRUNK_CHANNELS = 16
TRUNK_CPS = 10
DELAY_S = 2              # every retry delay
WINDOW = (8 * 60, 21 * 60)

NY, CHI, LA, TYO = ("America/New_York", "America/Chicago", "America/Los_Angeles",
                    "Asia/Tokyo")

# behaviour -> (final status, final outcome, attempts)
EXPECT = {
    "human-hangup1": ("done", "answered", 1),
    "busy": ("failed", "busy", 3),
    "busy,human-hangup1": ("done", "answered", 2),
    "busy,busy,human-hangup1": ("done", "answered", 3),
    "noanswer": ("failed", "no_answer", 3),
    "noanswer,human-hangup1": ("done", "answered", 2),
    "reject": ("done", "rejected", 1),
    "overload": ("failed", "unreachable", 3),
}
MACHINE = "machine-hangup3"


def plan():
    """(phone, contact time zone or None, behaviour, zone called in, tag)"""
    out = []

    def add(fmt, n, start, beh, zone, tz=None, tag=None):
        for i in range(n):
            out.append((fmt % (start + i), tz, beh, zone, tag))

    ny = "+12125550%03d"
    add(ny, 60, 0, "human-hangup1", NY)
    add(ny, 10, 100, "busy", NY)
    add(ny, 10, 200, "busy,human-hangup1", NY)
    add(ny, 10, 300, "noanswer", NY)
    add(ny, 10, 400, "reject", NY)
    add(ny, 10, 500, "overload", NY)
    add(ny, 6, 600, MACHINE, NY)
    add(ny, 6, 700, "human-hangup1", NY, tag="dnc_before")
    # the contact's own zone wins over its number's
    add(ny, 8, 800, "human-hangup1", TYO, tz=TYO)
    chi = "+13125550%03d"
    add(chi, 40, 0, "human-hangup1", CHI)
    add(chi, 10, 100, "noanswer,human-hangup1", CHI)
    add("+12135550%03d", 30, 0, "human-hangup1", LA)
    tyo = "+8135555%04d"
    add(tyo, 64, 0, "human-hangup1", TYO)
    add(tyo, 10, 100, "busy,busy,human-hangup1", TYO)
    add(tyo, 6, 200, "human-hangup1", TYO, tag="dnc_during")
    add(tyo, 10, 300, "human-hangup1", NY, tz=NY)
    assert len(out) == 300
    return out


def open_at(ms, offset, zone):
    m = local_minutes(ms, offset, zone)
    return WINDOW[0] <= m < WINDOW[1]


def test_campaign_300_contacts(make_server, database, tmp_path):
    contacts = plan()
    zone_of = {p: z for p, _, _, z, _ in contacts}
    farm = Farm(str(tmp_path / "farm"), {p: b for p, _, b, _, _ in contacts})
    farm.start()
    clock = tmp_path / "clock"
    off1 = offset_for(NY, 10)
    clock.write_text(str(off1))
    srv = make_server(env=dialer_env(str(tmp_path), PARLEY_DIALER_CLOCK_FILE=str(clock)))
    api = srv.client(srv.new_key("acme"))
    try:
        run(api, srv, database, farm, contacts, zone_of, clock, off1)
    finally:
        farm.stop(check=False)


def run(api, srv, database, farm, contacts, zone_of, clock, off1):
    hook = api.post("/api/v1/webhooks", {"url": "http://127.0.0.1:9/hook",
                                         "secret": "s" * 32,
                                         "events": ["campaign.completed"]})
    assert hook.status == 201, hook
    body = []
    for phone, tz, _, _, _ in contacts:
        c = {"phone": phone, "name": "C" + phone[-4:], "fields": {"plan": "gold"}}
        if tz:
            c["timezone"] = tz
        body.append(c)
    _, _, cid = setup_campaign(api, farm, body,
                      pacing={"max_concurrent": CAMPAIGN_MAX, "calls_per_second": 30},
                      trunk={"max_channels": TRUNK_CHANNELS, "calls_per_second": TRUNK_CPS},
                      agent={"outbound": {"amd": {"enabled": True}}},
                      retry={"max_attempts": 3,
                             "delays": {k: DELAY_S for k in ("busy", "no_answer", "failed",
                                                             "unreachable", "voicemail")}})
    # DNC before the start: tenant-wide and this campaign's list
    before = [p for p, _, _, _, tag in contacts if tag == "dnc_before"]
    for i, phone in enumerate(before):
        body = {"phone": phone, "reason": "asked"}
        if i % 2:
            body["campaign_id"] = cid
        assert api.post("/api/v1/dnc", body).status == 201
    # numbers the import would have refused: one the store check catches,
    # one with no country behind its calling code
    insert_contact(database, "acme", cid, "12345", "Bad")
    insert_contact(database, "acme", cid, "+99912345678", "Nowhere")

    r = api.post("/api/v1/campaigns/%d/start" % cid)
    assert r.status == 200 and r.json["state"] == "running", r

    # phase 1: New York 10:00
    phase1 = {p for p, _, _, z, tag in contacts
              if z in (NY, CHI) and tag != "dnc_before"}
    time.sleep(2)
    during = [p for p, _, _, _, tag in contacts if tag == "dnc_during"]
    for phone in during:
        assert api.post("/api/v1/dnc", {"phone": phone}).status == 201
    deadline = time.time() + 90
    while time.time() < deadline:
        left = [t for t in tasks_of(database, cid)
                if t["to_number"] in phase1 and t["status"] in ("queued", "dialing")]
        if not left:
            break
        time.sleep(0.5)
    assert not left, left[:5]
    s = stats(api, cid)
    assert s["state"] == "running", s
    early = [c for c in calls_of(database, cid) if c["to_number"] not in phase1]
    assert not early, early[:5]

    # phase 2: New York 19:00, Tokyo 09:00, Los Angeles 16:00
    off2 = offset_for(NY, 19)
    switch = int(time.time() * 1000)
    clock.write_text(str(off2))
    final = wait_state(api, cid, "completed", 120)

    tasks = tasks_of(database, cid)
    calls = calls_of(database, cid)
    invites = farm.invites()
    check_tasks(contacts, tasks, calls, invites)
    check_pacing(calls)
    check_retries(calls)
    check_windows(calls, zone_of, phase1, off1, off2, switch)
    check_stats(final, tasks, calls)

    # campaign.completed went to the webhook outbox with the statistics
    rows = srv.db.sql("SELECT payload FROM webhook_outbox WHERE event = "
                      "'campaign.completed'")
    assert len(rows) == 1, rows
    assert '"campaign_id":%d' % cid in rows[0][0].replace(" ", ""), rows


def check_tasks(contacts, tasks, calls, invites):
    by_phone = {t["to_number"]: t for t in tasks}
    assert len(tasks) == 302
    assert by_phone["12345"]["status"] == "done"
    assert by_phone["12345"]["final_outcome"] == "invalid"
    assert by_phone["+99912345678"]["final_outcome"] == "invalid"
    assert by_phone["+99912345678"]["attempt"] == 0
    calls_by_task = {}
    for c in calls:
        calls_by_task.setdefault(c["task_id"], []).append(c)
    bad = []
    for phone, _, beh, _, tag in contacts:
        t = by_phone[phone]
        got = (t["status"], t["final_outcome"], t["attempt"])
        if tag in ("dnc_before", "dnc_during"):
            want = ("done", "dnc", 0)
        elif beh == MACHINE:
            # answered without answering-machine detection; with it, a
            # voicemail retried to the last attempt
            want = got if got in (("done", "answered", 1), ("failed", "voicemail", 3)) \
                else ("done|failed", "answered|voicemail", "1|3")
        else:
            want = EXPECT[beh]
        mine = sorted(calls_by_task.get(t["id"], []), key=lambda c: c["attempt"])
        if got != want:
            bad.append((phone, beh, tag, got, want))
        # one calls row per attempt, numbered 1..n, and exactly as many
        # INVITEs reached the callee: no attempt was dialled twice
        if [c["attempt"] for c in mine] != list(range(1, t["attempt"] + 1)):
            bad.append((phone, "attempts", [c["attempt"] for c in mine]))
        if invites.get(phone, 0) != t["attempt"]:
            bad.append((phone, "invites", invites.get(phone, 0), t["attempt"]))
        if any(c["ended_at"] is None for c in mine):
            bad.append((phone, "call not ended"))
    assert not bad, bad[:20]
    assert invites.get("+99912345678", 0) == 0 and invites.get("12345", 0) == 0


def check_pacing(calls):
    spans = [(c["created_at"], c["ended_at"]) for c in calls]
    assert max_overlap(spans) <= CAMPAIGN_MAX, max_overlap(spans)
    starts = [c["created_at"] for c in calls]
    assert max_in_window(starts, 1000) <= TRUNK_CPS, max_in_window(starts, 1000)


def check_retries(calls):
    by_task = {}
    for c in calls:
        by_task.setdefault(c["task_id"], []).append(c)
    gaps = []
    for mine in by_task.values():
        mine.sort(key=lambda c: c["attempt"])
        for a, b in zip(mine, mine[1:]):
            gaps.append(b["created_at"] - a["ended_at"])
    assert len(gaps) > 80, len(gaps)
    assert min(gaps) >= DELAY_S * 1000, min(gaps)
    # spaced as configured, not much later (pacing may hold a few back)
    assert statistics.median(gaps) < DELAY_S * 1000 + 2500, statistics.median(gaps)


def check_windows(calls, zone_of, phase1, off1, off2, switch):
    bad = []
    for c in calls:
        zone, t = zone_of[c["to_number"]], c["created_at"]
        if c["to_number"] not in phase1 and t < switch:
            bad.append(("before the switch", c))
        # the dialer reads the clock file every second
        offsets = [off1] if t < switch else [off2] if t > switch + 2500 else [off1, off2]
        if not any(open_at(t, o, zone) for o in offsets):
            bad.append(("closed", zone, c))
    assert not bad, bad[:10]


def check_stats(s, tasks, calls):
    assert s["tasks"]["total"] == 302 and s["tasks"]["queued"] == 0
    assert s["tasks"]["dialing"] == 0
    assert s["tasks"]["done"] + s["tasks"]["failed"] == 302
    assert s["progress"]["percent"] == 100
    assert s["attempts"] == sum(t["attempt"] for t in tasks) == len(calls)
    assert s["calls"]["total"] == len(calls) and s["calls"]["active"] == 0
    answered = sum(1 for c in calls if c["answered_at"])
    assert s["calls"]["answered"] == answered
    assert abs(s["answer_rate"] - answered / len(calls)) < 1e-6
    assert 0.5 < s["avg_answered_duration_s"] < 6, s
    o = s["outcomes"]
    assert o["dnc"] == 12 and o["invalid"] == 2 and o["rejected"] == 10
    assert o["busy"] == 10 and o["no_answer"] == 10 and o["unreachable"] == 10
    assert o["answered"] + o["voicemail"] == 300 - 12 - 10 - 30
    assert set(s["amd"]) == {"human", "machine", "unsure"}
