#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# shellcheck disable=SC1091,SC2015  # lib.sh; "A && B || fail" is meant
# Third-party clients drive the server: wrk for 2 s per mode (zero socket
# errors, no non-2xx), and ab for HTTP/1.0 with and without keep-alive.
. "$(dirname "$0")/lib.sh"
command -v wrk >/dev/null || skip "wrk is not installed (scripts/deps.sh --servers)"

for mode in oneshot flip conn; do
	hdr=
	[ $mode = conn ] && hdr="Connection: close"
	start_server --mode $mode --threads 2
	if [ -n "$hdr" ]; then
		wrk -t1 -c16 -d2s -H "$hdr" "http://127.0.0.1:$PORT/" >"$TMP/wrk.out" 2>&1
	else
		wrk -t1 -c16 -d2s "http://127.0.0.1:$PORT/" >"$TMP/wrk.out" 2>&1
	fi || { cat "$TMP/wrk.out"; fail "$mode: wrk failed"; }
	stop_server
	cat "$TMP/wrk.out"
	reqs=$(sed -n 's/^ *\([0-9][0-9]*\) requests in.*/\1/p' "$TMP/wrk.out")
	[ -n "$reqs" ] && [ "$reqs" -gt 0 ] || fail "$mode: wrk made no requests"
	grep -q 'Socket errors' "$TMP/wrk.out" && fail "$mode: wrk saw socket errors"
	grep -q 'Non-2xx' "$TMP/wrk.out" && fail "$mode: wrk saw non-2xx responses"
	echo "ok: $mode: wrk $reqs requests, no errors"
done

if command -v ab >/dev/null; then
	start_server --mode oneshot --threads 2
	for k in "" -k; do
		# shellcheck disable=SC2086
		ab -q $k -n 2000 -c 8 "http://127.0.0.1:$PORT/" >"$TMP/ab.out" 2>&1 ||
			{ cat "$TMP/ab.out"; fail "ab $k failed"; }
		grep -q '^Complete requests: *2000$' "$TMP/ab.out" || fail "ab $k: not 2000 complete"
		grep -q '^Failed requests: *0$' "$TMP/ab.out" || fail "ab $k: failed requests"
		grep -q 'Non-2xx' "$TMP/ab.out" && fail "ab $k: non-2xx responses"
		if [ "$k" = -k ]; then
			grep -q '^Keep-Alive requests: *2000$' "$TMP/ab.out" || fail "ab -k: keep-alive not honoured"
		fi
		echo "ok: ab $k: 2000 requests, none failed"
	done
	stop_server
fi
