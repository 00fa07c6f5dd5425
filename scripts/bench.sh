#!/usr/bin/env bash
# Builds the release binary and runs the benchmarks, rewriting their
# sections of docs/BENCHMARKS.md. Uses a private PostgreSQL server (the
# API benchmark); the telephony and voice-agent ones use SQLite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh --bench
make -j"$(nproc)" release >/dev/null
PGDIR=$(mktemp -d /tmp/parley-pg.XXXXXX)
rmdir "$PGDIR"
trap 'scripts/pg.sh stop "$PGDIR" >/dev/null 2>&1 || true' EXIT
PGLINE=$(scripts/pg.sh start "$PGDIR")
export "${PGLINE?}"
/usr/bin/python3 bench/api_bench.py
/usr/bin/python3 bench/sip_bench.py
# the voice agent: BENCH_QUICK=1 for 15 s runs instead of 60 s
/usr/bin/python3 bench/agent_bench.py ${BENCH_QUICK:+--quick}
