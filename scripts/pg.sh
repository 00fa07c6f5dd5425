#!/usr/bin/env bash
# pg.sh - a private, throwaway PostgreSQL server for tests.
#
# Tests must not depend on (or damage) a system-wide server, so each run
# gets its own cluster in a directory it owns, on a free port of
# 127.0.0.1, with durability switched off for speed.
#
#   eval "export $(scripts/pg.sh start DIR)"   # sets PARLEY_TEST_PG_URL
#   scripts/pg.sh stop DIR                      # stops it, removes DIR
#
# Only the PARLEY_TEST_PG_URL=... line goes to stdout; everything else to
# stderr. initdb and postgres refuse to run as root, so as root the
# server runs as the "postgres" system user (Debian's postgresql package
# creates it) and DIR is handed over to that user.
set -euo pipefail

MARK=.parley-pg

die() { echo "pg.sh: $*" >&2; exit 1; }
usage() { echo "usage: $0 start|stop DIR" >&2; exit 2; }

[ $# -eq 2 ] && [ -n "$2" ] || usage
cmd=$1
dir=$2

# Debian's binaries, newest major version; never whatever is on PATH
pgbin() {
	local d best=""
	for d in $(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V); do
		[ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && best=$d
	done
	[ -n "$best" ] || die "no PostgreSQL server in /usr/lib/postgresql/*/bin (apt-get install postgresql)"
	echo "$best"
}

# run as the server's owner: postgres when we are root, else ourselves
as_owner() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

port_in_use() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

free_port() {
	local p i
	if p=$(python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])' 2>/dev/null) && [ -n "$p" ]; then
		echo "$p"
		return
	fi
	for i in $(seq 1 100); do
		p=$(( 20000 + (RANDOM * 32768 + RANDOM) % 40000 ))
		port_in_use "$p" || { echo "$p"; return; }
	done
	die "no free TCP port found"
}

url_for() {
	echo "PARLEY_TEST_PG_URL=postgresql://parley@127.0.0.1:$1/postgres"
}

start() {
	local bin port tries
	bin=$(pgbin)

	if [ "$(id -u)" -eq 0 ]; then
		id postgres >/dev/null 2>&1 || die "running as root but there is no 'postgres' user"
	fi

	mkdir -p "$dir"
	dir=$(cd "$dir" && pwd)
	touch "$dir/$MARK"
	if [ "$(id -u)" -eq 0 ]; then
		chown postgres: "$dir"
		runuser -u postgres -- test -w "$dir" ||
			die "$dir is not reachable by the postgres user (parent directory permissions?)"
	fi
	# postgres may not be able to enter our working directory
	cd "$dir"

	# already running from an earlier start: just report it again
	if [ -f "$dir/port" ] && [ -d "$dir/data" ] &&
	   as_owner "$bin/pg_ctl" status -D "$dir/data" >/dev/null 2>&1; then
		url_for "$(cat "$dir/port")"
		return
	fi

	if [ ! -f "$dir/data/PG_VERSION" ]; then
		echo "pg.sh: initdb in $dir/data" >&2
		if ! as_owner "$bin/initdb" -D "$dir/data" -U parley \
			--auth=trust -E UTF8 --locale=C --no-sync \
			>"$dir/initdb.log" 2>&1; then
			tail -n 30 "$dir/initdb.log" >&2
			die "initdb failed"
		fi
		cat >>"$dir/data/postgresql.conf" <<-EOF
			# pg.sh: private test server
			listen_addresses = '127.0.0.1'
			unix_socket_directories = '$dir'
			fsync = off
			synchronous_commit = off
			full_page_writes = off
		EOF
	fi

	# the port may be taken between choosing and binding: try again
	for tries in 1 2 3; do
		port=$(free_port)
		echo "pg.sh: starting $bin/postgres on 127.0.0.1:$port" >&2
		if as_owner "$bin/pg_ctl" start -D "$dir/data" -l "$dir/server.log" \
			-w -t 60 -o "-p $port" >&2 &&
		   "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" -t 30; then
			echo "$port" >"$dir/port"
			url_for "$port"
			return
		fi
		as_owner "$bin/pg_ctl" stop -D "$dir/data" -m immediate >/dev/null 2>&1 || true
		grep -q "could not bind\|could not create listen socket" \
			"$dir/server.log" 2>/dev/null || break
	done

	echo "pg.sh: server failed to start; log tail:" >&2
	tail -n 30 "$dir/server.log" >&2 2>/dev/null || true
	exit 1
}

stop() {
	local bin
	[ -e "$dir" ] || return 0
	[ -f "$dir/$MARK" ] || die "$dir was not made by pg.sh start; not removing it"
	bin=$(pgbin)
	cd /
	if [ -f "$dir/data/postmaster.pid" ]; then
		as_owner "$bin/pg_ctl" stop -D "$dir/data" -m fast -w -t 60 >&2 ||
			as_owner "$bin/pg_ctl" stop -D "$dir/data" -m immediate >&2 || true
	fi
	rm -rf -- "$dir"
}

case "$cmd" in
start) start ;;
stop) stop ;;
*) usage ;;
esac
