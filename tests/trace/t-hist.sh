#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# -T log2 histograms per thread (issue 13): epoll_ctl time by op, wait time and
# events per wait, each summing to ctlgen's exact counts; --hist prints bars,
# also of the blocks of waits by epoll_ctl calls per wait.
. "$(dirname "$0")/lib.sh"

A=40 M=60 D=15 B=4 W=30 N=3
ARGS="--threads $N --adds $A --mods $M --dels $D --bad $B --waits $W"

$TRACE record --hist -o "$T/h.json" -- $CTLGEN $ARGS >"$T/h.out" 2>&1
check "record --hist exits 0" [ $? = 0 ]
check "-T histograms sum to the exact per-thread counts" pyjson "$T/h.json" $A $M $D $B $W $N <<'PY'
import json, sys
f, A, M, D, B, W, N = sys.argv[1], *map(int, sys.argv[2:])
d = json.load(open(f))
assert d["syscall_time"] is True
th = {t["comm"]: t for t in d["threads"]}
for k in range(1, N + 1):
    t = th["ctl-%d" % k]
    h = t["epoll_ctl"]["hist_log2_ns"]
    want = {"add": (A + B) * k, "mod": (M + B) * k, "del": D * k}
    got = {op: sum(h[op].values()) for op in want}
    assert got == want, "ctl-%d: %s != %s" % (k, got, want)
    for op in want:   # keys are powers of two (bucket lower bounds)
        assert all(int(x) & (int(x) - 1) == 0 for x in h[op]), h[op]
    assert sum(t["epoll_wait_hist_log2_ns"].values()) == W * k
    # ctlgen's waits return 8 events each (maxevents 8, all ready): bucket 8-15
    assert t["epoll_wait_events_hist_log2"] == {"8": W * k}, t["epoll_wait_events_hist_log2"]
    # its waits in blocks of 16 (always kept, -T or not): as many as it completed
    b = t["epoll_ctl_blocks"]["after_calls_per_wait"]
    assert sum(v["blocks"] for v in b.values()) == W * k // 16, b
tot = d["totals"]["epoll_ctl"]["hist_log2_ns"]
assert sum(tot["mod"].values()) == (M + B) * N * (N + 1) // 2
PY
check "--hist: bars for every op, the waits and events" sh -c \
	"grep -q 'all threads: epoll_ctl MOD time' '$T/h.out' && grep -q 'events returned per epoll wait' '$T/h.out' \
	 && grep -q 'tid [0-9]* (ctl-3): epoll_ctl ADD time' '$T/h.out' && grep -q '8 -> 15 *: *$((W * 3)) ' '$T/h.out' \
	 && grep -q 'all threads: blocks of 16 epoll waits by epoll_ctl calls per wait' '$T/h.out'"
# ctlgen makes its calls, then its waits: past each thread's first 16 waits,
# every wait follows none (30, 60 and 90 waits: 14 + 44 + 74)
check "--hist: epoll_ctl calls per wait, the first block of each thread left out" sh -c \
	"grep -A2 '^all threads: epoll_ctl calls per epoll wait' '$T/h.out' | grep -Eq '^ +0 : 132 '"

$TRACE record -o "$T/n.json" -- $CTLGEN $ARGS >/dev/null 2>&1
check "without -T: no histograms (nothing timed)" pyjson "$T/n.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
for t in d["threads"]:
    assert "hist_log2_ns" not in t["epoll_ctl"] and "epoll_wait_hist_log2_ns" not in t, t
PY
finish
