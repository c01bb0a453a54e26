#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# shellcheck disable=SC1091,SC2015  # lib.sh; "A && B || fail" is meant
# The epoll_ctl contract of docs/bench.md, counted by strace over a known
# number of requests R on C connections with T worker threads:
#   oneshot  ADD = 2T + C   MOD = R    DEL = C
#   flip     ADD = 2T + C   MOD = 2R   DEL = C
#   conn     ADD = 2T + R   MOD = 0    DEL = R   (--no-del: DEL = 0)
# (2T: each worker adds the stop eventfd and its listener at set-up.)
# The server's own per-thread counters must agree with strace.
. "$(dirname "$0")/lib.sh"
command -v strace >/dev/null || skip "strace is not installed"
command -v ss >/dev/null || skip "ss (iproute2) is not installed"

T=2 C=4 R=300
check() {
	label=$1 want_add=$2 want_mod=$3 want_del=$4
	add=$(grep -c 'EPOLL_CTL_ADD' "$TMP/trace")
	mod=$(grep -c 'EPOLL_CTL_MOD' "$TMP/trace")
	del=$(grep -c 'EPOLL_CTL_DEL' "$TMP/trace")
	errs=$(grep -c '= -1' "$TMP/trace")
	[ "$add/$mod/$del" = "$want_add/$want_mod/$want_del" ] ||
		fail "$label: strace counted ADD/MOD/DEL $add/$mod/$del, expected $want_add/$want_mod/$want_del"
	[ "$errs" = 0 ] || fail "$label: $errs epoll_ctl calls failed"
	own=$(json "$TMP/srv.json" '"%d/%d/%d" % tuple(sum(t["epoll_ctl"][k] for t in d["threads"]) for k in ("add","mod","del"))')
	[ "$own" = "$add/$mod/$del" ] || fail "$label: the server counted $own, strace $add/$mod/$del"
	got=$(json "$TMP/srv.json" 'd["requests"]')
	[ "$got" = $R ] || fail "$label: the server answered $got requests, expected $R"
	echo "ok: $label: ADD $add MOD $mod DEL $del for $R requests"
}

# run MODE_ARGS LOAD_MODE: one traced server, R requests, then stop.
run() {
	# shellcheck disable=SC2086
	start_server_traced --threads $T $1
	load --mode "$2" --connections $C --requests $R --duration 30
	[ "$(json "$TMP/load.json" 'd["requests"]')" = $R ] || fail "$1: load did not complete $R requests"
	wait_server_idle
	stop_server 10000
}

run "--mode oneshot" keepalive
check oneshot $((2 * T + C)) $R $C
run "--mode oneshot --reuseport --unshare" keepalive
check "oneshot --reuseport --unshare" $((2 * T + C)) $R $C
run "--mode flip" keepalive
check flip $((2 * T + C)) $((2 * R)) $C
run "--mode flip --reuseport" keepalive
check "flip --reuseport" $((2 * T + C)) $((2 * R)) $C
run "--mode conn" close
check conn $((2 * T + R)) 0 $R
run "--mode conn --no-del" close
check "conn --no-del" $((2 * T + R)) 0 0
# A keep-alive client against conn mode: the server still closes after
# each answer, so the client reconnects and the counts are the same.
run "--mode conn --reuseport" keepalive
check "conn --reuseport (keep-alive client)" $((2 * T + R)) 0 $R
