# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# shellcheck shell=bash
# HTTP helpers of nginx.sh and haproxy.sh (sourced after lib.sh): the nginx
# instance, the HTTP integrity check and the wrk load.

# The server's config from the template: nginx_config TEMPLATE DIR PORT.
nginx_config() {
	mkdir -p "$2/tmp" "$2/www/static"
	sed -e "s|@DIR@|$2|g" -e "s|@PORT@|$3|g" "$1" >"$2/nginx.conf"
	# 256 KiB of printable bytes (distinct lines, so a misplaced chunk shows)
	[ -f "$2/www/static/large.bin" ] ||
		seq -f "%09g epbatch large response line ........................." 1 4096 |
		head -c 262144 >"$2/www/static/large.bin"
}

# nginx_start DIR PORT ENV...: nginx in the foreground (daemon off) in DIR;
# sets NGINX_PID and HTTP_WWW (its document root).
nginx_start() {
	local dir=$1 port=$2
	shift 2
	nginx_config "$SRVDIR/nginx.conf" "$dir" "$port"
	env "$@" nginx -p "$dir" -e "$dir/error.log" -c "$dir/nginx.conf" >"$dir/server.log" 2>&1 &
	NGINX_PID=$!
	HTTP_WWW=$dir/www
	srv_wait_port "$port" "$NGINX_PID"
}

# http_check PORT SCENARIO: status and body of every response (keep-alive,
# connection-per-request, large), shared with haproxy.sh.
http_check() {
	local port=$1 scen=$2
	case $scen in
	keepalive) "$SRVCHECK" --proto http --port "$port" --conns 8 --requests 4000 --expect-body "hello
" ;;
	close) "$SRVCHECK" --proto http --port "$port" --conns 8 --requests 2000 --mode close --expect-body "hello
" ;;
	large) "$SRVCHECK" --proto http --port "$port" --conns 8 --requests 400 --path /static/large.bin \
		--expect-file "$HTTP_WWW/static/large.bin" &&
	       "$SRVCHECK" --proto http --port "$port" --conns 8 --requests 200 --mode close \
		--path /static/large.bin --expect-file "$HTTP_WWW/static/large.bin" ;;
	esac
}

# http_load PORT SCENARIO SECONDS: wrk, 1 thread, 32 connections.
http_load() {
	local port=$1 scen=$2 secs=$3
	case $scen in
	keepalive) timeout $((secs + 10)) wrk -t1 -c32 -d"${secs}s" --latency "http://127.0.0.1:$port/" ;;
	close) timeout $((secs + 10)) wrk -t1 -c32 -d"${secs}s" --latency -H "Connection: close" \
		"http://127.0.0.1:$port/" ;;
	large) timeout $((secs + 10)) wrk -t1 -c32 -d"${secs}s" --latency \
		"http://127.0.0.1:$port/static/large.bin" ;;
	esac
}

