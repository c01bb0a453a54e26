# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# shellcheck shell=sh disable=SC2015
# Helpers for the bench/ integration tests (sourced, not run).
# Every wait here is bounded; every server started is stopped by the EXIT trap.
set -u
cd "$(dirname "$0")/../.." || exit 1
BUILD=${BUILD:-build}
SRV=$BUILD/epbatch-bench-server
LOAD=$BUILD/epbatch-load
TMP=$(mktemp -d /tmp/epbatch-bench-test.XXXXXX)
SRV_PID=
TRACE_PID=
PORT=

cleanup() {
	[ -n "$SRV_PID" ] && kill -KILL "$SRV_PID" 2>/dev/null
	[ -n "$TRACE_PID" ] && kill -KILL "$TRACE_PID" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT

fail() { echo "FAIL: $*"; exit 1; }
skip() { echo "$*"; exit 77; }

for b in "$SRV" "$LOAD"; do
	[ -x "$b" ] || fail "$b is not built (make $b)"
done

# json FILE EXPR: evaluate a Python expression over the JSON object d in FILE;
# a tuple prints space-separated (for `read a b`).
json() {
	python3 -c 'import json,sys
d = json.load(open(sys.argv[1])); v = eval(sys.argv[2])
print(" ".join(map(str, v)) if isinstance(v, tuple) else v)' "$1" "$2"
}

# wait_ready: until $TMP/ready holds the port (5 s at most); sets PORT.
wait_ready() {
	i=0
	while [ ! -s "$TMP/ready" ]; do
		i=$((i + 1))
		[ $i -gt 100 ] && fail "server not ready after 5 s"
		[ -n "$SRV_PID" ] && ! kill -0 "$SRV_PID" 2>/dev/null && fail "server died at start"
		sleep 0.05
	done
	PORT=$(cat "$TMP/ready")
}

# start_server ARGS...: start the server, stats to $TMP/srv.json.
start_server() {
	rm -f "$TMP/ready" "$TMP/srv.json"
	"$SRV" --ready-file "$TMP/ready" --stats "$TMP/srv.json" --max-seconds 60 "$@" \
		>"$TMP/srv.out" 2>"$TMP/srv.err" &
	SRV_PID=$!
	wait_ready
}

# start_server_traced ARGS...: the same under strace -f, epoll_ctl calls
# logged to $TMP/trace; SRV_PID is the server itself (strace's child).
start_server_traced() {
	rm -f "$TMP/ready" "$TMP/srv.json" "$TMP/trace"
	# LeakSanitizer cannot run under ptrace (an ASan build would exit 1).
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" strace -f -qq -e trace=epoll_ctl -o "$TMP/trace" \
		"$SRV" --ready-file "$TMP/ready" --stats "$TMP/srv.json" --max-seconds 60 "$@" \
		>"$TMP/srv.out" 2>"$TMP/srv.err" &
	TRACE_PID=$!
	wait_ready
	SRV_PID=$(ps -o pid= --ppid "$TRACE_PID" | tr -d ' ')
	[ -n "$SRV_PID" ] || fail "cannot find the traced server's pid"
}

# stop_server [MAX_MS]: SIGTERM, then require exit status 0 within MAX_MS
# (default 2000); sets STOP_MS.
stop_server() {
	max=${1:-2000}
	t0=$(date +%s%N)
	kill -TERM "$SRV_PID" || fail "server already gone"
	i=0
	while kill -0 "$SRV_PID" 2>/dev/null; do
		i=$((i + 1))
		[ $i -gt $((max / 10)) ] && fail "server still running ${max} ms after SIGTERM"
		sleep 0.01
	done
	# shellcheck disable=SC2034  # read by the tests
	STOP_MS=$(( ($(date +%s%N) - t0) / 1000000 ))
	if [ -n "$TRACE_PID" ]; then
		wait "$TRACE_PID"; rc=$?
		TRACE_PID=
	else
		wait "$SRV_PID"; rc=$?
	fi
	SRV_PID=
	[ $rc = 0 ] || { cat "$TMP/srv.err"; fail "server exited with status $rc"; }
	[ -s "$TMP/srv.json" ] || fail "no stats written"
}

# wait_server_idle: until the server holds no connection on $PORT (the
# clients' closes processed), 5 s at most.
wait_server_idle() {
	i=0
	while [ -n "$(ss -Htn state established state close-wait "( sport = :$PORT )")" ]; do
		i=$((i + 1))
		[ $i -gt 500 ] && fail "server still holds connections 5 s after the load ended"
		sleep 0.01
	done
}

# load ARGS...: run epbatch-load against $PORT, JSON to $TMP/load.json;
# requires exit 0, zero errors and at least one request.
load() {
	"$LOAD" --port "$PORT" --out "$TMP/load.json" "$@" 2>"$TMP/load.err" ||
		{ cat "$TMP/load.err"; fail "epbatch-load $* failed"; }
	read -r errs reqs <<-EOF
	$(json "$TMP/load.json" 'd["errors"], d["requests"]')
	EOF
	[ "$errs" = 0 ] || fail "epbatch-load $*: $errs errors: $(json "$TMP/load.json" 'd["error_kinds"]')"
	[ "$reqs" -gt 0 ] || fail "epbatch-load $*: no requests"
}
