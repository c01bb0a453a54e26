#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Numbers for docs/real-servers.md (a benchmark, not a test).
#   scripts/servers/bench.sh [--repeat N] [--duration S] [--variant V] [-o DIR] [SERVER:SCENARIO ...]
# For each scenario: N rounds, each running the load once per variant
# (baseline and V, interleaved, in an order that alternates between rounds,
# so drift and a second-run effect hit both), untraced, for the
# rates; then one traced run per variant (epbatch-trace record --children)
# for the epoll syscalls per request.  Prints a markdown table: epoll
# syscalls per request (epoll_ctl + epoll_wait + batch submissions; ctl and
# wait apart) and per event-loop iteration (the same over the trace's
# loop_iterations: its waits, fused ones included), the rps ratio V/baseline as the median of the per-round
# ratios with its distribution-free 95% interval (order statistics; min..max
# below 6 rounds: scripts/lib/median-ci), and the same of the server's CPU
# time per request (its threads' run time during the load, from schedstat:
# lib.sh's "server cpu_s").  Raw outputs go to DIR (default build/servers).
set -u
cd "$(dirname "$0")/../.." || exit 1
repeat=3 dur=3 variant=uring out=${BUILD:-build}/servers
pairs=""
while [ $# -gt 0 ]; do
	case $1 in
	--repeat) repeat=$2; shift 2 ;;
	--duration) dur=$2; shift 2 ;;
	--variant) variant=$2; shift 2 ;;
	-o) out=$2; shift 2 ;;
	-h|--help) sed -n '2,15p' "$0" >&2; exit 2 ;;
	-*) echo "bench.sh: unknown option '$1'" >&2; exit 2 ;;
	*) pairs="$pairs $1"; shift ;;
	esac
done
case "$repeat$dur" in *[!0-9]*|'') echo "bench.sh: --repeat and --duration want whole numbers" >&2; exit 2 ;; esac
[ -n "$pairs" ] || pairs="nginx:keepalive nginx:close nginx:large redis:keepalive redis:close
	memcached:keepalive memcached:close haproxy:keepalive haproxy:close haproxy:large"
mkdir -p "$out" || exit 1

# run SERVER SCENARIO VARIANT TAG [--trace F]: the load's parsed JSON into $out/TAG.json
run() {
	local srv=$1 scen=$2 v=$3 tag=$4
	shift 4
	scripts/servers/"$srv".sh --variant "$v" --scenario "$scen" --load "$dur" "$@" \
		>"$out/$tag.json" 2>"$out/$tag.log" || { echo "bench.sh: $tag failed (see $out/$tag.log)" >&2; return 1; }
}

# epoll syscalls per request from a trace and its load, and per loop
# iteration: "total ctl wait per-iteration"
per_req() {
	local req
	req=$(jq -r '.requests' "$out/$1.json")
	jq -r --argjson r "$req" '.totals | (.epoll_ctl.add + .epoll_ctl.mod + .epoll_ctl.del + .epoll_wait + .batch_submits) as $s |
		[ $s / $r, (.epoll_ctl.add + .epoll_ctl.mod + .epoll_ctl.del) / $r, .epoll_wait / $r,
		  (if .loop_iterations > 0 then $s / .loop_iterations else 0 end) ] | map(. * 1000 | round / 1000) | @tsv' \
		"$out/$1.trace.json"
}

# the server's CPU microseconds per request of a run (lib.sh logs cpu_s)
cpu_us() {
	local c req
	c=$(sed -n 's/.*server cpu_s=\([0-9.]*\).*/\1/p' "$out/$1.log" | tail -n 1)
	req=$(jq -r '.requests' "$out/$1.json")
	awk -v c="${c:-}" -v r="$req" 'BEGIN { if (c != "" && r > 0) printf "%.4f", c * 1e6 / r }'
}

# B C: C / B to 4 places, nothing when either is missing or B is 0
ratio() { awk -v b="$1" -v c="$2" 'BEGIN { if (b > 0 && c != "") printf "%.4f", c / b }'; }

# median and its 95% interval of the numbers given: "median [lo, hi]"
# (scripts/lib/median-ci), "n/a" when there are none
stats() {
	[ $# -gt 0 ] || { echo n/a; return; }
	printf '%s\n' "$@" | scripts/lib/median-ci -f %.3f || echo n/a
}

echo "| server | scenario | epoll syscalls/req baseline (ctl + wait) | $variant (ctl + wait) | per loop iteration: baseline, $variant | rps baseline | rps ratio $variant/baseline, median [95% interval] of $repeat | server CPU us/req baseline | CPU/req ratio $variant/baseline, median [95% interval] |"
echo "|---|---|---|---|---|---|---|---|---|"
for p in $pairs; do
	srv=${p%%:*} scen=${p#*:}
	ratios="" base_rps="" cratios="" base_cpu=""
	for r in $(seq 1 "$repeat"); do
		# the pair's order alternates (baseline first in odd rounds): a
		# second run that is systematically faster or slower (a warm
		# page cache, the load generator's own state) then biases no side
		if [ $((r % 2)) = 1 ]; then first=baseline second=$variant; else first=$variant second=baseline; fi
		run "$srv" "$scen" "$first" "$srv-$scen-$first-$r" || continue
		run "$srv" "$scen" "$second" "$srv-$scen-$second-$r" || continue
		b=$(jq -r '.rps' "$out/$srv-$scen-baseline-$r.json")
		c=$(jq -r '.rps' "$out/$srv-$scen-$variant-$r.json")
		base_rps="$base_rps $b"
		ratios="$ratios $(ratio "$b" "$c")"
		b=$(cpu_us "$srv-$scen-baseline-$r") c=$(cpu_us "$srv-$scen-$variant-$r")
		base_cpu="$base_cpu $b"
		cratios="$cratios $(ratio "$b" "$c")"
	done
	for v in baseline "$variant"; do
		run "$srv" "$scen" "$v" "$srv-$scen-$v-traced" --trace "$out/$srv-$scen-$v-traced.trace.json" || true
	done
	bt=$(per_req "$srv-$scen-baseline-traced" 2>/dev/null) || bt="n/a"
	vt=$(per_req "$srv-$scen-$variant-traced" 2>/dev/null) || vt="n/a"
	fmt() { if [ "$1" = n/a ]; then echo n/a; else echo "$1" | awk -F'\t' '{ printf "%s (%s + %s)", $1, $2, $3 }'; fi; }
	iter() { if [ "$1" = n/a ]; then echo n/a; else echo "$1" | cut -f4; fi; }
	echo "| $srv | $scen | $(fmt "$bt") | $(fmt "$vt") | $(iter "$bt"), $(iter "$vt") | $(stats $base_rps | cut -d' ' -f1) | $(stats $ratios) | $(stats $base_cpu | cut -d' ' -f1) | $(stats $cratios) |"
done
