#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# redis scenarios: one event-loop thread.
#   keepalive  clients keep their connection (no epoll_ctl per request)
#   close      a new connection per request (ADD + DEL per connection)
# The check writes and reads back 6000 distinct keys and, while it runs,
# forks the server with BGSAVE (a child with the live epoll fd) and waits for
# the save to succeed.
# usage: see scripts/servers/lib.sh (--variant, --scenario, --check, --load, --trace)
SRV_NAME=redis
SRV_SCENARIOS="keepalive close"
. "$(dirname "$0")/lib.sh"

srv_start() {
	sed -e "s|@DIR@|$DIR|g" -e "s|@PORT@|$PORT|g" "$SRVDIR/redis.conf" >"$DIR/redis.conf"
	# shellcheck disable=SC2086
	env $PRELOAD_ENV redis-server "$DIR/redis.conf" >"$DIR/server.log" 2>&1 &
	SRV_PID=$!
	srv_wait_port "$PORT" "$SRV_PID"
}

srv_stop_signal() { echo TERM; }	# redis saves nothing (save "") and exits 0

rcli() { timeout 5 redis-cli -h 127.0.0.1 -p "$PORT" "$@"; }

# Waits (at most 10 s) for the BGSAVE child to finish and checks it succeeded.
redis_bgsave_ok() {
	local i info
	for i in $(seq 1 100); do
		info=$(rcli INFO persistence | tr -d '\r')
		case $info in
		*rdb_bgsave_in_progress:0*)
			case $info in *rdb_last_bgsave_status:ok*) return 0 ;; esac
			say "BGSAVE failed: $(echo "$info" | grep bgsave)"
			return 1 ;;
		esac
		sleep 0.1
	done
	say "BGSAVE still running after 10 s"
	return 1
}

# Saves done since the server started (INFO persistence rdb_saves).
redis_saves() { rcli INFO persistence | tr -d '\r' | sed -n 's/^rdb_saves://p'; }

srv_check() {
	local mode=keepalive keys=6000 pid rc=0 before
	[ "$1" = close ] && { mode=close; keys=3000; }
	before=$(redis_saves)
	"$SRVCHECK" --proto redis --port "$PORT" --conns 8 --keys $keys --mode $mode &
	pid=$!
	sleep 0.2
	[ "$(rcli BGSAVE)" = "Background saving started" ] || { say "BGSAVE refused"; rc=1; }
	wait $pid || rc=1
	redis_bgsave_ok || rc=1
	[ -s "$DIR/dump.rdb" ] || { say "no dump.rdb after BGSAVE"; rc=1; }
	[ "$(redis_saves)" -gt "$before" ] ||
		{ say "BGSAVE did not happen"; rc=1; }
	# the server answers after the fork
	[ "$(rcli PING)" = PONG ] || { say "no PONG after BGSAVE"; rc=1; }
	return $rc
}

# redis-benchmark cannot run for a time: it runs a count, sized for about
# SECONDS at this machine's rate and bounded by timeout.
srv_load() {
	local secs=$2
	case $1 in
	keepalive) timeout $((secs * 4 + 10)) redis-benchmark -h 127.0.0.1 -p "$PORT" -c 32 \
		-n $((secs * 25000)) -t get -k 1 ;;
	close) timeout $((secs * 4 + 10)) redis-benchmark -h 127.0.0.1 -p "$PORT" -c 32 \
		-n $((secs * 6000)) -t get -k 0 ;;
	esac
}

srv_main "$@"
