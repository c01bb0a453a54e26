#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# nginx scenarios: master + 2 worker processes (EPOLLEXCLUSIVE listener).
#   keepalive  small responses on kept-alive connections (no epoll_ctl expected)
#   close      a new connection per request (ADD per accept, close without DEL)
#   large      a 256 KiB static file, kept-alive and connection-per-request
# usage: see scripts/servers/lib.sh (--variant, --scenario, --check, --load, --trace)
SRV_NAME=nginx
SRV_SCENARIOS="keepalive close large"
. "$(dirname "$0")/lib.sh"
. "$SRVDIR/http.sh"

srv_start() {
	# shellcheck disable=SC2086
	nginx_start "$DIR" "$PORT" $PRELOAD_ENV || return 1
	SRV_PID=$NGINX_PID
}

srv_stop_signal() { echo QUIT; }	# graceful: workers finish, master exits 0

srv_check() { http_check "$PORT" "$1"; }

srv_load() { http_load "$PORT" "$1" "$2"; }

srv_main "$@"
