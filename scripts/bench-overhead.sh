#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# The tracer's overhead on the worst case: a loop of epoll_ctl(MOD) syscalls.
# Side by side in one run, interleaved (A B C ... A B C ...), median of
# repeats: untraced, empty BPF programs on the same hooks (the floor any
# syscall-tracepoint tracer pays), epbatch-trace (table; and with --json,
# which turns on BPF run-time stats; --stacks at its default period and at
# --stack-period 1), bpftrace counting by tid, strace -c -f
# and perf trace -s.  Writes $OUT (JSON) and prints a markdown table.
#   scripts/bench-overhead.sh [-r REPEATS] [-n ITERS] [-o OUT.json]
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
R=5 N=2000000 OUT=$BUILD/bench/overhead.json
while getopts r:n:o: c; do
	case $c in
	r) R=$OPTARG ;; n) N=$OPTARG ;; o) OUT=$OPTARG ;;
	*) echo "usage: $0 [-r REPEATS] [-n ITERS] [-o OUT.json]" >&2; exit 2 ;;
	esac
done
[ "$(id -u)" = 0 ] || { echo "bench-overhead: needs root" >&2; exit 1; }
make -s "$BUILD/epbatch-trace" "$BUILD/tests/ctl-loop" "$BUILD/tests/empty-load"
LOOP=$BUILD/tests/ctl-loop
T=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$T"; true' EXIT
SLOW_N=$((N / 20))	# strace and perf trace are 20-35x slower: same rate, less time

wait_for() { # wait_for FILE PATTERN
	i=0
	while ! grep -q "$2" "$1" 2>/dev/null; do
		i=$((i + 1)); [ $i -gt 300 ] && { echo "timeout waiting for '$2' in $1" >&2; cat "$1" >&2; exit 1; }
		sleep 0.05
	done
}

# run_gated ITERS TRACER-CMD...: start the loop held, attach CMD (with PID
# substituted), release, print ns_per_call.
run_gated() {
	n=$1; shift
	: >"$T/loop.out"; : >"$T/tr.out"
	$LOOP --iters "$n" --gate >"$T/loop.out" 2>&1 &
	lp=$!
	wait_for "$T/loop.out" ready
	cmd=$(echo "$*" | sed "s/PID/$lp/g")
	sh -c "exec $cmd" >"$T/tr.out" 2>&1 &
	tp=$!
	case $1 in
	*epbatch-trace*) wait_for "$T/tr.out" "^Tracing" ;;
	bpftrace*) wait_for "$T/tr.out" "probes-ready" ;;	# BEGIN runs once all probes are attached
	strace*) wait_for "$T/tr.out" "attached" ;;
	perf*) sleep 4 ;;		# perf trace prints nothing until it is done
	esac
	kill -USR1 $lp
	wait $lp
	sed -n 's/.*attached in \([0-9]*\) ms.*/\1/p' "$T/tr.out" >>"$T/attach"
	[ -n "${DEBUG:-}" ] && { echo "--- $1" >&2; tail -n 5 "$T/tr.out" >&2; }
	# background jobs of a script start with SIGINT ignored: bpftrace keeps
	# that, so it gets SIGTERM; anything still there after 5 s is killed
	# (a tracer may be gone already: strace leaves when its tracee exits)
	case $1 in bpftrace*) kill -TERM $tp 2>/dev/null || true ;; *) kill -INT $tp 2>/dev/null || true ;; esac
	i=0
	while kill -0 $tp 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
	kill -KILL $tp 2>/dev/null || true
	wait $tp 2>/dev/null || true
	loop_result "$T/loop.out"
}

# "WALL CPU" ns per call from the loop's output
loop_result() { awk '/^ns_per_call/ { w = $2 } /^cpu_ns_per_call/ { c = $2 } END { print w, c }' "$1"; }

run_config() {
	case $1 in
	none) $LOOP --iters "$N" >"$T/loop.out"; loop_result "$T/loop.out" ;;
	empty)
		$BUILD/tests/empty-load >"$T/empty.out" 2>&1 &
		ep=$!
		wait_for "$T/empty.out" attached
		$LOOP --iters "$N" >"$T/loop.out"; loop_result "$T/loop.out"
		kill -INT $ep; wait $ep ;;
	epbatch) run_gated "$N" "$BUILD/epbatch-trace -p PID -i 1" ;;
	epbatch-json) run_gated "$N" "$BUILD/epbatch-trace -p PID -i 1 --json $T/o.json" ;;
	epbatch-nospin) run_gated "$N" "$BUILD/epbatch-trace -p PID -i 1 --spin-method none" ;;
	epbatch-5khz) run_gated "$N" "$BUILD/epbatch-trace -p PID -i 1 --spin-method sample --sample-hz 4999" ;;
	epbatch-T) run_gated "$N" "$BUILD/epbatch-trace -p PID -i 1 -T" ;;
	epbatch-stacks) run_gated "$N" "$BUILD/epbatch-trace -p PID -i 1 --stacks" ;;
	epbatch-stacks1) run_gated "$N" "$BUILD/epbatch-trace -p PID -i 1 --stacks --stack-period 1" ;;
	epbatch-stats) run_gated "$N" "$BUILD/epbatch-trace -p PID -i 1 --bpf-stats --json $T/o.json" ;;
	# the whole machine (docs/tracer.md): every process, and each kernel-side filter
	# matching the loop (the cgroup v2 root: the ancestor-id compare on every event)
	epbatch-all) run_gated "$N" "$BUILD/epbatch-trace -a -i 1" ;;
	epbatch-comm) run_gated "$N" "$BUILD/epbatch-trace --comm ctl-loop -i 1" ;;
	epbatch-cgroup) run_gated "$N" "$BUILD/epbatch-trace --cgroup $(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts) -i 1" ;;
	bpftrace)
		# BEGIN fires once every probe is attached: that is when to start
		cat >"$T/count.bt" <<'BT'
BEGIN { printf("probes-ready\n"); }
tracepoint:syscalls:sys_enter_epoll_ctl /pid == $1/ { @[tid] = count(); }
BT
		run_gated "$N" "bpftrace $T/count.bt PID" ;;
	strace) run_gated "$SLOW_N" "strace -c -f -p PID" ;;
	perf-trace) run_gated "$SLOW_N" "perf trace -s -p PID" ;;
	esac
}

CONFIGS="none empty epbatch epbatch-nospin epbatch-5khz epbatch-json epbatch-T epbatch-stats epbatch-stacks epbatch-stacks1"
ONLY=${ONLY:-}
command -v bpftrace >/dev/null && CONFIGS="$CONFIGS bpftrace"
command -v strace >/dev/null && CONFIGS="$CONFIGS strace"
perf trace --help >/dev/null 2>&1 || perf list >/dev/null 2>&1 && CONFIGS="$CONFIGS perf-trace"
# the whole machine and its filters (docs/overhead.md)
CONFIGS="$CONFIGS epbatch-all epbatch-comm"
grep -q " cgroup2 " /proc/mounts && CONFIGS="$CONFIGS epbatch-cgroup"

[ -n "$ONLY" ] && CONFIGS="none $ONLY"
for r in $(seq "$R"); do
	for c in $CONFIGS; do
		v=$(run_config "$c")
		echo "$c $v" >>"$T/results"
		printf '# repeat %s/%s %-13s wall/cpu ns per call: %s\n' "$r" "$R" "$c" "$v" >&2
	done
done
echo >&2
mkdir -p "$(dirname "$OUT")"
touch "$T/attach"
python3 - "$T/results" "$OUT" "$N" "$R" "$T/attach" <<'PY'
import json, statistics, sys, os, platform
res, out, n, r = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
attach = [float(x) for x in open(sys.argv[5]).read().split()]
wall, cpu = {}, {}
for line in open(res):
    c, w, u = line.split()
    wall.setdefault(c, []).append(float(w))
    cpu.setdefault(c, []).append(float(u))
mw = {c: statistics.median(v) for c, v in wall.items()}
mc = {c: statistics.median(v) for c, v in cpu.items()}
# ptrace-based tracers stop the tracee: their cost is in wall time only
ptrace = {"strace", "perf-trace"}
def cost(c):
    return mw[c] if c in ptrace else mc[c]
base_w, base_c = mw["none"], mc["none"]
rows = []
for c in wall:
    b = base_w if c in ptrace else base_c
    rows.append({"config": c, "wall_ns_per_call_median": mw[c], "cpu_ns_per_call_median": mc[c],
                 "wall_samples": wall[c], "cpu_samples": cpu[c],
                 "measure": "wall" if c in ptrace else "cpu",
                 "throughput_vs_untraced": b / cost(c)})
doc = {"benchmark": "epoll_ctl MOD loop", "iters": n, "repeats": r,
       "epbatch_attach_ms": {"median": statistics.median(attach) if attach else None,
                             "max": max(attach) if attach else None, "samples": attach},
       "kernel": platform.release(), "configs": rows}
tmp = out + ".tmp"
json.dump(doc, open(tmp, "w"), indent=2)
os.rename(tmp, out)
print("| tracer | CPU ns per epoll_ctl | wall ns per epoll_ctl | throughput vs untraced |")
print("|---|---|---|---|")
for row in rows:
    print("| %s | %.0f | %.0f | %.1f%% (%s) |" % (row["config"], row["cpu_ns_per_call_median"],
          row["wall_ns_per_call_median"], 100 * row["throughput_vs_untraced"], row["measure"]))
if attach:
    print("\nepbatch-trace attach time: median %.0f ms, max %.0f ms (%d attaches)" %
          (statistics.median(attach), max(attach), len(attach)))
base = base_c
med = mc
e, t = med.get("empty"), med.get("epbatch")
if e and t:
    print("\nepbatch-trace vs empty programs on the same hooks: %.1f points" %
          (100 * base / e - 100 * base / t))
PY
