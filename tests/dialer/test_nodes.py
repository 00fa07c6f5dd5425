"""Two Parley nodes on one PostgreSQL database share a campaign: claims
with FOR UPDATE SKIP LOCKED under the campaign's and the trunk's row
locks. Each node may only place a few calls at once (dialer.max_calls),
so both must work. One node is killed halfway and comes back later; the
other recovers its leases. At the end every task is final, the callee
saw at most one INVITE per recorded attempt, and the campaign's and
trunk's limits held across both nodes."""
import time

import pytest

from conftest import PG_URL
from dialer_helpers import (Farm, calls_of, dialer_env, max_in_window, max_overlap,
                            offset_for, setup_campaign, stats, tasks_of, wait_state)

pytestmark = [
    pytest.mark.parametrize("backend", ["postgres"], indirect=True),
    pytest.mark.skipif(not PG_URL, reason="needs PARLEY_TEST_PG_URL (scripts/pg.sh)"),
]

CAMPAIGN_MAX = 10
TRUNK_CPS = 15
BEHAVIOURS = ["human-hangup1"] * 4 + ["busy", "busy,human-hangup1"]


def test_two_nodes_one_database(make_server, database, tmp_path):
    contacts = [("+13125552%03d" % i, BEHAVIOURS[i % len(BEHAVIOURS)]) for i in range(150)]
    farm = Farm(str(tmp_path / "farm"), dict(contacts))
    farm.start()

    def env(node):
        return dialer_env(str(tmp_path), PARLEY_DIALER_NODE_ID=node,
                          PARLEY_DIALER_MAX_CALLS=6, PARLEY_DIALER_LEASE=4,
                          PARLEY_DIALER_CLOCK_OFFSET=offset_for("America/Chicago", 12))
    try:
        a = make_server(env=env("node-a"))
        b = make_server(env=env("node-b"))
        api = a.client(a.new_key("acme"))
        _, _, cid = setup_campaign(
            api, farm, [{"phone": p} for p, _ in contacts],
            pacing={"max_concurrent": CAMPAIGN_MAX, "calls_per_second": 50},
            trunk={"max_channels": 12, "calls_per_second": TRUNK_CPS},
            retry={"max_attempts": 3, "delays": {"busy": 1, "no_answer": 1, "failed": 1,
                                                 "unreachable": 1, "voicemail": 1}})
        assert api.post("/api/v1/campaigns/%d/start" % cid).status == 200
        time.sleep(5)
        s = stats(api, cid)
        assert s["state"] == "running" and s["tasks"]["dialing"] > 0, s
        # node-a dies with calls up; node-b goes on and takes them over
        # once their leases expire
        a.kill()
        time.sleep(6)
        a = make_server(env=env("node-a"))
        wait_state(b.client(api.key), cid, "completed", 120)
        time.sleep(1)
        check(database, cid, contacts, farm)
    finally:
        farm.stop(check=False)


def check(database, cid, contacts, farm):
    tasks = tasks_of(database, cid)
    calls = calls_of(database, cid)
    invites = farm.invites()
    assert len(tasks) == len(contacts)
    nodes = {}
    for c in calls:
        nodes[c["node"]] = nodes.get(c["node"], 0) + 1
    assert set(nodes) == {"node-a", "node-b"} and min(nodes.values()) >= 10, nodes
    by_task = {}
    for c in calls:
        by_task.setdefault(c["task_id"], []).append(c)
    bad = []
    for t in tasks:
        mine = sorted(by_task.get(t["id"], []), key=lambda c: c["attempt"])
        if t["status"] not in ("done", "failed"):
            bad.append(("not final", t))
        if [c["attempt"] for c in mine] != list(range(1, t["attempt"] + 1)):
            bad.append(("calls rows", t["to_number"], [c["attempt"] for c in mine]))
        if invites.get(t["to_number"], 0) > t["attempt"]:
            bad.append(("dialled twice", t["to_number"], invites.get(t["to_number"]),
                        t["attempt"]))
        if any(c["ended_at"] is None for c in mine):
            bad.append(("call row never ended", t["to_number"]))
    assert not bad, bad[:20]
    # calls the kill did not touch went exactly as the callee says
    assert sum(invites.values()) >= len(calls) - 20
    spans = [(c["created_at"], c["ended_at"]) for c in calls]
    assert max_overlap(spans) <= CAMPAIGN_MAX
    assert max_in_window([c["created_at"] for c in calls], 1000) <= TRUNK_CPS
