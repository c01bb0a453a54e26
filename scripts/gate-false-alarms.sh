#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Measure how often `epbatch-trace gate` cries wolf: A/A pairs (two sets of
# repeats of the same code) gated with the default thresholds.  A benchmark,
# not a test: it reports numbers (docs/ci.md records them).
#
#   scripts/gate-false-alarms.sh [-s SUMMARY] [-r REPEATS] [-k K...] [-n RANDOM_PAIRS]
#   scripts/gate-false-alarms.sh -S SUMMARY SUMMARY...
#
# Without -s it first makes SUMMARY with one interleaved run of the
# reference server (root):
#   epbatch-trace run --variants baseline,preload --repeat REPEATS --duration 2
# Then, per variant and per K (repeats per side), it gates every disjoint
# consecutive block pair (repeats 0..K-1 vs K..2K-1, ...: independent, and
# separated in time like a baseline and a later candidate) and RANDOM_PAIRS
# pairs drawn at random (seeded) from all repeats, and prints per metric how
# many pairs were flagged.  Extra gate flags: GATE_FLAGS="--metrics ...".
#
# With -S, the arguments are summaries of separate runs of the same code (the
# CI situation: a baseline made earlier, a candidate now): every run is gated
# against the next one (plain files: every variant, as CI would), and the
# flagged pairs are counted.
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
TRACE=$BUILD/epbatch-trace
summary='' repeats=40 ks="3 5" nrandom=100 separate=0
while getopts s:r:k:n:S o; do
	case $o in
	S) separate=1 ;;
	s) summary=$OPTARG ;;
	r) repeats=$OPTARG ;;
	k) ks=$OPTARG ;;
	n) nrandom=$OPTARG ;;
	*) exit 2 ;;
	esac
done
T=$(mktemp -d /tmp/epbatch-aa.XXXXXX)
trap 'rm -rf "$T"' EXIT

if [ $separate = 1 ]; then
	shift $((OPTIND - 1))
	n=0 flagged=0 prev=
	: >"$T/metrics"
	for cur in "$@"; do
		if [ -n "$prev" ]; then
			n=$((n + 1))
			# shellcheck disable=SC2086
			if ! "$TRACE" gate --baseline "$prev" --candidate "$cur" ${GATE_FLAGS:-} \
				>"$T/out" 2>&1; then
				flagged=$((flagged + 1))
				echo "# flagged: $prev -> $cur"
				awk '$NF == "REGRESSED" { print $1 "." $2 }' "$T/out" >>"$T/metrics"
			fi
		fi
		prev=$cur
	done
	echo "separate runs: pairs $n  flagged $flagged  by metric:" \
		"$(sort "$T/metrics" | uniq -c | awk '{ printf "%s=%s ", $2, $1 }')"
	exit 0
fi

if [ -z "$summary" ]; then
	out=$BUILD/gate-aa
	echo "# $TRACE run --variants baseline,preload --repeat $repeats --duration 2 -o $out"
	"$TRACE" run --variants baseline,preload --repeat "$repeats" --duration 2 -o "$out" >&2
	summary=$out/summary.json
fi
echo "# summary: $summary"
variants=$(python3 -c 'import json,sys; print(" ".join(json.load(open(sys.argv[1]))["variants"]))' "$summary")

for v in $variants; do
	for k in $ks; do
		rm -rf "$T/pairs"
		python3 tests/gate/fixture.py aa "$summary" "$v" "$k" "$T/pairs" "$nrandom"
		for kind in block random; do
			n=0 flagged=0
			: >"$T/metrics"
			for a in "$T"/pairs/*-"$kind"-a.json; do
				[ -e "$a" ] || continue
				n=$((n + 1))
				# shellcheck disable=SC2086
				if ! "$TRACE" gate --baseline "$a" --candidate "${a%-a.json}-b.json" \
					${GATE_FLAGS:-} >"$T/out" 2>&1; then
					flagged=$((flagged + 1))
					awk '$NF == "REGRESSED" { print $2 }' "$T/out" >>"$T/metrics"
				fi
			done
			[ $n = 0 ] && continue
			printf '%-9s K=%-2s %-6s pairs %4d  flagged %3d (%5.1f%%)  by metric: %s\n' \
				"$v" "$k" "$kind" "$n" "$flagged" \
				"$(echo "$flagged $n" | awk '{ printf "%.1f", 100 * $1 / $2 }')" \
				"$(sort "$T/metrics" | uniq -c | awk '{ printf "%s=%s ", $2, $1 }')"
		done
	done
done
