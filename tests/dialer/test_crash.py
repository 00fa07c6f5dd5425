"""Crash safety: the server is killed with SIGKILL again and again while
a campaign runs (calls up, retries pending, claims in flight) and started
again on the same SQLite file. At the end no task is lost or stuck, every
attempt has exactly one calls row, and the callee never saw more INVITEs
for a number than its task has attempts: no attempt was dialled twice."""
import random
import time

import pytest

from dialer_helpers import (Farm, calls_of, dialer_env, offset_for, setup_campaign,
                            tasks_of, wait_state)

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)

BEHAVIOURS = ["human-hangup2"] * 5 + ["busy", "noanswer,human-hangup1",
                                      "busy,human-hangup2", "human-ring600-hangup1"]


def test_kill_9_and_restart(make_server, database, tmp_path):
    rnd = random.Random(7)
    contacts = [("+12125551%03d" % i, BEHAVIOURS[i % len(BEHAVIOURS)]) for i in range(120)]
    farm = Farm(str(tmp_path / "farm"), dict(contacts))
    farm.start()
    # a fixed node name: the restarted node takes its predecessor's
    # leases back at once instead of waiting for them to expire
    env = dialer_env(str(tmp_path), PARLEY_DIALER_NODE_ID="crashy",
                     PARLEY_DIALER_LEASE=4,
                     PARLEY_DIALER_CLOCK_OFFSET=offset_for("America/New_York", 12))
    try:
        srv = make_server(env=env)
        api = srv.client(srv.new_key("acme"))
        _, _, cid = setup_campaign(
            api, farm, [{"phone": p} for p, _ in contacts],
            pacing={"max_concurrent": 10, "calls_per_second": 8},
            retry={"max_attempts": 4, "delays": {"busy": 1, "no_answer": 1, "failed": 1,
                                                 "unreachable": 1, "voicemail": 1}})
        assert api.post("/api/v1/campaigns/%d/start" % cid).status == 200
        kills = 0
        for _ in range(6):
            time.sleep(rnd.uniform(1.0, 3.0))
            if stats_state(api, cid) == "completed":
                break
            srv.kill()
            kills += 1
            srv = make_server(env=env)
            api = srv.client(api.key)
        assert kills >= 3
        wait_state(api, cid, "completed", 120)
        time.sleep(1)   # the callee's last event lines
        check(database, cid, contacts, farm)
    finally:
        farm.stop(check=False)


def stats_state(api, cid):
    r = api.get("/api/v1/campaigns/%d/stats" % cid)
    assert r.status == 200, r
    return r.json["state"]


def check(database, cid, contacts, farm):
    tasks = tasks_of(database, cid)
    calls = calls_of(database, cid)
    invites = farm.invites()
    assert len(tasks) == len(contacts)
    by_task = {}
    for c in calls:
        by_task.setdefault(c["task_id"], []).append(c)
    bad = []
    lost = 0
    for t in tasks:
        mine = sorted(by_task.get(t["id"], []), key=lambda c: c["attempt"])
        if t["status"] not in ("done", "failed"):
            bad.append(("not final", t))
        if not 1 <= t["attempt"] <= 4:
            bad.append(("attempts", t))
        if [c["attempt"] for c in mine] != list(range(1, t["attempt"] + 1)):
            bad.append(("calls rows", t["to_number"], [c["attempt"] for c in mine]))
        # a crash may lose a dial that was recorded (the attempt counts)
        # but can never dial one twice
        n = invites.get(t["to_number"], 0)
        if n > t["attempt"] or (n < 1 and t["final_outcome"] == "answered"):
            bad.append(("invites", t["to_number"], n, t["attempt"]))
        if any(c["ended_at"] is None for c in mine):
            bad.append(("call row never ended", t["to_number"]))
        lost += sum(1 for c in mine if c["outcome"] == "failed")
        if t["status"] == "done" and t["final_outcome"] != "answered":
            bad.append(("outcome", t))
    assert not bad, bad[:20]
    # the kills did hit calls in progress, which recovery counted
    rows = database.sql("SELECT COUNT(*) FROM calls WHERE campaign_id = %d AND "
                        "hangup_cause = 'node_lost'" % cid)
    assert int(rows[0][0]) >= 1 and lost >= 1, (rows, lost)
