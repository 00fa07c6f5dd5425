#!/usr/bin/env python3
"""Voice-agent benchmark: response latency and capacity of a release
`parley serve` (SQLite) under N concurrent conversations placed by
`parley bench`, a separate process on the same machine (one SIP listener,
N scripted callers on one shared media tick, over 127.0.0.1).

Three provider modes:
  bench  stt/llm/tts "bench": instant providers behind the same tables
         as the real engines, so what is measured is the platform alone;
  local  pocketsphinx (yes/no grammar) + espeak-ng + a scenario that asks
         a yes/no question in a loop;
  llm    llm "openai" against bench/openai_stub.py (a local streaming
         server with a first-token and a per-word delay), stt and tts
         "bench": how a provider's latency adds up.

For each mode and N, a fresh server (its own store and RSS baseline),
one unmeasured warm-up run of 2 calls, then `parley bench --calls N`.
Server CPU (utime+stime from /proc/PID/stat) and RSS are taken over the
plateau, from `parley bench`'s "plateau" to its "hangup" event (all N
calls up). Then, with bench providers, the largest N that holds the
targets (holds() below) is searched: beyond the table in steps, or
between its last N that held and its first that did not. Rewrites the section
"## Voice agent: response latency and capacity" of docs/BENCHMARKS.md.

Usage: bench/agent_bench.py [--quick] [--duration S] [--modes bench,local,llm]
       [--calls-bench 1,100,250,500] [--calls-local 1,100,250]
       [--calls-llm 1,100,250,500] [--search-step 250] [--search-max 3000]
       [--bisect 2] [--resolution 50] [--no-search] [--first-token-ms 200]
       [--token-ms 20] [--rate 20] [--no-doc] [--from-json build/agent_bench.json]
Environment: BENCH_PARLEY (another parley binary; `make release` is then
skipped). Each run is saved to build/agent_bench.json; --from-json
rewrites the document from it without measuring again.
"""
import argparse
import json
import os
import re
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

from benchlib import free_port, machine, rss_kib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PARLEY = os.environ.get("BENCH_PARLEY") or os.path.join(ROOT, "build", "release", "parley")
HERE = os.path.join(ROOT, "bench")
SCRIPT = os.path.join(HERE, "agent_script.txt")
SCRIPT_YESNO = os.path.join(HERE, "agent_script_yesno.txt")
STUB = os.path.join(HERE, "openai_stub.py")
CLK_TCK = os.sysconf("SC_CLK_TCK")
NOFILE = 65536
SECTION = "## Voice agent: response latency and capacity"

GREETING = "Hello, thank you for calling. How can I help you today?"
# the local mode's dialogue: a yes/no question asked again and again
YESNO = {
    "start": "greet",
    "steps": {
        "greet": {"type": "say", "text": "Hello, this is the Parley benchmark line.",
                  "next": "ask"},
        "ask": {"type": "ask", "text": "Shall I go on?", "expect": "yes_no",
                "branches": {"yes": "yes", "no": "no"},
                "no_match": {"text": "Sorry, please say yes or no.", "max": 10,
                             "next": "ask"}},
        "yes": {"type": "say", "text": "Good, let us go on.", "next": "ask"},
        "no": {"type": "say", "text": "All right then.", "next": "ask"},
    },
}

# what a run with instant providers must show to hold (the largest N)
P99_PLATFORM_MS = 50.0     # Parley's first_rtp_ms (endpoint -> first RTP)
# gap frames per frame received: ITU-T Y.1541's packet loss ratio bound
# for its classes 0 and 1 (interactive voice), 1e-3
GAP_TOLERANCE = 1e-3


def proc_cpu_s(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def thread_sched(pid):
    """The main thread's (the loop's) CPU seconds and seconds spent
    runnable but waiting for a CPU (/proc/PID/task/PID/schedstat)."""
    try:
        with open("/proc/%d/task/%d/schedstat" % (pid, pid)) as f:
            run_ns, wait_ns = [int(x) for x in f.read().split()[:2]]
        return run_ns / 1e9, wait_ns / 1e9
    except (OSError, ValueError):
        return 0.0, 0.0


def nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = NOFILE if hard == resource.RLIM_INFINITY else min(NOFILE, hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, want), hard))


def log_digest(text):
    """The server's warnings, alike lines counted together."""
    counts = {}
    for line in text.splitlines():
        line = re.sub(r"\x1b\[[0-9;]*m|\[;m", "", line).strip()
        if line:
            key = re.sub(r"\d+", "N", line)
            counts[key] = counts.get(key, 0) + 1
    return sorted(counts.items(), key=lambda kv: -kv[1])[:5]


class Server:
    """A release `parley serve` on free ports with its own SQLite file."""

    def __init__(self, tmp):
        self.tmp = tmp
        port = free_port()
        self.url = "http://127.0.0.1:%d" % port
        self.log_path = os.path.join(tmp, "parley.log")
        self.env = dict(os.environ,
                        PARLEY_DB_URL="sqlite:" + os.path.join(tmp, "bench.db"),
                        PARLEY_HTTP_LISTEN="127.0.0.1:%d" % port,
                        PARLEY_SIP_LISTEN="127.0.0.1:%d" % free_port(),
                        PARLEY_RTP_PORT_MIN="10000", PARLEY_RTP_PORT_MAX="20000",
                        PARLEY_RECORDINGS_DIR=os.path.join(tmp, "recordings"),
                        PARLEY_LOG_LEVEL="warn")
        self.key = subprocess.run([PARLEY, "apikey", "create", "--tenant", "bench"],
                                  env=self.env, cwd=tmp, capture_output=True, text=True,
                                  check=True).stdout.strip()
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([PARLEY, "serve"], env=self.env, cwd=tmp,
                                     stdout=self.log, stderr=subprocess.STDOUT,
                                     preexec_fn=nofile)
        for _ in range(400):
            if self.proc.poll() is not None:
                raise RuntimeError("parley exited:\n" + self.output())
            try:
                urllib.request.urlopen(self.url + "/health", timeout=1)
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("parley did not come up:\n" + self.output())

    def post(self, path, body):
        req = urllib.request.Request(self.url + path, method="POST",
                                     data=json.dumps(body).encode(),
                                     headers={"Authorization": "Bearer " + self.key,
                                              "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read())

    def output(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode


class Stub:
    """bench/openai_stub.py in its own process."""

    def __init__(self, first_ms, token_ms):
        self.proc = subprocess.Popen([sys.executable, STUB, "--first-token-ms", str(first_ms),
                                      "--token-ms", str(token_ms)],
                                     stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("port "):
            self.proc.kill()
            raise RuntimeError("openai_stub did not start: %r" % line)
        self.base_url = "http://127.0.0.1:%d/v1" % int(line.split()[1])

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            out = self.proc.communicate(timeout=10)[0]
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out = self.proc.communicate()[0]
        return out


def agent_body(mode, stub):
    if mode == "bench":
        return {"name": "bench", "first_message": GREETING,
                "stt": {"provider": "bench"}, "llm": {"provider": "bench"},
                "tts": {"provider": "bench"}}
    if mode == "local":
        return {"name": "local", "scenario": YESNO, "stt": {"provider": "pocketsphinx"},
                "tts": {"provider": "espeak-ng"}, "turn": {"barge_in_min_ms": 250}}
    return {"name": "llm", "first_message": GREETING,
            "system_prompt": "You are a helpful phone agent of a shop.",
            "llm": {"provider": "openai", "base_url": stub.base_url, "model": "bench",
                    "api_key": "sk-bench"},
            "stt": {"provider": "bench"}, "tts": {"provider": "bench"}}


def bench_cmd(server, agent, script, n, seconds, rate):
    return [PARLEY, "bench", "--server", server.url, "--api-key", server.key,
            "--agent", str(agent), "--script", script, "--calls", str(n),
            "--duration", str(seconds), "--rate", "%g" % rate]


def run_bench(server, agent, script, n, seconds, rate, stub=None):
    """One `parley bench` run; its report plus what was sampled on the
    server (and the stub) between its plateau and hangup events."""
    cmd = bench_cmd(server, agent, script, n, seconds, rate)
    pid = server.proc.pid
    pb = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          preexec_fn=nofile)
    s = {"cmd": cmd, "events": {}, "stderr": [], "rss": []}
    stop = threading.Event()

    def sample_rss():
        while not stop.wait(1.0):
            s["rss"].append(rss_kib(pid))

    def mark(name):
        s["events"][name] = {"t": time.monotonic(), "cpu": proc_cpu_s(pid),
                             "client_cpu": proc_cpu_s(pb.pid), "rss": rss_kib(pid),
                             "loop": thread_sched(pid), "client_loop": thread_sched(pb.pid),
                             "load": os.getloadavg()[0],
                             "stub_cpu": proc_cpu_s(stub.proc.pid) if stub else 0.0}

    def read_stderr():
        sampler = None
        for line in pb.stderr:
            try:
                ev = json.loads(line)
            except ValueError:
                s["stderr"].append(line)
                continue
            name = ev.get("event")
            if name in ("placing", "plateau", "hangup", "ended"):
                try:
                    mark(name)
                except OSError:
                    pass
            if name == "plateau" and sampler is None:
                sampler = threading.Thread(target=sample_rss, daemon=True)
                sampler.start()
            elif name == "hangup":
                stop.set()
        stop.set()

    reader = threading.Thread(target=read_stderr, daemon=True)
    reader.start()
    # stdout here, stderr in the reader (communicate() would read both)
    watchdog = threading.Timer(seconds + 3 * n / rate + 600, pb.kill)
    watchdog.start()
    out = pb.stdout.read()
    pb.wait()
    watchdog.cancel()
    reader.join(timeout=10)
    stop.set()
    try:
        s["report"] = json.loads(out)
    except ValueError:
        raise RuntimeError("parley bench printed no report (exit %s):\n%s"
                           % (pb.returncode, "".join(s["stderr"])[-3000:]))
    s["rc"] = pb.returncode
    return s


def wait_idle(server, timeout=30):
    deadline = time.time() + timeout
    last = proc_cpu_s(server.proc.pid)
    while time.time() < deadline:
        time.sleep(1)
        now = proc_cpu_s(server.proc.pid)
        if now - last < 0.05:
            return
        last = now


def dist(d, k="p50"):
    return d.get(k) if d else None


def row(mode, n, s, rss0):
    r = s["report"]
    ev = s["events"]
    a, b = ev.get("plateau") or ev.get("placing"), ev.get("hangup") or ev.get("ended")
    up = r["calls"]["answered"]
    secs = (b["t"] - a["t"]) if a and b else 0
    cpu = (b["cpu"] - a["cpu"]) if a and b else 0
    srv = r["server"]
    au = r["audio"]
    rss_end = b["rss"] if b else 0
    return {
        "mode": mode, "n": n, "placed": r["calls"]["placed"], "up": up,
        "failed": r["calls"]["failed"], "outcomes": r["calls"]["outcomes"],
        "errors": r["calls"]["errors"], "rc": s["rc"],
        "plateau_ok": "plateau" in ev, "window_s": secs,
        "setup": r["setup_ms"], "platform": srv["first_rtp_ms"],
        "caller": r["response_ms"], "barge": r["barge_in_ms"],
        "barge_missed": r["barge_in_missed"], "lines": r["lines"],
        "stt": srv["stt_ms"], "token": srv["llm_first_token_ms"],
        "sentence": srv["llm_first_sentence_ms"], "tts": srv["tts_first_audio_ms"],
        "replies": srv["replies"], "turns": srv["turns"],
        "after": srv["tts_to_rtp_ms"],
        "gaps": au["gap_frames"], "lost": au["rx_lost"], "rx": au["rx_packets"],
        "gappy": au["calls_with_gaps"], "late": au["rx_late"],
        "jitter": r["jitter_ms"], "sim_tick": r["sim_tick"],
        "cpu_pct": 100.0 * cpu / secs if secs else 0,
        "cpu_ms": 1000.0 * cpu / secs / up if secs and up else 0,
        "rss0": rss0, "rss_end": rss_end, "rss_max": max(s["rss"] + [rss_end]),
        "rss_call": (rss_end - rss0) / up if up else 0,
        "load0": a["load"] if a else 0, "load1": b["load"] if b else 0,
        "client_pct": 100.0 * (b["client_cpu"] - a["client_cpu"]) / secs if secs else 0,
        "stub_pct": 100.0 * (b["stub_cpu"] - a["stub_cpu"]) / secs if secs else 0,
        # the event loops: CPU % of a core, and ms per s runnable but
        # waiting for a CPU (what other processes on the cores cost them)
        "loop_pct": 100.0 * (b["loop"][0] - a["loop"][0]) / secs if secs else 0,
        "loop_wait": 1000.0 * (b["loop"][1] - a["loop"][1]) / secs if secs else 0,
        "client_wait": 1000.0 * (b["client_loop"][1] - a["client_loop"][1]) / secs
        if secs else 0,
        "cmd": s["cmd"], "trunk_deleted": r["trunk_deleted"],
    }


def holds(r):
    """Why a run does not hold the targets (empty: it holds)."""
    why = []
    if r["failed"] or r["up"] < r["n"]:
        why.append("%d of %d calls not answered" % (r["failed"], r["n"]))
    p = dist(r["platform"], "p99")
    if p is None or p >= P99_PLATFORM_MS:
        why.append("platform p99 %s ms" % p)
    if r["lost"] or r["gaps"] > GAP_TOLERANCE * max(1, r["rx"]):
        why.append("audio gaps: %d frames of %d (%.3f %%) in %d calls, %d lost" % (
            r["gaps"], r["rx"], 100.0 * r["gaps"] / max(1, r["rx"]), r["gappy"], r["lost"]))
    return why


def bench_n(mode, n, args, stub):
    """A fresh server for one mode and N; the row, or raises."""
    with tempfile.TemporaryDirectory(prefix="parley-agentbench-") as tmp:
        server = Server(tmp)
        try:
            agent = server.post("/api/v1/agents", agent_body(mode, stub))["id"]
            script = SCRIPT_YESNO if mode == "local" else SCRIPT
            # warm-up, not measured: models load, prompts reach the cache
            run_bench(server, agent, script, 2, 5, args.rate)
            wait_idle(server)
            rss0 = rss_kib(server.proc.pid)
            s = run_bench(server, agent, script, n, args.duration, args.rate, stub)
            if server.proc.poll() is not None:
                raise RuntimeError("parley exited %d" % server.proc.returncode)
        finally:
            rc = server.stop()
            log = server.output()
        r = row(mode, n, s, rss0)
        r["log"] = log_digest(log)
        if rc != 0:
            r["errors"] = r["errors"] + ["parley serve exited %s on SIGTERM" % rc]
        return r


def fmt(d, k="p50", f="%.0f"):
    v = dist(d, k)
    return "-" if v is None else f % v


def pair(d, f="%.0f"):
    return "%s / %s" % (fmt(d, "p50", f), fmt(d, "p99", f))


def table(rows, mode):
    lines = [
        "| N | calls ok / failed | setup p50 / p99 ms | platform latency p50 / p99 ms "
        "| caller-side response p50 / p99 ms | barge-in reaction p50 / p99 ms "
        "| gap frames / frames received (lost) | jitter p99 ms | CPU % of one core "
        "| CPU ms per call-second | RSS per call KiB, end (peak) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append("| %d | %d / %d | %s | %s | %s | %s | %d / %d (%d) | %s | %.1f | %.2f "
                     "| %.0f (%.0f) |" % (
                         r["n"], r["up"], r["failed"], pair(r["setup"], "%.1f"),
                         pair(r["platform"], "%.1f"), pair(r["caller"]), pair(r["barge"]),
                         r["gaps"], r["rx"], r["lost"], fmt(r["jitter"], "p99", "%.1f"),
                         r["cpu_pct"], r["cpu_ms"], r["rss_call"],
                         (r["rss_max"] - r["rss0"]) / r["up"] if r["up"] else 0))
    lines += [
        "",
        "| N | replies timed | STT p50 / p99 ms | LLM first token p50 / p99 ms "
        "| first sentence p50 / p99 ms | TTS first audio p50 / p99 ms "
        "| TTS audio -> first RTP p50 / p99 ms | load avg start -> end "
        "| Parley loop thread CPU %% / waiting for a CPU ms/s "
        "| parley bench CPU %% / loop waiting ms/s | %s | sim tick late max ms "
        "| outcomes |" % ("stub CPU %" if mode == "llm" else "RSS idle -> end MiB"),
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        extra = ("%.0f" % r["stub_pct"] if mode == "llm" else
                 "%.1f -> %.1f" % (r["rss0"] / 1024, r["rss_end"] / 1024))
        lines.append("| %d | %d | %s | %s | %s | %s | %s | %.1f -> %.1f | %.0f / %.0f "
                     "| %.0f / %.0f | %s | %.0f | %s |" % (
            r["n"], r["replies"], pair(r["stt"], "%.1f"), pair(r["token"], "%.1f"),
            pair(r["sentence"], "%.1f"), pair(r["tts"], "%.1f"), pair(r["after"], "%.1f"),
            r["load0"], r["load1"], r["loop_pct"], r["loop_wait"],
            r["client_pct"], r["client_wait"], extra, r["sim_tick"]["late_max_us"] / 1000.0,
            ", ".join("%s %d" % kv for kv in sorted(r["outcomes"].items()))))
    return lines


MODE_TEXT = {
    "bench": ("Instant providers (the platform alone)",
              "stt, llm and tts \"bench\" (src/agent/bench_providers.c): every "
              "utterance is heard as \"hello\", the reply is \"You said: hello.\", "
              "spoken as a buzz of 55 ms per character (0.9 s), all without "
              "computing. Script bench/agent_script.txt."),
    "local": ("Local engines (pocketsphinx + espeak-ng + scenario)",
              "A scenario that asks \"Shall I go on?\" (expect yes_no) in a loop; "
              "pocketsphinx decodes each answer with the yes/no grammar on the "
              "speech workers (speech.workers = 2, one per core); espeak-ng speaks "
              "the prompts, which the prompt cache synthesises once; "
              "turn.barge_in_min_ms 250 (a spoken \"no\" is a barge-in). "
              "Script bench/agent_script_yesno.txt."),
    "llm": ("LLM path (local OpenAI-compatible server)",
            "llm \"openai\" streaming from bench/openai_stub.py (a separate "
            "process) with a first token after %(first)g ms and one word every "
            "%(token)g ms (\"Sure, I can help with that. Your order left our "
            "warehouse yesterday. It should arrive on Friday.\"), chunked into "
            "sentences for tts \"bench\"; stt \"bench\". Script "
            "bench/agent_script.txt."),
}


def comparison():
    return [
        "### Comparison",
        "",
        "Published figures of Python voice-agent frameworks. They are not the "
        "same experiment: their sessions carry WebRTC media, Silero VAD and "
        "Python pipelines, and none of them states a per-reply platform latency "
        "under load that this table could be set against.",
        "",
        "- LiveKit Agents: \"LiveKit recommends 4 cores and 8GB per agent server "
        "as a starting rule for most voice AI apps. This agent server can handle "
        "10-25 concurrent jobs\". Their load test: 30 agents (Silero VAD on the "
        "user's audio, a sine wave as the agent's audio) on one 4-core, 8 GB "
        "machine peaked at ~3.8 cores and ~2.8 GB, i.e. about 0.13 core and "
        "~95 MB per session "
        "([docs.livekit.io/deploy/custom/deployments](https://docs.livekit.io/deploy/custom/deployments/); "
        "an earlier version said \"4 cores and 8GB of memory for every 25 "
        "concurrent sessions\", "
        "[docs.livekit.io/agents/ops/deployment](https://docs.livekit.io/agents/ops/deployment/)). "
        "Each job runs in its own process; the worker's default "
        "`job_memory_warn_mb` is 500 MB per job "
        "([livekit/agents, livekit-agents/livekit/agents/worker.py](https://github.com/livekit/agents/blob/main/livekit-agents/livekit/agents/worker.py)). "
        "A user report: a 1-core, 2 GB container handled ~4-5 concurrent rooms "
        "([livekit/agents#4483](https://github.com/livekit/agents/issues/4483)).",
        "- Pipecat: the maintainers recommend one bot process per call "
        "([pipecat-ai/pipecat#764](https://github.com/pipecat-ai/pipecat/issues/764)); "
        "Pipecat Cloud's default profile `agent-1x`, \"best for voice agents\", "
        "is 0.5 vCPU and 1 GB of memory per agent instance, one session each "
        "([docs.pipecat.ai/pipecat-cloud/fundamentals/deploy](https://docs.pipecat.ai/pipecat-cloud/fundamentals/deploy)); "
        "the Fly.io guide starts one VM per session with 1 shared CPU and "
        "1024 MB (\"512 is just enough to run VAD, but 1gb is better\", "
        "[docs.pipecat.ai/pipecat/deployment/platforms/fly](https://docs.pipecat.ai/pipecat/deployment/platforms/fly)). "
        "A user measured a telephony pipeline (8 kHz, Silero VAD, remote STT, "
        "LLM and TTS) at about 20 % of a core per call "
        "([pipecat-ai/docs#1330](https://github.com/pipecat-ai/docs/issues/1330)). "
        "No published sessions-per-core figure from the maintainers was found.",
        "",
        "Set against these, Parley's figures above are per call: CPU ms per "
        "call-second / 10 is the percentage of one core a call takes, and RSS "
        "per call is what a call adds to the one process.",
    ]


def verdicts(rows, mode):
    """One line per run worth a remark."""
    lines = []
    for r in rows:
        notes = []
        if mode == "bench":
            why = holds(r)
            notes.append("; ".join(why) if why else "holds")
        else:
            if r["failed"]:
                notes.append("%d of %d calls not answered" % (r["failed"], r["n"]))
            if r["lost"] or r["gaps"] > GAP_TOLERANCE * max(1, r["rx"]):
                notes.append("audio gaps: %d frames of %d (%.3f %%) in %d calls, while "
                             "Parley's loop thread waited %.0f ms/s for a CPU" % (
                                 r["gaps"], r["rx"], 100.0 * r["gaps"] / max(1, r["rx"]),
                                 r["gappy"], r["loop_wait"]))
            if mode == "local" and r["stt"].get("p99") is not None:
                notes.append("pocketsphinx p99 %.0f ms with Parley at %.0f %% of a core "
                             "(2 speech workers on 2 cores)" % (r["stt"]["p99"], r["cpu_pct"]))
        if r["errors"]:
            notes.append("errors: " + "; ".join("`%s`" % e[:200] for e in r["errors"]))
        if notes:
            lines.append("- N = %d: %s" % (r["n"], "; ".join(notes)))
        for text, count in r["log"]:
            lines.append("  - server log, %d x `%s`" % (count, text[:160]))
    return lines


def section(results, failures, args, largest, search_log):
    quick = " --quick" if args.quick else ""
    lines = [
        SECTION,
        "",
        "Command: `make bench` (scripts/bench.sh), or `/usr/bin/python3 "
        "bench/agent_bench.py%s` alone (it builds `make release`). A release "
        "`parley serve` (SQLite, 4 workers, 2 speech workers) takes N "
        "concurrent calls from `parley bench`, a separate process on the same "
        "machine: it creates a trunk to its own SIP listener, asks for the calls "
        "with POST /api/v1/calls at %g calls/s, answers each as a scripted "
        "caller (the script repeated for as long as the call lasts), and hangs "
        "each up N/%g + %d s after it was placed, so all N calls overlap for "
        "%d s. Each N runs against a fresh server after an unmeasured warm-up "
        "of 2 calls. Example, as run for N = 100 in the first mode:" % (
            quick, args.rate, args.rate, args.duration, args.duration),
        "",
        "    parley bench --server URL --api-key KEY --agent ID \\",
        "        --script bench/agent_script.txt --calls 100 --duration %d --rate %g"
        % (args.duration, args.rate),
        "",
        "Machine: %s. Shared with other work while measured (other test suites "
        "ran on the same 2 cores): the load average is in the second table of "
        "each mode." % machine(),
        "",
        "How to read it:",
        "",
        "- Platform latency: Parley's own per-turn timing, first_rtp_ms of each "
        "agent reply in the call's transcript (GET /api/v1/calls/{id}): from the "
        "moment endpointing decided the caller's turn was over to the first RTP "
        "packet of the reply. With instant providers this is what the platform "
        "adds. In the other modes it includes the providers; their own timings "
        "are in the second table (STT result, LLM first token and first "
        "sentence, TTS first audio, all from the same moment), and \"TTS audio "
        "-> first RTP\" is what Parley adds after them: the wait for the next "
        "20 ms tick.",
        "- Caller-side response: measured by `parley bench` from the audio: "
        "from the last sample of a caller line to the first received frame of "
        "agent speech (above -55 dBFS). It includes the endpointing silence "
        "(turn.min_silence_ms, 500 ms by default, counted from where the VAD "
        "hears silence, which depends on how each line ends), the ticks of both "
        "sides and the caller's jitter buffer. Barge-in reaction: from the "
        "caller's speech onset (a line started 0.3 s, or 0.5 s in the local "
        "mode, into an agent turn) to the agent's audio stopping.",
        "- Setup: POST /api/v1/calls sent -> the call answered at the caller (a "
        "1 ms poll), i.e. API, store, INVITE, 200 OK.",
        "- Gap frames: ticks at the caller with no agent frame to play, beyond "
        "the one per call while its jitter buffer first fills; lost: RTP "
        "sequence gaps. Jitter: RFC 3550 interarrival jitter of each call at its "
        "end, p99 over calls.",
        "- CPU: Parley's utime+stime over the plateau (all N calls up) divided by "
        "its length; per call-second divides by the calls up. RSS per call: "
        "(VmRSS at the end of the plateau - VmRSS idle after the warm-up) / "
        "calls up (meaningless at N = 1: a page or two); peak sampled each "
        "second. `parley bench`'s own CPU is in the second table: it shares the "
        "2 cores. So do other processes: \"waiting for a CPU\" is the time the "
        "event-loop thread (Parley's, which runs every call's media tick, and "
        "`parley bench`'s) was runnable but not running, per second of the "
        "plateau (/proc/PID/task/PID/schedstat). A tick that waits more than "
        "a frame or two for a CPU shows up as gap frames and deeper jitter "
        "buffers, i.e. longer caller-side latencies.",
        "- Holds (instant providers): every call answered, platform p99 < %.0f ms, "
        "no lost packets and gap frames under %g of the frames received (%g %%; "
        "the packet loss ratio bound of ITU-T Y.1541's classes for interactive "
        "voice). A stall of a tick costs every call a frame at once: one stall "
        "of one frame in a minute is N gap frames of the 3000 N received "
        "(0.03 %%); the verdict lines say in how many calls gaps were." % (
            P99_PLATFORM_MS, GAP_TOLERANCE, 100 * GAP_TOLERANCE),
        "",
    ]
    for mode in args.modes:
        rows = results.get(mode, [])
        title, text = MODE_TEXT[mode]
        lines += ["### %s" % title, "",
                  text % {"first": args.first_token_ms, "token": args.token_ms}, ""]
        if rows:
            lines += table(rows, mode)
            lines.append("")
            lines += verdicts(rows, mode)
            lines.append("")
        for m, n, why in failures:
            if m == mode:
                lines += ["N = %d did not finish: %s" % (n, why.strip()[:1500]), ""]
    lines += ["### Largest N", ""]
    if largest:
        lines.append("With instant providers, the largest N that held the targets: "
                     "**%d** concurrent calls (platform p99 %.1f ms, gap frames %d of %d, "
                     "Parley at %.0f %% of one core, %.0f KiB per call)." % (
                         largest["n"], largest["platform"]["p99"], largest["gaps"],
                         largest["rx"], largest["cpu_pct"], largest["rss_call"]))
    else:
        lines.append("No N held the targets with instant providers.")
    lines.append("")
    beyond = sorted([r for r in results.get("bench", []) + search_log if holds(r)],
                    key=lambda r: r["n"])
    if beyond:
        r = beyond[0]
        lines += [
            "The first N that did not hold, %d: %s. Parley's platform latency p99 "
            "was %s ms; Parley used %.0f %% of one core (its loop thread %.0f %%), "
            "and its loop thread waited %.0f ms/s for a CPU; `parley bench`, the "
            "other end of all %d calls on the same 2 cores, used %.0f %% and its "
            "loop waited %.0f ms/s; its own tick ran up to %.0f ms late (load "
            "average %.1f -> %.1f). Parley was far from CPU-bound. Whether the "
            "gaps come from the loop threads waiting for one of the 2 shared "
            "cores or from stalls inside either process, these measurements do "
            "not separate: Parley does not export its own tick lateness "
            "(media_tick_stats()), only the load generator's is known." % (
                r["n"], "; ".join(holds(r)), fmt(r["platform"], "p99", "%.1f"),
                r["cpu_pct"], r["loop_pct"], r["loop_wait"], r["n"], r["client_pct"],
                r["client_wait"], r["sim_tick"]["late_max_us"] / 1000.0, r["load0"],
                r["load1"]),
            ""]
    if search_log:
        lines.append("Search runs (beyond the table, or between its last N that held and "
                     "its first that did not):")
        lines.append("")
        lines += table(search_log, "bench")
        lines.append("")
        lines += verdicts(search_log, "bench")
        lines.append("")
    for m, n, why in failures:
        if m == "search":
            lines += ["Search N = %d did not finish: %s" % (n, why.strip()[:1500]), ""]
    lines += comparison()
    per_call = []
    for mode, r in (("instant providers", largest),
                    ("the LLM path", max([x for x in results.get("llm", [])
                                          if x["n"] > 1 and not x["failed"] and
                                          x["gaps"] <= GAP_TOLERANCE * max(1, x["rx"])],
                                         key=lambda x: x["n"], default=None))):
        if r:
            per_call.append("with %s at N = %d, %.0f KiB and %.2f %% of one core "
                            "(%.2f ms CPU per call-second) per call" % (
                                mode, r["n"], r["rss_call"], r["cpu_ms"] / 10.0,
                                r["cpu_ms"]))
    if per_call:
        lines += ["", "Measured here: " + "; ".join(per_call) + "."]
    return "\n".join(lines)


def write_doc(text):
    path = os.path.join(ROOT, "docs", "BENCHMARKS.md")
    body = open(path).read() if os.path.exists(path) else "# Benchmarks\n"
    pat = r"^" + re.escape(SECTION) + r"\n.*?(?=^## |\Z)"
    if re.search(pat, body, flags=re.S | re.M):
        body = re.sub(pat, lambda m: text + "\n\n", body, flags=re.S | re.M)
    else:
        body = body.rstrip("\n") + "\n\n" + text + "\n"
    with open(path, "w") as f:
        f.write(body.rstrip("\n") + "\n")


def report(r):
    print("agent_bench: %s" % json.dumps({k: r[k] for k in (
        "mode", "n", "up", "failed", "platform", "caller", "barge", "gaps", "cpu_pct",
        "cpu_ms", "rss_call")}), file=sys.stderr)


def search(results, args, failures):
    """With instant providers: N beyond the table in --search-step steps
    while it holds, then (or when the table already failed) up to
    --bisect halvings between the largest N that held and the smallest
    that did not. Assumes that what fails at N fails above N."""
    log = []
    if args.no_search:
        return log
    rows = sorted(results.get("bench", []), key=lambda r: r["n"])
    lo, hi = 0, None
    for r in rows:
        if holds(r):
            hi = r["n"]
            break
        lo = r["n"]

    def run(n):
        print("agent_bench: search, %d calls, %d s ..." % (n, args.duration), file=sys.stderr)
        try:
            r = bench_n("bench", n, args, None)
        except (RuntimeError, OSError, subprocess.SubprocessError) as e:
            failures.append(("search", n, str(e)))
            return False
        report(r)
        log.append(r)
        return not holds(r)

    if hi is None and lo:
        n = lo + args.search_step
        while n <= args.search_max:
            if not run(n):
                hi = n
                break
            lo = n
            n += args.search_step
    for _ in range(args.bisect):
        if hi is None or not lo:
            break
        n = int(round((lo + hi) / 2.0 / 25)) * 25
        if n <= lo or n >= hi or hi - lo <= args.resolution:
            break
        if run(n):
            lo = n
        else:
            hi = n
    return log


def largest_n(results, search_log):
    """The largest N with instant providers below the first that failed."""
    largest = None
    for r in sorted(results.get("bench", []) + search_log, key=lambda r: r["n"]):
        if holds(r):
            break
        largest = r
    return largest


def calls(s):
    return [int(x) for x in s.split(",") if x]


def main():
    ap = argparse.ArgumentParser(description="Voice-agent latency and capacity benchmark")
    ap.add_argument("--quick", action="store_true", help="15 s runs")
    ap.add_argument("--duration", type=int, default=None)
    ap.add_argument("--modes", default="bench,local,llm")
    ap.add_argument("--calls-bench", default="1,100,250,500")
    ap.add_argument("--calls-local", default="1,100,250")
    ap.add_argument("--calls-llm", default="1,100,250,500")
    ap.add_argument("--search-step", type=int, default=250)
    ap.add_argument("--search-max", type=int, default=3000)
    ap.add_argument("--no-search", action="store_true")
    ap.add_argument("--bisect", type=int, default=2)
    ap.add_argument("--resolution", type=int, default=50)
    ap.add_argument("--first-token-ms", type=float, default=200)
    ap.add_argument("--token-ms", type=float, default=20)
    ap.add_argument("--rate", type=float, default=20)
    ap.add_argument("--no-doc", action="store_true")
    ap.add_argument("--from-json", metavar="FILE",
                    help="rewrite the section from a saved run (build/agent_bench.json)")
    args = ap.parse_args()
    args.modes = [m for m in args.modes.split(",") if m]
    if args.duration is None:
        args.duration = 15 if args.quick else 60
    saved = os.path.join(ROOT, "build", "agent_bench.json")
    if args.from_json:
        with open(args.from_json) as f:
            d = json.load(f)
        for k, v in d.get("args", {}).items():
            setattr(args, k, v)
        failures = [tuple(x) for x in d["failures"]]
        largest = largest_n(d["results"], d["search"])
        text = section(d["results"], failures, args, largest, d["search"])
        if not args.no_doc:
            write_doc(text)
        print(text)
        return 0
    if not os.environ.get("BENCH_PARLEY"):
        subprocess.run(["make", "-s", "-j%d" % os.cpu_count(), "release"], cwd=ROOT,
                       check=True, stdout=subprocess.DEVNULL)

    results, failures = {}, []
    for mode in args.modes:
        stub = Stub(args.first_token_ms, args.token_ms) if mode == "llm" else None
        try:
            for n in calls(getattr(args, "calls_" + mode)):
                print("agent_bench: %s, %d calls, %d s ..." % (mode, n, args.duration),
                      file=sys.stderr)
                try:
                    r = bench_n(mode, n, args, stub)
                except (RuntimeError, OSError, subprocess.SubprocessError) as e:
                    failures.append((mode, n, str(e)))
                    print(str(e), file=sys.stderr)
                    continue
                report(r)
                results.setdefault(mode, []).append(r)
        finally:
            if stub:
                stub.stop()
    search_log = search(results, args, failures) if "bench" in args.modes else []
    largest = largest_n(results, search_log)
    with open(saved, "w") as f:
        json.dump({"args": {k: getattr(args, k) for k in (
            "quick", "duration", "modes", "rate", "first_token_ms", "token_ms")},
            "results": results, "search": search_log, "failures": failures},
            f, indent=1, default=str)

    text = section(results, failures, args, largest, search_log)
    if not args.no_doc:
        write_doc(text)
    print(text)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
