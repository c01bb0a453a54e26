#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Benchmark libepbatch.so on the re-arm loop (64 EPOLLONESHOT fds re-armed
# per iteration): baseline vs each backend, runs interleaved (one of each
# variant per round, so machine noise hits all alike), median of the rounds.
# Writes JSON (default build/bench/shim.json) and prints the ratios.
#   scripts/bench-shim.sh [-r ROUNDS] [-i ITERATIONS] [-n FDS] [-o FILE]
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
rounds=7 iters=5000 nfds=64 out=$BUILD/bench/shim.json
usage() { echo "usage: scripts/bench-shim.sh [-r ROUNDS] [-i ITERATIONS] [-n FDS] [-o FILE]" >&2; exit 2; }
while getopts r:i:n:o: opt; do
	case $opt in
	r) rounds=$OPTARG ;;
	i) iters=$OPTARG ;;
	n) nfds=$OPTARG ;;
	o) out=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# = 0 ] || usage
for v in "$rounds" "$iters" "$nfds"; do
	case $v in '' | *[!0-9]*) echo "bench-shim: '$v' is not a positive integer" >&2; exit 2 ;; esac
	[ "$v" -gt 0 ] || { echo "bench-shim: '$v' is not a positive integer" >&2; exit 2; }
done
SHIM=$BUILD/libepbatch.so LOOP=$BUILD/shim/epbatch-rearm
[ -f "$SHIM" ] && [ -x "$LOOP" ] || make -s "$SHIM" "$LOOP"

variants="baseline sync uring uring-unfused"
[ -e /dev/epoll_batch ] && variants="$variants kmod kmod-unfused"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

run() {
	case $1 in
	baseline) "$LOOP" -n "$nfds" -i "$iters" ;;
	*-unfused) EPBATCH_BACKEND=${1%-unfused} EPBATCH_FUSED=0 LD_PRELOAD=$SHIM "$LOOP" -n "$nfds" -i "$iters" ;;
	*) EPBATCH_BACKEND=$1 LD_PRELOAD=$SHIM "$LOOP" -n "$nfds" -i "$iters" ;;
	esac | sed -n 's/.*"ns_per_iter": \([0-9.]*\).*/\1/p'
}

r=0
while [ $r -lt "$rounds" ]; do
	for v in $variants; do
		ns=$(run $v)
		[ -n "$ns" ] || { echo "bench-shim: variant $v failed" >&2; exit 1; }
		echo "$ns" >>"$tmp/$v"
	done
	r=$((r + 1))
done

median() { sort -n "$1" | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
base=$(median "$tmp/baseline")
mkdir -p "$(dirname "$out")"
{
	printf '{ "schema": "epbatch-bench-shim/1", "loop": "rearm", "fds": %s, "iterations": %s, "rounds": %s,\n' \
		"$nfds" "$iters" "$rounds"
	printf '  "kernel": "%s", "nproc": %s,\n  "variants": {' "$(uname -r)" "$(nproc)"
	sep=""
	for v in $variants; do
		m=$(median "$tmp/$v")
		printf '%s\n    "%s": { "ns_per_iter_median": %s, "speedup_vs_baseline": %s, "samples": [%s] }' \
			"$sep" "$v" "$m" "$(awk -v b="$base" -v m="$m" 'BEGIN { printf "%.2f", b / m }')" \
			"$(paste -sd, "$tmp/$v")"
		sep=","
	done
	printf '\n  }\n}\n'
} >"$out.tmp"
mv "$out.tmp" "$out"
echo "re-arm loop, $nfds fds x $iters iterations, median of $rounds interleaved rounds ($out):"
for v in $variants; do
	m=$(median "$tmp/$v")
	awk -v v="$v" -v b="$base" -v m="$m" -v n="$nfds" 'BEGIN {
		printf "  %-14s %9.1f us/iteration  %5.2fx baseline  %6.0f ns/op\n", v, m / 1000, b / m, m / n }'
done
