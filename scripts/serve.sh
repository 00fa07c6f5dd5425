#!/usr/bin/env bash
# Installs what Parley needs, builds it and runs `parley serve` on its
# embedded defaults: SQLite file parley.db in the current directory, HTTP
# on 127.0.0.1:8080. Arguments go to `parley serve` (e.g. --config FILE).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
"$here/scripts/deps.sh"
make -C "$here" -j"$(nproc)" release >/dev/null
if [ ! -f parley.db ] && [ -z "${PARLEY_DB_URL:-}" ]; then
	echo "First run: create an API key with" >&2
	echo "  $here/build/release/parley apikey create --tenant NAME" >&2
fi
exec "$here/build/release/parley" serve "$@"
