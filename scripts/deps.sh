#!/usr/bin/env bash
# Installs the Debian packages Parley needs to build, run and test.
# Idempotent: installs only what is missing; uses sudo only when not root.
set -euo pipefail

BUILD_PKGS="build-essential pkg-config clang libclang-rt-14-dev libre-dev librem-dev \
libssl-dev libsqlite3-dev libpq-dev libspandsp-dev libspeexdsp-dev \
libespeak-ng-dev espeak-ng-data flite1-dev libpocketsphinx-dev pocketsphinx-en-us \
libmp3lame-dev tzdata"
TEST_PKGS="python3 python3-pytest python3-numpy postgresql prometheus sqlite3 curl \
baresip-core linphone-cli sox espeak-ng flite"

BENCH_PKGS="python3 postgresql wrk"

want="$BUILD_PKGS"
case "${1:-}" in
--test)  want="$want $TEST_PKGS" ;;
--bench) want="$want $BENCH_PKGS" ;;
"")      ;;
*)       echo "usage: $0 [--test|--bench]" >&2; exit 2 ;;
esac

missing=""
for p in $want; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "deps: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
