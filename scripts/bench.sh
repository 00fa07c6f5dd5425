#!/usr/bin/env bash
# Builds the release binary and runs the benchmarks, rewriting their
# sections of docs/BENCHMARKS.md. Uses a private PostgreSQL server.
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
