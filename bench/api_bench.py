#!/usr/bin/env python3
"""REST API benchmark: a release `parley serve` on SQLite and on
PostgreSQL, loaded by wrk from a separate process on loopback. Writes the
API section of docs/BENCHMARKS.md. Run through `make bench`."""
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from benchlib import free_port, machine, rss_kib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PARLEY = os.path.join(ROOT, "build", "release", "parley")
DURATION = int(os.environ.get("BENCH_SECONDS", "10"))
CONNS = int(os.environ.get("BENCH_CONNECTIONS", "32"))
RUNS = int(os.environ.get("BENCH_RUNS", "3"))






def wrk(url, key, script=None):
    cmd = ["wrk", "-t2", "-c%d" % CONNS, "-d%ds" % DURATION, "--latency",
           "-H", "Authorization: Bearer " + key, url]
    if script:
        cmd[1:1] = ["-s", script]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))

    def pct(p):
        m = re.search(r"^\s+%s%%\s+([\d.]+)(us|ms|s)" % p, out, re.M)
        v, unit = float(m.group(1)), m.group(2)
        return v / 1000 if unit == "us" else v * 1000 if unit == "s" else v
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rps, pct(50), pct(99), int(errors.group(1)) if errors else 0


def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2]


def bench_backend(name, url, tmp):
    port = free_port()
    env = dict(os.environ, PARLEY_DB_URL=url, PARLEY_HTTP_LISTEN="127.0.0.1:%d" % port,
               PARLEY_LOG_LEVEL="warn")
    key = subprocess.run([PARLEY, "apikey", "create", "--tenant", "bench"], env=env,
                         cwd=tmp, capture_output=True, text=True, check=True).stdout.strip()
    proc = subprocess.Popen([PARLEY, "serve"], env=env, cwd=tmp)
    base = "http://127.0.0.1:%d" % port
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(base + "/health", timeout=1)
                break
            except OSError:
                time.sleep(0.05)
        req = urllib.request.Request(
            base + "/api/v1/agents", method="POST",
            data=b'{"name":"A","first_message":"Hi","llm":{"provider":"scenario"}}',
            headers={"Authorization": "Bearer " + key, "Content-Type": "application/json"})
        agent = re.search(rb'"id":(\d+)', urllib.request.urlopen(req).read()).group(1).decode()
        for _ in range(49):   # a full first page for the list request
            urllib.request.urlopen(req).read()
        rss0 = rss_kib(proc.pid)
        rows = []
        cases = [
            ("GET /health (store ping)", base + "/health", None),
            ("GET /api/v1/agents/{id}", base + "/api/v1/agents/" + agent, None),
            ("GET /agents/{id}/runtime-config (cached)",
             base + "/api/v1/agents/%s/runtime-config" % agent, None),
            ("GET /api/v1/agents?limit=50 (50 rows)", base + "/api/v1/agents?limit=50", None),
            ("POST /api/v1/agents", base + "/api/v1/agents",
             os.path.join(ROOT, "bench", "post_agent.lua")),
        ]
        for label, url_, script in cases:
            runs = [wrk(url_, key, script) for _ in range(RUNS)]
            rows.append((label, median([r[0] for r in runs]), median([r[1] for r in runs]),
                         median([r[2] for r in runs]), sum(r[3] for r in runs)))
        rss1 = rss_kib(proc.pid)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    return rows, rss0, rss1




def main():
    pg = os.environ.get("PARLEY_TEST_PG_URL")
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        backends = [("SQLite (WAL)", "sqlite:" + os.path.join(tmp, "bench.db"))]
        if pg:
            subprocess.run(["psql", "-q", pg, "-c", "CREATE DATABASE parley_bench"],
                           check=True, capture_output=True)
            backends.append(("PostgreSQL 15", pg.rsplit("/", 1)[0] + "/parley_bench"))
        for name, url in backends:
            rows, rss0, rss1 = bench_backend(name, url, tmp)
            out.append((name, rows, rss0, rss1))
    lines = [
        "## REST API",
        "",
        "Command: `make bench` (scripts/bench.sh -> bench/api_bench.py). "
        "A release build of `parley serve` (4 worker threads) and wrk "
        "(`wrk -t2 -c%d -d%ds --latency`, a separate process) share the "
        "machine's cores on 127.0.0.1; each figure is the median of %d runs." % (
            CONNS, DURATION, RUNS),
        "",
        "Machine: " + machine(),
        "",
    ]
    for name, rows, rss0, rss1 in out:
        lines += ["### " + name, "",
                  "| request | requests/s | p50 ms | p99 ms | non-2xx |",
                  "|---|---:|---:|---:|---:|"]
        for label, rps, p50, p99, errs in rows:
            lines.append("| %s | %.0f | %.2f | %.2f | %d |" % (label, rps, p50, p99, errs))
        lines += ["", "Server RSS: %.1f MiB idle after start-up, %.1f MiB after the runs "
                  "(the POST run adds thousands of agents)." % (rss0 / 1024, rss1 / 1024), ""]
    text = "\n".join(lines)
    path = os.path.join(ROOT, "docs", "BENCHMARKS.md")
    head = "# Benchmarks\n\nNumbers from this repository's bench commands; rerun them after " \
           "changing the code they measure. Medians, not means: these machines are noisy.\n\n"
    body = ""
    if os.path.exists(path):
        body = open(path).read()
        body = re.sub(r"## REST API\n.*?(?=\n## |\Z)", "", body, flags=re.S)
        body = body.replace(head, "").strip("\n")
    with open(path, "w") as f:
        f.write(head + text + ("\n" + body + "\n" if body else ""))
    print(text)


if __name__ == "__main__":
    sys.exit(main())
