#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# memcached scenarios: an accept thread + 2 workers (libevent).
#   keepalive  clients keep their connection (no epoll_ctl per request)
#   close      a new connection per request (ADD + DEL per connection;
#              memcslap is keep-alive only, so srvcheck --mode close is the
#              load generator here)
# The check writes and reads back 6000 distinct keys (3000 in close).
# usage: see scripts/servers/lib.sh (--variant, --scenario, --check, --load, --trace)
SRV_NAME=memcached
SRV_SCENARIOS="keepalive close"
. "$(dirname "$0")/lib.sh"

srv_start() {
	local args
	args=$(grep -v '^#' "$SRVDIR/memcached.conf" | tr '\n' ' ')
	# shellcheck disable=SC2086
	env $PRELOAD_ENV memcached $args -p "$PORT" >"$DIR/server.log" 2>&1 &
	SRV_PID=$!
	srv_wait_port "$PORT" "$SRV_PID"
}

srv_stop_signal() { echo TERM; }

srv_check() {
	case $1 in
	keepalive) "$SRVCHECK" --proto memcached --port "$PORT" --conns 8 --keys 6000 ;;
	close) "$SRVCHECK" --proto memcached --port "$PORT" --conns 8 --keys 3000 --mode close ;;
	esac
}

srv_load() {
	local secs=$2
	case $1 in
	keepalive) timeout $((secs * 4 + 10)) memcslap -s "127.0.0.1:$PORT" --concurrency=32 \
		--execute-number=$((secs * 600)) --test=get ;;
	close) "$SRVCHECK" --proto memcached --port "$PORT" --conns 32 --keys 100000 --mode close \
		--value-max 64 --duration "$secs" ;;
	esac
}

srv_main "$@"
