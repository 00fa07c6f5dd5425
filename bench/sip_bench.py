#!/usr/bin/env python3
"""Telephony benchmark: N concurrent two-way calls between a release
`parley serve` (SQLite) and a separate load process (tests/tools/loadgen.c,
built here with -O2) on loopback, for N in 100, 250, 500. Reports Parley's
CPU and RSS per call, packets lost and receive-interval jitter, and writes
the "## Telephony" section of docs/BENCHMARKS.md.

Environment: BENCH_CALLS (e.g. "100,250,500"), BENCH_SECONDS (plateau
length, default 60), BENCH_RATE (calls set up, and later hung up, per
second; default 20), BENCH_PARLEY (another parley binary to measure, e.g. a
patched build; `make release` is then skipped), BENCH_NO_DOC=1 to print
without rewriting the document.
"""
import json
import os
import re
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from benchlib import free_port, machine, rss_kib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PARLEY = os.environ.get("BENCH_PARLEY") or os.path.join(ROOT, "build", "release", "parley")
LOADGEN = os.path.join(ROOT, "build", "release", "tools", "loadgen")
CALLS = [int(x) for x in os.environ.get("BENCH_CALLS", "100,250,500").split(",")]
SECONDS = int(os.environ.get("BENCH_SECONDS", "60"))
RATE = float(os.environ.get("BENCH_RATE", "20"))
NUMBER = "+14155550100"
NOFILE = 65536
CLK_TCK = os.sysconf("SC_CLK_TCK")
# ~16 s of espeak-ng speech: Parley speaks for the first part of every
# call, then sends silence frames (the same media path)
GREETING = ("Hello, and thank you for calling the Parley benchmark line. "
            "This message is long on purpose, so that every call carries "
            "real speech for a while before it falls back to silence. "
            "Please stay on the line while we measure how the server keeps "
            "its twenty millisecond rhythm with many calls at once.")

WARN = ("-Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes "
        "-Wvla -Wpointer-arith -Wformat=2 -Wno-unused-parameter "
        "-Wno-format-truncation").split()




def free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pkg(flag):
    return subprocess.run(["pkg-config", flag, "libre", "librem"], check=True,
                          capture_output=True, text=True).stdout.split()


def build():
    """The release parley (make release) and a -O2 loadgen beside it."""
    if not os.environ.get("BENCH_PARLEY"):
        subprocess.run(["make", "-s", "-j%d" % os.cpu_count(), "release"], cwd=ROOT,
                       check=True, stdout=subprocess.DEVNULL)
    os.makedirs(os.path.dirname(LOADGEN), exist_ok=True)
    src = os.path.join(ROOT, "tests", "tools", "loadgen.c")
    cmd = (["gcc", "-std=c11", "-D_GNU_SOURCE", "-DHAVE_INTTYPES_H", "-DHAVE_INET6",
            "-O2", "-g"] + WARN + pkg("--cflags") + [src] + pkg("--libs") +
           ["-lm", "-o", LOADGEN])
    subprocess.run(cmd, check=True)


def proc_cpu_s(pid):
    """utime + stime of a process, in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK




def udp_drops(pid):
    """Datagrams the kernel dropped on this process's UDP sockets (full
    receive buffers), summed from /proc/net/udp by socket inode."""
    inodes = set()
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            link = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(link[8:-1])
    drops = 0
    with open("/proc/net/udp") as f:
        next(f)
        for line in f:
            cols = line.split()
            if cols[9] in inodes:
                drops += int(cols[12])
    return drops


def nofile():
    """Parley's child: room for 3 descriptors a call (RTP, RTCP, WAV)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = NOFILE if hard == resource.RLIM_INFINITY else min(NOFILE, hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, want), hard))


class Parley:
    def __init__(self, tmp):
        self.tmp = tmp
        self.port = free_port()
        self.sip_port = free_udp_port()
        self.log_path = os.path.join(tmp, "parley.log")
        self.env = dict(os.environ,
                        PARLEY_DB_URL="sqlite:" + os.path.join(tmp, "bench.db"),
                        PARLEY_HTTP_LISTEN="127.0.0.1:%d" % self.port,
                        PARLEY_SIP_LISTEN="127.0.0.1:%d" % self.sip_port,
                        PARLEY_RTP_PORT_MIN="10000", PARLEY_RTP_PORT_MAX="20000",
                        PARLEY_RECORDINGS_DIR=os.path.join(tmp, "recordings"),
                        PARLEY_LOG_LEVEL="warn")
        self.base = "http://127.0.0.1:%d" % self.port
        key = subprocess.run([PARLEY, "apikey", "create", "--tenant", "bench"],
                             env=self.env, cwd=tmp, capture_output=True, text=True,
                             check=True).stdout.strip()
        self.key = key
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([PARLEY, "serve"], env=self.env, cwd=tmp,
                                     stdout=self.log, stderr=subprocess.STDOUT,
                                     preexec_fn=nofile)
        for _ in range(400):
            if self.proc.poll() is not None:
                raise RuntimeError("parley exited:\n" + self.output())
            try:
                urllib.request.urlopen(self.base + "/health", timeout=1)
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("parley did not come up:\n" + self.output())

    def post(self, path, body):
        req = urllib.request.Request(self.base + path, method="POST",
                                     data=json.dumps(body).encode(),
                                     headers={"Authorization": "Bearer " + self.key,
                                              "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read())

    def setup(self):
        agent = self.post("/api/v1/agents", {"name": "Bench", "first_message": GREETING})
        trunk = self.post("/api/v1/trunks", {
            "name": "loopback", "sip_uri": "sip:127.0.0.1:5999",
            "inbound": {"allowed_ips": ["127.0.0.1/32"]}})
        self.post("/api/v1/phone-numbers", {"number": NUMBER, "agent_id": agent["id"],
                                            "trunk_id": trunk["id"]})

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


def wait_idle(parley, timeout=30):
    """Until Parley's CPU use settles (calls of the last run released)."""
    deadline = time.time() + timeout
    last = proc_cpu_s(parley.proc.pid)
    while time.time() < deadline:
        time.sleep(1)
        now = proc_cpu_s(parley.proc.pid)
        if now - last < 0.05:
            return
        last = now


def loadgen_cmd(parley, n, seconds):
    return [LOADGEN, "--target", "sip:%s@127.0.0.1:%d" % (NUMBER, parley.sip_port),
            "--calls", str(n), "--rate", "%g" % RATE, "--hangup-rate", "%g" % RATE,
            "--duration", str(seconds), "--listen", "127.0.0.1:%d" % free_udp_port(),
            "--rtp-ports", "30000-40000", "--setup-timeout", "15000"]


def run_one(parley, n):
    """One load run of n calls; returns loadgen's summary plus samples."""
    pid = parley.proc.pid
    # warm-up, not measured: the first synthesis loads espeak-ng's data
    subprocess.run(loadgen_cmd(parley, 2, 1), capture_output=True, timeout=60)
    wait_idle(parley)
    rss0 = rss_kib(pid)
    cmd = loadgen_cmd(parley, n, SECONDS)
    lg = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    errs = []
    t = threading.Thread(target=lambda: errs.extend(lg.stderr), daemon=True)
    t.start()
    s = {"cmd": cmd, "load0": os.getloadavg()[0], "drops0": udp_drops(pid)}
    rss_samples = []
    summary = None
    sampler_stop = threading.Event()

    def sample_rss():
        while not sampler_stop.wait(1.0):
            rss_samples.append(rss_kib(pid))

    sampler = None
    for line in lg.stdout:
        try:
            ev = json.loads(line)
        except ValueError:
            continue
        if ev["event"] == "plateau":
            s["cpu0"], s["t0"] = proc_cpu_s(pid), time.monotonic()
            s["lg_cpu0"] = proc_cpu_s(lg.pid)
            sampler = threading.Thread(target=sample_rss, daemon=True)
            sampler.start()
        elif ev["event"] == "hangup":
            s["cpu1"], s["t1"] = proc_cpu_s(pid), time.monotonic()
            s["lg_cpu1"] = proc_cpu_s(lg.pid)
            s["rss_end"] = rss_kib(pid)
            s["load1"] = os.getloadavg()[0]
            s["drops"] = udp_drops(pid) - s["drops0"]
            s["lg_drops"] = udp_drops(lg.pid)
            sampler_stop.set()
        elif ev["event"] == "summary":
            summary = ev
    lg.wait()
    t.join(timeout=5)
    sampler_stop.set()
    if sampler:
        sampler.join()
    if summary is None or lg.returncode != 0:
        raise RuntimeError("loadgen failed (%s):\n%s" % (lg.returncode, "".join(errs)[-3000:]))
    s.update(summary=summary, rss0=rss0, rss_samples=rss_samples, stderr="".join(errs))
    s["rss_max"] = max(rss_samples + [s.get("rss_end", 0)])
    return s




def row(n, s):
    m = s["summary"]
    up = m["up"]
    secs = s["t1"] - s["t0"]
    cpu = s["cpu1"] - s["cpu0"]
    return {
        "n": n, "up": up, "failed": m["failed"], "fail_codes": m["fail_codes"],
        "dropped": m["dropped"], "setup": m["setup_ms"], "first_rx": m["first_rx_ms"],
        "cpu_pct": 100.0 * cpu / secs,
        "cpu_ms_per_call_s": 1000.0 * cpu / secs / up if up else 0,
        "rss0": s["rss0"], "rss_end": s["rss_end"], "rss_max": s["rss_max"],
        "rss_per_call_kib": (s["rss_end"] - s["rss0"]) / up if up else 0,
        "rss_peak_per_call_kib": (s["rss_max"] - s["rss0"]) / up if up else 0,
        "lost": m["rx_lost"], "expected": m["rx_expected"], "rx": m["rx_packets"],
        "short": max(0, m["rx_expected_time"] - m["rx_packets"]),
        "jit": m["rx_jitter_ms"], "jit_plateau": m["rx_jitter_plateau_ms"],
        "tx_jit": m["tx_jitter_ms"], "voiced": m["rx_voiced"],
        "lg_cpu_pct": 100.0 * (s["lg_cpu1"] - s["lg_cpu0"]) / secs,
        "drops": s["drops"], "lg_drops": s["lg_drops"], "bye": m["bye"],
        "foreign": m["rx_foreign"], "load0": s["load0"], "load1": s["load1"],
        "ramp_s": m["ramp_s"], "plateau_s": m["plateau_s"], "log": s.get("log", []),
    }


def log_digest(text):
    """Parley's warnings of one run, alike lines counted together."""
    counts = {}
    for line in text.splitlines():
        line = re.sub(r"\x1b\[[0-9;]*m|\[;m", "", line).strip()
        if not line:
            continue
        key = re.sub(r"\d+", "N", line)
        counts[key] = counts.get(key, 0) + 1
    return sorted(counts.items(), key=lambda kv: -kv[1])[:5]


# Failure signatures seen in Parley's log, and what they mean.
KNOWN = [
    ("fd_listen: fd=N flags=NxN - Max N fds",
     "libre 1.1.0 sizes its poll table to FD_SETSIZE (1024 descriptors) "
     "unless fd_setsize() is called before the first socket is listened "
     "on, and Parley does not call it. A call holds 3 descriptors (RTP, "
     "RTCP, the caller's recording), so from roughly the 330th concurrent "
     "call rtp_listen() fails (it retries 64 ports, each try logging this "
     "line) and Parley answers 500. RLIMIT_NOFILE is not the limit "
     "(raised to %d here)." % NOFILE),
]


def section(rows, failures):
    cmd = ("BENCH_SECONDS=%d BENCH_CALLS=%s BENCH_RATE=%g /usr/bin/python3 bench/sip_bench.py"
           % (SECONDS, ",".join(str(n) for n in CALLS), RATE))
    lines = [
        "## Telephony",
        "",
        "Command: `%s` (builds `make release` and an -O2 copy of "
        "tests/tools/loadgen.c into build/release/tools/). A release `parley serve` "
        "on SQLite (4 workers) answers N calls from loadgen, a separate process on "
        "the same machine, over 127.0.0.1. loadgen sets calls up at %g calls/s; "
        "when all are up, the plateau runs %d s with all N calls live, then they "
        "hang up at %g calls/s. Each call is two-way PCMU at 20 ms: loadgen sends "
        "a 1 kHz tone from one shared tick; Parley speaks the agent's first "
        "message (about 16 s of espeak-ng speech, synthesised once on the worker "
        "pool and shared by every call through the prompt cache), then sends silence frames over the same media path, and "
        "records the caller to a WAV file." % (cmd, RATE, SECONDS, RATE),
        "",
        "Machine: " + machine() + ". Shared with other work while measured: "
        "the load average is in the second table.",
        "",
        "| N | calls up | setup p50 / p99 ms | CPU % of one core | CPU ms per "
        "call-second | RSS per call KiB, end (peak) | packets lost | rx interval jitter "
        "p50 / p99 / max ms |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        j = r["jit_plateau"]
        lines.append("| %d | %d | %.1f / %.1f | %.1f | %.2f | %.0f (%.0f) | %d of %d | "
                     "%.2f / %.2f / %.2f |" % (
                         r["n"], r["up"], r["setup"]["p50"], r["setup"]["p99"],
                         r["cpu_pct"], r["cpu_ms_per_call_s"], r["rss_per_call_kib"],
                         r["rss_peak_per_call_kib"],
                         r["lost"], r["expected"], j["p50"], j["p99"], j["max"]))
    lines += [
        "",
        "| N | ramp-up s | load avg start -> end | Parley RSS idle -> end (peak) MiB | "
        "voiced frames rx | frames never sent (*) | rx jitter whole calls "
        "p99 / max ms | first packet after answer p99 ms | Parley UDP drops | "
        "BYEs answered, all within s | loadgen CPU % / send jitter p99 ms | "
        "failed (codes) / dropped |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        b = r["bye"]
        lines.append(
            "| %d | %.1f | %.1f -> %.1f | %.1f -> %.1f (%.1f) | %.0f %% | %d | %.2f / %.2f "
            "| %.0f | %d | %d of %d, %s | %.0f / %.2f | %d%s / %d |" % (
                r["n"], r["ramp_s"], r["load0"], r["load1"], r["rss0"] / 1024,
                r["rss_end"] / 1024, r["rss_max"] / 1024,
                100.0 * r["voiced"] / max(1, r["rx"]), r["short"], r["jit"]["p99"],
                r["jit"]["max"], r["first_rx"]["p99"], r["drops"], b["ok"], b["sent"],
                "%.1f" % (b["all_answered_ms"] / 1000) if b["all_answered_ms"] >= 0
                else "not all", r["lg_cpu_pct"], r["tx_jit"]["p99"], r["failed"],
                " " + json.dumps(r["fail_codes"]) if r["fail_codes"] else "", r["dropped"]))
    lines += [
        "",
        "How to read it:",
        "",
        "- CPU is Parley's utime+stime (/proc/PID/stat) over the plateau, divided "
        "by its wall time; per call-second divides that by the calls up. Set-up "
        "(SIP, store writes, speech synthesis) is not in it, unless synthesis "
        "queued during the ramp-up was still running.",
        "- RSS per call: (VmRSS at the end of the plateau - VmRSS idle before the "
        "run) / calls up. By then every greeting has been played and freed. The "
        "peak is sampled each second during the plateau. The greeting's audio is "
        "one shared copy (prompt cache), not one per call. The baseline is taken "
        "after a warm-up call.",
        "- Packets lost: sequence gaps in what loadgen received from Parley, of the "
        "packets expected by sequence number (RFC 3550 A.3), whole calls. "
        "(*) Frames never sent: packets expected by the clock (one per 20 ms from "
        "a call's first packet to its hang-up) minus packets received. Parley's "
        "tick restarts its schedule instead of bursting when it is more than "
        "100 ms late, so those frames leave no sequence gap. A few per call are "
        "packets in flight at hang-up. Parley UDP drops: datagrams the kernel "
        "dropped on Parley's sockets (receive queue full: the loop did not read "
        "in time), from /proc/net/udp.",
        "- Jitter: Parley does not export its tick statistics (media_tick_stats() "
        "has no API or metric), so its send-interval jitter is measured on the load "
        "side: the interval between consecutive packets of a call, |interval - 20 "
        "ms|, all calls in one histogram (10 us buckets). Arrival times are the "
        "kernel's receive timestamps (SIOCGSTAMPNS); on loopback the kernel stamps "
        "a packet while Parley is still in sendto(), so this is Parley's send "
        "timing, not loadgen's scheduling. The first table covers the plateau (all "
        "N calls up, no set-up traffic); the second whole calls, ramp-up included. "
        "libre timers have 1 ms granularity: ~1 ms is the floor.",
        "- Set-up time: INVITE sent -> 200 OK received, at loadgen (after one "
        "unmeasured warm-up call). Routing an INVITE runs on the worker pool (store "
        "lookups); the greeting is synthesised once and then served from the "
        "prompt cache, so synthesis no longer competes with routing.",
        "",
    ]
    for r in rows:
        if not r["log"]:
            continue
        lines.append("Parley's log during N = %d (warnings and errors; alike lines counted "
                     "together):" % r["n"])
        lines.append("")
        for text, count in r["log"]:
            lines.append("- %d x `%s`" % (count, text[:160]))
            for sig, why in KNOWN:
                if sig in text:
                    lines.append("  - %s" % why)
        lines.append("")
    for n, why in failures:
        lines += ["Run N = %d failed: %s" % (n, why.strip()[:1500]), ""]
    return "\n".join(lines)


def write_doc(text):
    path = os.path.join(ROOT, "docs", "BENCHMARKS.md")
    body = open(path).read() if os.path.exists(path) else "# Benchmarks\n"
    if re.search(r"^## Telephony\n", body, flags=re.M):
        body = re.sub(r"^## Telephony\n.*?(?=^## |\Z)", lambda m: text + "\n",
                      body, flags=re.S | re.M)
    else:
        body = body.rstrip("\n") + "\n\n" + text + "\n"
    with open(path, "w") as f:
        f.write(body.rstrip("\n") + "\n")


def bench_n(n):
    """One fresh Parley (its own store and RSS baseline) for one N."""
    with tempfile.TemporaryDirectory(prefix="parley-sipbench-") as tmp:
        parley = Parley(tmp)
        try:
            parley.setup()
            s = run_one(parley, n)
            if parley.proc.poll() is not None:
                raise RuntimeError("parley exited %d" % parley.proc.returncode)
        finally:
            rc = parley.stop()
            log = parley.output()
        if rc != 0:
            raise RuntimeError("parley exited %s on SIGTERM:\n%s" % (rc, log[-3000:]))
        s["log"] = log_digest(log)
        return s


def main():
    build()
    rows, failures = [], []
    for n in CALLS:
        print("sip_bench: %d calls, %d s ..." % (n, SECONDS), file=sys.stderr)
        try:
            s = bench_n(n)
        except (RuntimeError, OSError, subprocess.SubprocessError) as e:
            failures.append((n, str(e)))
            print(str(e), file=sys.stderr)
            continue
        print("loadgen N=%d: %s" % (n, json.dumps(s["summary"])), file=sys.stderr)
        rows.append(row(n, s))
    text = section(rows, failures)
    if not os.environ.get("BENCH_NO_DOC"):
        write_doc(text)
    print(text)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
