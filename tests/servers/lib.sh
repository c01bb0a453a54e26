# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# shellcheck shell=bash
# Shared part of tests/servers/t-*.sh: run a server's scenarios with --check
# for the baseline and every shim backend this machine has.
set -u
cd "$(dirname "$0")/../.." || exit 1
BUILD=${BUILD:-build}
export BUILD

# needs SERVER_BIN... on PATH, root (servers drop privileges to nobody) and the helpers
servers_require() {
	local b
	for b in "$@"; do
		command -v "$b" >/dev/null || { echo "$b is not installed (scripts/deps.sh --servers)"; exit 77; }
	done
	[ "$(id -u)" = 0 ] || { echo "needs root"; exit 77; }
	[ -x "$BUILD/tests/srvcheck" ] ||
		{ echo "$BUILD/tests/srvcheck not built (the Makefile must include tests/servers/build.mk)"; exit 77; }
	[ -f "$BUILD/libepbatch.so" ] || { echo "FAIL: no $BUILD/libepbatch.so"; exit 1; }
}

# servers_batched VARIANT OUTPUT: a +batch variant must have deferred ops
# (the shim's summed counters, "shim: ... deferred=N"), or it tested nothing
# of the batching; any other variant passes.
servers_batched() {
	case $1 in *+batch) ;; *) return 0 ;; esac
	local n
	n=$(echo "$2" | sed -n 's/.*shim:.* deferred=\([0-9]*\).*/\1/p' | tail -n 1)
	[ "${n:-0}" -gt 0 ] && return 0
	echo "#   $1: no op was deferred (deferred=${n:-none})"
	return 1
}

# servers_run SCRIPT SCENARIO...: every scenario under every variant; prints
# one line per run and returns non-zero if any failed.
servers_run() {
	local script=$1 fails=0 v s out t0
	shift
	# shellcheck disable=SC1091
	for v in baseline $(SRV_NAME=t . scripts/servers/lib.sh && srv_backends); do
		for s in "$@"; do
			t0=$(date +%s)
			if out=$(scripts/servers/"$script".sh --variant "$v" --scenario "$s" --check 2>&1) &&
			   servers_batched "$v" "$out"; then
				echo "ok - $script $s $v ($(( $(date +%s) - t0 ))s)"
			else
				echo "not ok - $script $s $v"
				echo "$out" | sed 's/^/#   /'
				fails=$((fails + 1))
			fi
		done
	done
	[ $fails = 0 ]
}

# servers_traced SCRIPT SCENARIO PROCS: the scenario's load under the shim,
# traced (--trace): one document for the server's process tree, each thread
# once, the totals their sum, at least PROCS processes seen.  One recorder
# per process besides counted every worker of nginx twice.
servers_traced() {
	local script=$1 s=$2 procs=$3 tr
	tr=$(mktemp "${TMPDIR:-/tmp}/t-$script-trace.XXXXXX")
	if scripts/servers/"$script".sh --variant auto --scenario "$s" --load 2 --trace "$tr.json" \
		>"$tr.out" 2>&1 &&
	   jq -e --argjson procs "$procs" '
		([.threads[] | [.tid, .tgid]] | length) == ([.threads[] | [.tid, .tgid]] | unique | length) and
		.totals.epoll_wait == ([.threads[].epoll_wait] | add) and .totals.epoll_wait > 0 and
		([.threads[] | select(.epoll_wait > 0) | .tgid] | unique | length) >= $procs' \
		"$tr.json" >/dev/null; then
		echo "ok - $script $s traced: each thread once, the totals their sum"
		rm -f "$tr" "$tr.json" "$tr.out"
		return 0
	fi
	echo "not ok - $script $s traced: each thread once, the totals their sum"
	sed 's/^/#   /' "$tr.out"
	[ -f "$tr.json" ] && jq -c '[.threads[] | {tid, tgid, epoll_wait}], .totals.epoll_wait' "$tr.json" | sed 's/^/#   /'
	rm -f "$tr" "$tr.json" "$tr.out"
	return 1
}
