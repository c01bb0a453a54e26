#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Hundreds of threads: every one gets its own exact row (no slot lost, no
# lock in the tracer to serialize them), and --bpf-stats reports the
# tracer's own BPF run time.
. "$(dirname "$0")/lib.sh"

N=300
# at most 16 threads at a time hold their fds (thread k holds 2k+2: all 300
# at once would pass the fd limit, which happened where syscalls are slow)
$TRACE record --bpf-stats -o "$T/many.json" -- $CTLGEN --threads $N --adds 2 --mods 3 --dels 1 --waits 2 \
	--concurrency 16 >"$T/out" 2>&1
check "record of $N threads exits 0" [ $? = 0 ]
pyjson "$T/many.json" $N <<'PY' && ok "$N threads, each exact" || fail "$N threads"
import json, sys
d, n = json.load(open(sys.argv[1])), int(sys.argv[2])
th = {t["comm"]: t for t in d["threads"] if t["comm"].startswith("ctl-")}
assert len(th) == n, len(th)
for k in range(1, n + 1):
    c = th["ctl-%d" % k]["epoll_ctl"]
    assert (c["add"], c["mod"], c["del"]) == (2 * k, 3 * k, k), (k, c)
    assert th["ctl-%d" % k]["epoll_wait"] == 2 * k
    assert th["ctl-%d" % k]["exited"] is True
b = d["bpf"]
assert b["stats_enabled"] and b["run_cnt"] > 0 and b["run_time_ns"] > 0, b
print("# bpf: %d runs, %.1f us total" % (b["run_cnt"], b["run_time_ns"] / 1e3))
PY
finish
