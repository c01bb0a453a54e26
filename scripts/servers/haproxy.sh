#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# haproxy scenarios: haproxy -W (master-worker, 2 threads) as a reverse proxy
# in front of nginx (which runs without the shim: only haproxy is measured).
#   keepalive  small responses, kept-alive client connections
#   close      a new client connection per request
#   large      a 256 KiB response through the proxy
# The check runs the HTTP integrity check, reloads haproxy (SIGUSR2: the
# master re-executes itself and starts a new worker), and runs it again.
# usage: see scripts/servers/lib.sh (--variant, --scenario, --check, --load, --trace)
SRV_NAME=haproxy
SRV_SCENARIOS="keepalive close large"
. "$(dirname "$0")/lib.sh"
. "$SRVDIR/http.sh"

srv_start() {
	BACKEND_DIR=$DIR/backend
	mkdir -p "$BACKEND_DIR"
	chmod 755 "$BACKEND_DIR"
	BACKEND_PORT=$(srv_free_port) || return 1
	nginx_start "$BACKEND_DIR" "$BACKEND_PORT" || return 1
	sed -e "s|@DIR@|$DIR|g" -e "s|@PORT@|$PORT|g" -e "s|@BACKEND_PORT@|$BACKEND_PORT|g" \
		"$SRVDIR/haproxy.cfg" >"$DIR/haproxy.cfg"
	# shellcheck disable=SC2086
	env $PRELOAD_ENV haproxy -W -db -f "$DIR/haproxy.cfg" >"$DIR/server.log" 2>&1 &
	SRV_PID=$!
	srv_wait_port "$PORT" "$SRV_PID"
}

srv_stop_signal() { echo USR1; }	# soft stop: the master exits when its worker has

# The master's worker processes.
haproxy_workers() { pgrep -P "$SRV_PID" -x haproxy | sort; }

# SIGUSR2: the master re-executes itself (LD_PRELOAD and all) and forks a new
# worker; waits (at most 10 s) for a worker that was not there before.
haproxy_reload() {
	local old new i
	old=$(haproxy_workers)
	kill -USR2 "$SRV_PID"
	for i in $(seq 1 100); do
		new=$(haproxy_workers | grep -vxF "$old" | head -n 1)
		[ -n "$new" ] && return 0
		kill -0 "$SRV_PID" 2>/dev/null || { say "master died on reload"; return 1; }
		sleep 0.1
	done
	say "no new worker 10 s after SIGUSR2"
	return 1
}

srv_check() {
	http_check "$PORT" "$1" || return 1
	haproxy_reload || return 1
	http_check "$PORT" "$1"
}

srv_load() { http_load "$PORT" "$1" "$2"; }

# the backend nginx stops with the proxy (called by srv_cleanup)
srv_cleanup_hook() {
	[ -n "${NGINX_PID:-}" ] || return 0
	kill -QUIT "$NGINX_PID" 2>/dev/null
	wait "$NGINX_PID" 2>/dev/null
}
srv_main "$@"
