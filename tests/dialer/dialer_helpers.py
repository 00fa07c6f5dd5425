"""Helpers for the dialer tests: a callee farm whose behaviour is chosen
per dialled number (tests/tools/callee.c --map), servers with the dialer
on, campaigns set up through the API, and checks computed from the store
(calls rows) and from the callee's own event lines (INVITEs per number).
"""
import datetime
import json
import os
import sys
import time
import zoneinfo

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "sip"))

import peers  # noqa: E402

# instant providers: the dialer is under test, not speech
AGENT = {"name": "Dialer test", "first_message": "Hello {name}, this is Parley.",
         "stt": {"provider": "bench"}, "llm": {"provider": "bench"},
         "tts": {"provider": "bench"}}


def dialer_env(tmpdir, **extra):
    """Environment of a server whose dialer runs, with short timers."""
    env = {
        "PARLEY_DIALER_ENABLED": "1",
        "PARLEY_DIALER_TICK_MS": "100",
        "PARLEY_DIALER_LEASE": "8",
        "PARLEY_DIALER_MAX_CALLS": "40",
        "PARLEY_SIP_RING_TIMEOUT": "1",
        "PARLEY_SHUTDOWN_GRACE": "3",
        "PARLEY_RECORDINGS_DIR": os.path.join(tmpdir, "rec"),
    }
    env.update({k: str(v) for k, v in extra.items()})
    return env


def offset_for(tz, hh, mm=0):
    """Seconds to add to the wall clock so that it is hh:mm (today) in tz."""
    now = datetime.datetime.now(zoneinfo.ZoneInfo(tz))
    target = now.replace(hour=hh, minute=mm, second=0, microsecond=0)
    return int((target - now).total_seconds())


def local_minutes(ms, offset_s, tz):
    """Minute of the day in tz at wall-clock ms shifted by offset_s."""
    t = datetime.datetime.fromtimestamp(ms / 1000.0 + offset_s, zoneinfo.ZoneInfo(tz))
    return t.hour * 60 + t.minute


class Farm(peers.Callee):
    """The callee tool with a number -> behaviour map."""

    def __init__(self, workdir, mapping, **kw):
        super().__init__(workdir, record=False, **kw)
        self.map_path = os.path.join(self.workdir, "map.txt")
        with open(self.map_path, "w") as f:
            for number, beh in mapping.items():
                f.write("%s %s\n" % (number, beh))
        self.args += ["--map", self.map_path]

    def invites(self):
        """INVITEs per dialled number (one per attempt that reached us)."""
        out = {}
        for e in self.events("invite"):
            out[e["user"]] = out.get(e["user"], 0) + 1
        return out


def setup_campaign(api, farm, contacts, pacing=None, retry=None, trunk=None, agent=None,
          window=None, campaign=None):
    """Agent, trunk to the farm, campaign and its contacts; returns ids."""
    a = api.post("/api/v1/agents", dict(AGENT, **(agent or {})))
    assert a.status == 201, a
    body = {"name": "farm", "sip_uri": "sip:127.0.0.1:%d" % farm.sip_port,
            "caller_id": "+14155550199"}
    body.update(trunk or {})
    t = api.post("/api/v1/trunks", body)
    assert t.status == 201, t
    body = {"name": "Campaign", "agent_id": a.json["id"], "trunk_id": t.json["id"],
            "prompt": "Remind {name} of the appointment.",
            "pacing": pacing or {"max_concurrent": 10, "calls_per_second": 20},
            "retry": retry or {"max_attempts": 3,
                               "delays": {"busy": 2, "no_answer": 2, "failed": 2,
                                          "unreachable": 2, "voicemail": 2}}}
    if window is not None:
        body["calling_window"] = window
    body.update(campaign or {})
    c = api.post("/api/v1/campaigns", body)
    assert c.status == 201, c
    cid = c.json["id"]
    for i in range(0, len(contacts), 500):
        r = api.post("/api/v1/contacts/import?campaign_id=%d" % cid, contacts[i:i + 500])
        assert r.status == 200 and r.json["failed"] == 0, r
    return a.json["id"], t.json["id"], cid


def stats(api, cid):
    r = api.get("/api/v1/campaigns/%d/stats" % cid)
    assert r.status == 200, r
    return r.json


def wait_state(api, cid, state, timeout):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = stats(api, cid)
        if last["state"] == state:
            return last
        time.sleep(0.5)
    raise AssertionError("campaign %d not %s after %ds: %s" % (cid, state, timeout,
                                                               json.dumps(last)))


def rows(database, sql, cols):
    return [dict(zip(cols, r)) for r in database.sql(sql)]


def as_int(v):
    return int(v) if v not in (None, "") else None


def calls_of(database, cid):
    cols = ["id", "task_id", "attempt", "to_number", "created_at", "ended_at",
            "outcome", "node", "contact_id", "answered_at"]
    # both command-line clients print NULL as an empty field
    out = rows(database, "SELECT %s FROM calls WHERE campaign_id = %d ORDER BY id"
               % (", ".join(cols), cid), cols)
    for c in out:
        for k in ("id", "task_id", "attempt", "created_at", "ended_at", "contact_id",
                  "answered_at"):
            c[k] = as_int(c[k])
    return out


def tasks_of(database, cid):
    cols = ["id", "contact_id", "to_number", "status", "attempt", "max_attempts",
            "last_outcome", "final_outcome"]
    out = rows(database, "SELECT id, contact_id, to_number, status, attempt, max_attempts, "
               "COALESCE(last_outcome, ''), COALESCE(final_outcome, '') FROM call_tasks "
               "WHERE campaign_id = %d ORDER BY id" % cid, cols)
    for t in out:
        for k in ("id", "contact_id", "attempt", "max_attempts"):
            t[k] = as_int(t[k])
    return out


def max_overlap(intervals):
    """Most intervals [start, end) open at one moment."""
    ev = []
    for s, e in intervals:
        ev.append((s, 1))
        ev.append((e, -1))
    ev.sort(key=lambda x: (x[0], x[1]))
    cur = best = 0
    for _, d in ev:
        cur += d
        best = max(best, cur)
    return best


def max_in_window(times, window_ms):
    """Most instants within any half-open window of window_ms."""
    times = sorted(times)
    best = j = 0
    for i in range(len(times)):
        while times[i] - times[j] >= window_ms:
            j += 1
        best = max(best, i - j + 1)
    return best


def insert_contact(database, tenant, cid, phone, name):
    """A contact written around the API (imports would refuse the number)."""
    now = int(time.time() * 1000)
    database.sql("INSERT INTO contacts (tenant_id, created_at, updated_at, campaign_id, "
                 "phone, name) VALUES ((SELECT id FROM tenants WHERE name = '%s'), %d, %d, "
                 "%d, '%s', '%s')" % (tenant, now, now, cid, phone, name))
