#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# The tracer reports exactly the epoll syscalls a workload made, per thread,
# whether it records a command or attaches to a running pid that then exits.
. "$(dirname "$0")/lib.sh"

# expected per thread k: add=(A+B)k mod=(M+B)k del=Dk errors=2Bk waits=Wk
A=40 M=60 D=15 B=4 W=30 N=3
ARGS="--threads $N --adds $A --mods $M --dels $D --bad $B --waits $W"

verify() { # verify FILE WHAT
	pyjson "$1" $A $M $D $B $W $N <<'PY'
import json, sys
f, A, M, D, B, W, N = sys.argv[1], *map(int, sys.argv[2:])
d = json.load(open(f))
assert d["schema"] == "epbatch/1", d["schema"]
th = {t["comm"]: t for t in d["threads"]}
for k in range(1, N + 1):
    t = th.get("ctl-%d" % k)
    assert t, "thread ctl-%d missing: %s" % (k, list(th))
    c = t["epoll_ctl"]
    want = {"add": (A + B) * k, "mod": (M + B) * k, "del": D * k, "errors": 2 * B * k}
    got = {x: c[x] for x in want}
    assert got == want, "ctl-%d: got %s want %s" % (k, got, want)
    assert t["epoll_wait"] == W * k, "ctl-%d waits %d != %d" % (k, t["epoll_wait"], W * k)
    assert c["ns"] is None or c["ns"] > 0
tot = d["totals"]["epoll_ctl"]
s = N * (N + 1) // 2
assert tot["add"] == (A + B) * s and tot["errors"] == 2 * B * s, tot
assert tot["errno"]["add"] == {"EEXIST": B * s}, tot["errno"]
assert tot["errno"]["mod"] == {"ENOENT": B * s}, tot["errno"]
assert d["totals"]["epoll_wait"] == W * s
assert d["spin_method"] in ("fentry", "kprobe", "sample"), d["spin_method"]
PY
}

# record: traced from the first instruction
$TRACE record -T -o "$T/rec.json" -- $CTLGEN $ARGS >"$T/rec.out" 2>&1
check "record exits 0" [ $? = 0 ]
check "record: exact per-thread counts" verify "$T/rec.json"
check "record -T: syscall time measured" pyjson "$T/rec.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["syscall_time"] is True and d["totals"]["epoll_ctl"]["ns"] > 0
PY
check "record: no temp file left" sh -c "! ls $T | grep -q tmp"

# EPOLLEXCLUSIVE ADDs counted apart (the cost model prices their threads'
# batches with the 0-timeout fused wait): epbatch-rearm -x makes 4 ADDs and
# one of them exclusive
$TRACE record -o "$T/excl.json" -- $BUILD/shim/epbatch-rearm -x -n 4 -i 10 >/dev/null 2>&1
check "record: exclusive ADDs counted" pyjson "$T/excl.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
t = d["totals"]
assert t["epoll_ctl"]["add"] == 5 and t["epoll_ctl_exclusive_adds"] == 1, (t["epoll_ctl"], t.get("epoll_ctl_exclusive_adds"))
# the thread that made the ADDs (a "(no thread)" row of spin samples may
# come first)
th = [x for x in d["threads"] if x["epoll_ctl"]["add"]]
assert len(th) == 1 and th[0]["epoll_ctl_exclusive_adds"] == 1, d["threads"]
PY
check "record: ADDs without EPOLLEXCLUSIVE count none" pyjson "$T/rec.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["totals"]["epoll_ctl_exclusive_adds"] == 0, d["totals"]
PY

# -p: attach to a waiting process, which then runs and exits mid-trace
mkfifo "$T/gate"
$CTLGEN $ARGS --gate <"$T/gate" >"$T/ready" &
GEN=$!
exec 3>"$T/gate"	# hold the fifo open: ctlgen reads its gate from it
BGPIDS=$GEN
for i in $(seq 50); do grep -q ready "$T/ready" && break; sleep 0.1; done
$TRACE -p $GEN -i 0.5 --json "$T/live.json" >"$T/live.out" 2>"$T/live.err" &
TR=$!
for i in $(seq 100); do grep -q "^Tracing" "$T/live.err" && break; sleep 0.05; done
kill -USR1 $GEN
wait $TR
rc=$?
exec 3>&-
check "-p: target exiting is not an error (exit 0)" [ $rc = 0 ]
check "-p: summary says the target exited" grep -q "summary (target exited)" "$T/live.out"
check "-p: exact per-thread counts" verify "$T/live.json"
check "-p: table has a row per thread" sh -c "grep -c ' ctl-[123] ' '$T/live.out' | grep -qv '^0$'"
check "-p: TOTAL row" grep -q "TOTAL" "$T/live.out"
# --children: a shell that forks the workload; its threads are traced only
# when the tracer follows forks (in the kernel, from the first fork on)
$TRACE record --children -o "$T/kids.json" -- sh -c "$CTLGEN $ARGS; true" >/dev/null 2>&1
check "record --children follows forked processes" verify "$T/kids.json"
$TRACE record -o "$T/nokids.json" -- sh -c "$CTLGEN $ARGS; true" >/dev/null 2>&1
check "without --children a child's syscalls are not counted" pyjson "$T/nokids.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["totals"]["epoll_ctl"]["add"] == 0, d["totals"]["epoll_ctl"]
PY

# -p --children on a process whose child already exists (nginx's workers
# are started before anyone traces them): found in /proc at attach time
: >"$T/ready2"
sh -c "$CTLGEN $ARGS --gate >'$T/ready2'; true" <"$T/gate" &
SH=$!
exec 3>"$T/gate"
BGPIDS="$BGPIDS $SH"
for i in $(seq 50); do grep -q ready "$T/ready2" && break; sleep 0.1; done
KID=$(sed -n 's/^ready //p' "$T/ready2")
$TRACE -p $SH --children -i 0 --json "$T/tree.json" >/dev/null 2>"$T/tree.err" &
TR=$!
for i in $(seq 100); do grep -q "^Tracing" "$T/tree.err" && break; sleep 0.05; done
kill -USR1 "$KID"
wait $TR
exec 3>&-
check "-p --children follows a child that existed before attach" verify "$T/tree.json"

# --shim-probes: the shim's batches counted from its USDT probes (and only
# with the flag: each hit is a uprobe trap)
SHIM=$BUILD/libepbatch.so
if [ -f "$SHIM" ]; then
	for flag in --shim-probes ""; do
		$TRACE record $flag -o "$T/usdt.json" -- env LD_PRELOAD="$PWD/$SHIM" EPBATCH_BACKEND=uring EPBATCH_MIN_BATCH=0 \
			$BUILD/shim/epbatch-rearm -n 16 -i 50 >/dev/null 2>&1
		check "record ${flag:-without --shim-probes}: shim batches" pyjson "$T/usdt.json" "$flag" <<'PY'
import json, sys
d, flag = json.load(open(sys.argv[1])), sys.argv[2]
s = d["totals"]["shim"]
if flag:
    assert s["flushes"] >= 50 and s["ops"] >= 16 * 50 and s["batch_size"] >= 8, s
else:
    assert s["flushes"] == 0, s
PY
	done
fi

# Event-loop iterations whichever way the waits go: a loop under the shim
# forced to batch (every op deferred) makes each wait an
# IORING_OP_EPOLL_WAIT request where the kernel has it (fused_waits in the
# shim's stats line) and its ops IORING_OP_EPOLL_CTL requests, which no
# syscall count shows; without the shim its iterations are its epoll_wait
# syscalls.
if [ -f "$SHIM" ]; then
	$TRACE record -o "$T/iter.json" -- env LD_PRELOAD="$PWD/$SHIM" EPBATCH_BACKEND=uring EPBATCH_MIN_BATCH=0 \
		EPBATCH_STATS="$T/iter.stats" $BUILD/shim/epbatch-rearm -m keepalive -w block -n 16 -i 50 \
		>"$T/iter.out" 2>&1
	$TRACE record -o "$T/iter0.json" -- $BUILD/shim/epbatch-rearm -m keepalive -w block -n 16 -i 50 \
		>/dev/null 2>&1
	$TRACE record -o "$T/iterc.json" -- env LD_PRELOAD="$PWD/$SHIM" EPBATCH_BACKEND=uring EPBATCH_MIN_BATCH=0 \
		$BUILD/shim/epbatch-rearm -m conn -n 16 -i 50 >/dev/null 2>&1
	check "record: loop iterations and io_uring's epoll requests, exact" \
		pyjson "$T/iter.json" "$T/iter0.json" "$(cat "$T"/iter.stats.* 2>/dev/null)" "$T/iterc.json" <<'PY'
import json, re, sys
d, d0, stats = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), sys.argv[3]
dc = json.load(open(sys.argv[4]))
st = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", stats)}
assert st.get("deferred") == 16 * 50, stats
t = d["totals"]
# every op went through the ring; each wait is one iteration, fused or not
assert st["sync_flushes"] == 0 and t["io_uring_epoll_ctl"] == st["flushed"] == 16 * 50, (t, stats)
assert t["io_uring_epoll_wait"] == st["fused_waits"], (t["io_uring_epoll_wait"], stats)
assert t["loop_iterations"] == t["epoll_wait"] + t["io_uring_epoll_wait"] + t["kmod_waits"] == 50, t
assert t["epoll_ctl"]["mod"] == 0, t["epoll_ctl"]
# the batched ops by op, from each request's command data
assert t["epoll_ctl_batched"] == {"add": 0, "mod": 16 * 50, "del": 0}, t["epoll_ctl_batched"]
# the batches: one io_uring_enter per iteration, each carrying epoll requests,
# each with the loop's 16 MODs (log2 bucket 16-31)
assert t["io_uring_epoll_submits"] == t["io_uring_enter"] == 50, t
assert t["batch_sizes_log2"] == {"16": 50}, t["batch_sizes_log2"]
assert [x["batch_sizes_log2"] for x in d["threads"] if x["loop_iterations"]] == [{"16": 50}], d["threads"]
# what the batches save by the model (a figure: its value is the model's)
w = d["what_if"]
if "skipped" not in w:
    ab = w["already_batched"]
    # of all its ops: the 16 ADDs of its set-up were syscalls
    assert ab["ops"] == 16 * 50 and ab["share"] == round(800 / 816, 3) and ab["per_iteration"] == 16.0, ab
    assert isinstance(ab["cpu_ns_saved_per_s"], (int, float)), ab
    assert all("already_batched" in th["what_if"] for th in d["threads"] if th["loop_iterations"]), d["threads"]
    assert "already_batched" not in d0["what_if"], d0["what_if"]
t0 = d0["totals"]
assert t0["loop_iterations"] == t0["epoll_wait"] == 50, t0
assert t0["io_uring_epoll_ctl"] == t0["io_uring_epoll_wait"] == 0, t0
assert t0["epoll_ctl_batched"] == {"add": 0, "mod": 0, "del": 0}, t0
assert t0["batch_sizes_log2"] == {}, t0
# a connection loop's ADDs and DELs: 50 of each, syscalls or batched
tc = dc["totals"]
b, c = tc["epoll_ctl_batched"], tc["epoll_ctl"]
assert b["add"] + c["add"] == b["del"] + c["del"] == 50 and b["mod"] == c["mod"] == 0, (b, c)
assert b["add"] + b["del"] == tc["io_uring_epoll_ctl"] and b["add"] >= 40, (b, tc)
# each batched DEL went with its fd's close: the shim's fused closes
assert tc["io_uring_epoll_closes"] == b["del"] > 0, (tc["io_uring_epoll_closes"], b)
assert t["io_uring_epoll_closes"] == 0, t
th = [x for x in d["threads"] if x["loop_iterations"]]
assert len(th) == 1 and th[0]["loop_iterations"] == 50, d["threads"]
PY
	# the live table counts those waits too: WAIT/s is the loop's rate,
	# one batch per wait, no epoll_ctl syscall (before, WAIT/s read 0)
	LD_PRELOAD="$PWD/$SHIM" EPBATCH_BACKEND=uring EPBATCH_MIN_BATCH=0 \
		$BUILD/shim/epbatch-rearm -m keepalive -w block -n 16 -i 100000000 >/dev/null 2>&1 &
	lp=$!
	sleep 0.5
	COLUMNS=200 $TRACE -p $lp -d 1 >"$T/iterlive" 2>&1
	kill $lp 2>/dev/null
	wait $lp 2>/dev/null
	# and MOD its batched ops (16 per wait), though no syscall makes them
	check "live table: a shim'd loop's fused waits in WAIT/s, its batched ops in MOD" \
		awk '/TID COMM +ADD +MOD +DEL +CTL\/s +WAIT\/s +CTL\/WAIT +BATCH/ { h = 1; next }
			h && $2 == "epbatch-rearm" && $6 == 0 && $7 > 100 && $9 > 0 && $4 > 10 * $9 &&
			$7 / ($9 / 1) > 0.9 && $7 / ($9 / 1) < 1.1 { ok = 1 } END { exit !ok }' "$T/iterlive"
	# the what-if section says the loop already batches all of its ops
	check "summary: the share of ops already batched" \
		grep -Eq "^already batched: ([0-9]+) of \1 epoll_ctl ops \(100\.0%\) reached the kernel in batches \(io_uring requests \1, module ops 0\), 16\.00 per loop iteration" "$T/iterlive"
fi

# Ctrl-C: the summary and the JSON are still written, exit 0
sleep 30 &
SL=$!
BGPIDS="$BGPIDS $SL"
$TRACE -p $SL --json "$T/int.json" >"$T/int.out" 2>"$T/int.err" &
TR=$!
for i in $(seq 100); do grep -q "^Tracing" "$T/int.err" && break; sleep 0.05; done
kill -INT $TR
wait $TR
check "Ctrl-C: exit 0" [ $? = 0 ]
check "Ctrl-C: summary printed" grep -q "summary" "$T/int.out"
check "Ctrl-C: JSON written" pyjson "$T/int.json" <<'PY'
import json, sys
assert json.load(open(sys.argv[1]))["schema"] == "epbatch/1"
PY

# attach time is a number for the benchmark (scripts/bench-overhead.sh), not a test
sed -n 's/.*\(attached in [0-9]* ms\).*/# \1/p' "$T/live.err"
finish
