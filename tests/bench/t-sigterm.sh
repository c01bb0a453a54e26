#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# shellcheck disable=SC1091,SC2015  # lib.sh; "A && B || fail" is meant
# Graceful stop: SIGTERM (idle and under load) and SIGINT end the server
# with status 0 within a bound, and the summary is written and complete;
# --max-seconds stops it by itself; --ready-file appears only once ready.
. "$(dirname "$0")/lib.sh"

# Idle: the workers sit in epoll_wait with no timeout; the eventfd wakes them.
start_server --mode oneshot --threads 2
stop_server 1000
[ "$(json "$TMP/srv.json" 'd["stopped_by"]')" = signal ] || fail "idle stop: stopped_by is not signal"
echo "ok: idle SIGTERM, stopped in ${STOP_MS} ms"

# Under load, in every mode: stop while epbatch-load is still running.
for mode in oneshot flip conn; do
	start_server --mode $mode --threads 2 --reuseport
	lm=keepalive; [ $mode = conn ] && lm=close
	"$LOAD" --port "$PORT" --mode $lm --connections 16 --duration 3 --out "$TMP/l.json" 2>/dev/null &
	lpid=$!
	sleep 1
	stop_server 1000
	wait $lpid	# its errors after the stop are expected: the server is gone
	n=$(json "$TMP/srv.json" 'd["requests"]')
	t=$(json "$TMP/srv.json" 'sum(t["requests"] for t in d["threads"])')
	[ "$n" -gt 0 ] && [ "$n" = "$t" ] || fail "$mode: summary requests $n, per-thread sum $t"
	echo "ok: $mode: SIGTERM under load, stopped in ${STOP_MS} ms after $n requests"
done

# SIGINT does the same; the summary goes to stderr without --stats.
"$SRV" --ready-file "$TMP/ready2" --threads 3 --max-seconds 30 >/dev/null 2>"$TMP/err" &
pid=$!
i=0; while [ ! -s "$TMP/ready2" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
kill -INT $pid
wait $pid || fail "SIGINT: exit status $?"
[ "$(wc -l <"$TMP/err")" = 1 ] || fail "SIGINT: expected one summary line on stderr"
[ "$(json "$TMP/err" 'len(d["threads"])')" = 3 ] || fail "SIGINT: summary does not list 3 threads"
echo "ok: SIGINT, summary on stderr"

# --max-seconds: a safety limit that stops the server by itself, cleanly.
t0=$(date +%s%N)
"$SRV" --max-seconds 0.5 --stats "$TMP/max.json" >/dev/null 2>"$TMP/err" || fail "--max-seconds: exit status $?"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ $ms -lt 3000 ] || fail "--max-seconds 0.5 took $ms ms"
[ "$(json "$TMP/max.json" 'd["stopped_by"]')" = max-seconds ] || fail "--max-seconds: stopped_by"
echo "ok: --max-seconds 0.5 stopped after $ms ms"
