#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# The tracer's cost on the reference server (oneshot mode, keep-alive load):
# rps untraced vs traced by epbatch-trace (default options), interleaved,
# median of repeats.  The budget: at least 97% of untraced throughput.
#   scripts/bench-trace-server.sh [-r REPEATS] [-d SECONDS] [-o OUT.json]
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
R=5 D=4 OUT=$BUILD/bench/trace-server.json
while getopts r:d:o: c; do
	case $c in
	r) R=$OPTARG ;; d) D=$OPTARG ;; o) OUT=$OPTARG ;;
	*) echo "usage: $0 [-r REPEATS] [-d SECONDS] [-o OUT.json]" >&2; exit 2 ;;
	esac
done
[ "$(id -u)" = 0 ] || { echo "bench-trace-server: needs root" >&2; exit 1; }
T=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$T"; true' EXIT

one() { # one CONFIG: prints rps
	rm -f "$T/ready"
	$BUILD/epbatch-bench-server --mode oneshot --threads 2 --reuseport --ready-file "$T/ready" \
		--stats "$T/stats.json" >/dev/null 2>&1 &
	srv=$!
	i=0; while [ ! -s "$T/ready" ]; do i=$((i + 1)); [ $i -gt 200 ] && exit 1; sleep 0.05; done
	if [ "$1" = epbatch ]; then
		$BUILD/epbatch-trace -p $srv -i 1 >/dev/null 2>"$T/tr.err" &
		tr=$!
		i=0; while ! grep -q "^Tracing" "$T/tr.err"; do i=$((i + 1)); [ $i -gt 200 ] && exit 1; sleep 0.05; done
	fi
	$BUILD/epbatch-load --port "$(cat "$T/ready")" --connections 32 --threads 1 --duration "$D" --out "$T/load.json"
	kill -TERM $srv; wait $srv || true
	[ "$1" = epbatch ] && { wait $tr || true; }
	python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["rps"])' "$T/load.json"
}

for r in $(seq "$R"); do
	for c in none epbatch; do
		v=$(one $c)
		echo "$c $v" >>"$T/results"
		echo "# repeat $r/$R $c: $v rps" >&2
	done
done
mkdir -p "$(dirname "$OUT")"
python3 - "$T/results" "$OUT" <<'PY'
import json, statistics, sys, os
d = {}
for line in open(sys.argv[1]):
    c, v = line.split()
    d.setdefault(c, []).append(float(v))
m = {c: statistics.median(v) for c, v in d.items()}
# paired ratios: each repeat ran both configs back to back
ratios = [t / n for n, t in zip(d["none"], d["epbatch"])]
doc = {"benchmark": "reference server, oneshot, 32 keep-alive connections", "samples": d,
       "median_rps": m, "traced_vs_untraced_median": m["epbatch"] / m["none"],
       "paired_ratios": ratios, "paired_ratio_median": statistics.median(ratios)}
json.dump(doc, open(sys.argv[2] + ".tmp", "w"), indent=2)
os.rename(sys.argv[2] + ".tmp", sys.argv[2])
print("untraced %.0f rps, traced %.0f rps (medians): %.1f%%; paired ratio median %.1f%% (range %.1f-%.1f%%)" %
      (m["none"], m["epbatch"], 100 * m["epbatch"] / m["none"], 100 * statistics.median(ratios),
       100 * min(ratios), 100 * max(ratios)))
PY
