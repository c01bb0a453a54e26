#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Benchmark (not a test): throughput of every server mode, measured with
# epbatch-load, repeated and interleaved (round 1: every mode, round 2: every
# mode, ...) so that drift on a shared machine hits all modes alike.
#
#   bench/measure.sh [-d SECONDS] [-r REPEAT] [-c CONNECTIONS] [-t SERVER_THREADS]
#                    [-l LOAD_THREADS] [-o DIR]
#
# Writes DIR/<mode>.<round>.load.json and .server.json, DIR/results.json
# (medians per mode) and prints a markdown table.  Defaults: 5 s, 3 rounds,
# 32 connections, 2 server threads, 1 load thread, DIR = build/bench/modes.
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
dur=5 rep=3 conns=32 threads=2 lthreads=1 out=$BUILD/bench/modes
while getopts :d:r:c:t:l:o: o; do
	case $o in
	d) dur=$OPTARG ;; r) rep=$OPTARG ;; c) conns=$OPTARG ;; t) threads=$OPTARG ;;
	l) lthreads=$OPTARG ;; o) out=$OPTARG ;;
	*) echo "measure.sh: option -$OPTARG is unknown or needs a value; usage: [-d S] [-r N] [-c N] [-t N] [-l N] [-o DIR]" >&2; exit 2 ;;
	esac
done
for b in "$BUILD/epbatch-bench-server" "$BUILD/epbatch-load"; do
	[ -x "$b" ] || { echo "measure.sh: $b is not built (run make)" >&2; exit 1; }
done
mkdir -p "$out"

# name|server flags|load mode
CONFIGS="oneshot|--mode oneshot|keepalive
oneshot-reuseport|--mode oneshot --reuseport|keepalive
oneshot-unshare|--mode oneshot --reuseport --unshare|keepalive
flip|--mode flip|keepalive
conn|--mode conn|close
conn-nodel|--mode conn --no-del|close
conn-reuseport|--mode conn --reuseport|close
conn-unshare|--mode conn --reuseport --unshare|close"

srv=
trap '[ -n "$srv" ] && kill "$srv" 2>/dev/null; true' EXIT
round=1
while [ $round -le "$rep" ]; do
	echo "$CONFIGS" | while IFS='|' read -r name flags lmode; do
		base=$out/$name.$round
		rm -f "$base.ready"
		# shellcheck disable=SC2086
		"$BUILD/epbatch-bench-server" $flags --threads "$threads" --ready-file "$base.ready" \
			--stats "$base.server.json" --max-seconds 120 >/dev/null &
		srv=$!
		i=0
		while [ ! -s "$base.ready" ]; do
			i=$((i + 1)); [ $i -gt 100 ] && { echo "measure.sh: $name did not start" >&2; exit 1; }
			sleep 0.05
		done
		"$BUILD/epbatch-load" --port "$(cat "$base.ready")" --mode "$lmode" --connections "$conns" \
			--threads "$lthreads" --duration "$dur" --out "$base.load.json"
		kill -TERM $srv
		wait $srv
		srv=
		rm -f "$base.ready"
		echo "round $round $name: $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["rps"])' "$base.load.json") rps" >&2
	done
	round=$((round + 1))
done

python3 - "$out" "$rep" "$threads" <<'PY'
import json, os, statistics, sys
out, rep, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
names = ["oneshot", "oneshot-reuseport", "oneshot-unshare", "flip", "conn", "conn-nodel",
         "conn-reuseport", "conn-unshare"]
res = {}
for n in names:
    L = [json.load(open(f"{out}/{n}.{r}.load.json")) for r in range(1, rep + 1)]
    S = [json.load(open(f"{out}/{n}.{r}.server.json")) for r in range(1, rep + 1)]
    def ctl(s, k):
        return sum(t["epoll_ctl"][k] for t in s["threads"])
    # epoll_ctl per request without the fixed set-up (2 ADDs per worker)
    per = [(ctl(s, "add") - 2 * threads + ctl(s, "mod") + ctl(s, "del")) / max(s["requests"], 1) for s in S]
    waits = [sum(t["epoll_wait"] for t in s["threads"]) / max(s["requests"], 1) for s in S]
    res[n] = {
        "rps": {"median": statistics.median(l["rps"] for l in L), "samples": [l["rps"] for l in L]},
        "p99_us": statistics.median(l["latency_us"]["p99"] for l in L),
        "p50_us": statistics.median(l["latency_us"]["p50"] for l in L),
        "errors": sum(l["errors"] for l in L),
        "load_cpu_s": statistics.median(l["cpu_s"]["user"] + l["cpu_s"]["sys"] for l in L),
        "epoll_ctl_per_req": statistics.median(per),
        "epoll_wait_per_req": statistics.median(waits),
    }
tmp = f"{out}/results.json.tmp"
with open(tmp, "w") as f:
    json.dump(res, f, indent=1)
os.rename(tmp, f"{out}/results.json")
print("| mode | rps (median) | samples | p50 us | p99 us | epoll_ctl/req | epoll_wait/req | load CPU s | errors |")
print("|---|---:|---|---:|---:|---:|---:|---:|---:|")
for n, r in res.items():
    print(f"| {n} | {r['rps']['median']:.0f} | {', '.join('%.0f' % x for x in r['rps']['samples'])} | "
          f"{r['p50_us']:.0f} | {r['p99_us']:.0f} | {r['epoll_ctl_per_req']:.3f} | "
          f"{r['epoll_wait_per_req']:.3f} | {r['load_cpu_s']:.2f} | {r['errors']} |")
PY
