#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# epbatch-trace calibrate: the epbatch-calibration/1 document (keys, every
# cost > 0), the break-even as the shim measured it, the cache (written
# atomically, reused without --force, replaced with it), bad input, non-root
# (cache under $XDG_CACHE_HOME, else ~/.cache), io_uring disabled, no module
# (each missing part skipped with its reason, the rest measured, exit 0),
# and the what_if section it feeds in a trace.
. "$(dirname "$0")/lib.sh"

export XDG_CACHE_HOME=$T/cache
REARM=$BUILD/shim/epbatch-rearm

start=$(date +%s)
$TRACE calibrate --json "$T/c.json" >"$T/out" 2>"$T/err"
rc=$?
secs=$(( $(date +%s) - start ))
check "calibrate exits 0" [ "$rc" = 0 ]
[ "$rc" = 0 ] || cat "$T/err"
# its time is a figure, not a check (tests assert behaviour): it follows
# the machine's syscall cost (3 s where one costs ~140 ns, 7 s at ~1 us)
echo "# calibrate took $secs s"
check "the table names the operations" grep -q "epoll_ctl MOD" "$T/out"
check "the table has the connection ops' break-even" grep -q "break-even, conn ops" "$T/out"
# the shim measures that one only in a loop that makes connection ops
# (policy.c conn_break_even): calibrate must run such a loop
if grep -q "break-even, conn ops (shim)" "$T/out"; then
	check "the shim measured the connection ops' break-even" \
		sh -c '! grep "break-even, conn ops (shim)" "$1" | grep -q "not measured"' sh "$T/out"
fi
if [ ! -e /dev/epoll_batch ]; then
	check "no module: the table says why kmod is not measured" \
		grep -q "kmod: not measured: no /dev/epoll_batch" "$T/out"
	check "no module: skipped.kmod in the document" pyjson "$T/c.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert "kmod" not in d["backends"] and "no /dev/epoll_batch" in d["skipped"]["kmod"], d["skipped"]
PY
fi
check "the document" pyjson "$T/c.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["schema"] == "epbatch-calibration/1", d["schema"]
for k in ("kernel", "cpu", "key", "measured_at", "mitigations"):
    assert d[k], k
assert d["syscall_ns"] > 0 and d["epoll_wait_ns"] > 0
assert all(d["epoll_ctl_ns"][k] > 0 for k in ("add", "mod", "del")), d["epoll_ctl_ns"]
u = d["backends"].get("uring")
if u is None:
    assert d["skipped"]["uring"], "no uring and no reason"
else:
    assert sorted(u["per_op_ns"], key=int) == ["1", "2", "4", "8", "16", "64"], u["per_op_ns"]
    assert all(v > 0 for v in u["per_op_ns"].values()), u
    assert u["fused_wait_ns"] >= 0
    # the shim's own measurement (its sizes are 1, 2, 4, 8, 16, 32), not a figure of the model's
    assert u["break_even_source"] == "shim", u
    # connection ops too (the shim's min_batch_conn), since the shim says it
    for k in ("break_even_batch", "break_even_batch_poll", "break_even_batch_conn"):
        assert k in u, (k, u)
        assert u[k] is None or u[k] in (1, 2, 4, 8, 16, 32), (k, u)
assert d["shim_fd_ns"] is None or d["shim_fd_ns"] >= 0
if "kmod" not in d["backends"]:
    assert d["skipped"]["kmod"], "no kmod and no reason"
assert d["shim_op_ns"] is None or d["shim_op_ns"] >= 0
assert d["shim_op_ns"] is not None or d["skipped"]["shim"]
lo, hi = d["spread"]["syscall_ns"]
assert lo <= d["syscall_ns"] <= hi
PY
cache=$(ls "$T"/cache/epbatch/calibration-*.json 2>/dev/null)
check "the cache file is written" [ -f "$cache" ]
check "no temporary file is left" [ "$(ls "$T/cache/epbatch" | wc -l)" = 1 ]
check "the cache equals the --json document" cmp -s "$cache" "$T/c.json"
ino=$(stat -c %i "$cache")

$TRACE calibrate --json "$T/c2.json" >"$T/out2" 2>"$T/err2"
check "second run: exit 0" [ $? = 0 ]
check "second run says cached" grep -q "cached" "$T/out2"
check "second run does not rewrite the cache" [ "$(stat -c %i "$cache")" = "$ino" ]
check "second run reports the same measurement" cmp -s "$T/c.json" "$T/c2.json"

# --env: the shim's own break-evens (and its 0-timeout form) as the
# environment that makes a shim decide by them (what run passes on)
$TRACE calibrate --env >"$T/env" 2>"$T/env.err"
check "--env: exit 0" [ $? = 0 ]
check "--env: the document's break-evens, one line" pyjson "$T/c.json" "$(cat "$T/env")" <<'PY'
import json, sys
u, line = json.load(open(sys.argv[1]))["backends"]["uring"], sys.argv[2]
if u.get("break_even_source") != "shim":
    assert line == "", line
else:
    item = lambda v: "never" if not v else str(v)
    conn = u["break_even_batch_conn"] if "break_even_batch_conn" in u else u["break_even_batch"]
    want = "EPBATCH_MIN_BATCH=%s,%s,%s" % (item(u["break_even_batch"]), item(u["break_even_batch_poll"]), item(conn))
    if u.get("break_even_poll_form"):
        want += " EPBATCH_POLL_FORM=" + u["break_even_poll_form"]
    assert line == want, (line, want)
PY

$TRACE calibrate --force >"$T/out3" 2>"$T/err3"
check "--force: exit 0" [ $? = 0 ]
check "--force measures again (cache replaced by rename)" [ "$(stat -c %i "$cache")" != "$ino" ]
check "--force does not say cached" sh -c "! grep -q 'cached, measured' '$T/out3'"

# a foreign or broken cache file is measured over, never trusted
echo '{"schema": "epbatch-calibration/1"}' >"$cache"
$TRACE calibrate --json "$T/c4.json" >/dev/null 2>&1
check "a broken cache is replaced" pyjson "$cache" <<'PY'
import json, sys
assert json.load(open(sys.argv[1]))["syscall_ns"] > 0
PY

# a cache from before break_even_batch_conn is still used: the connection
# ops' break-even is "not measured" and the MOD one stands in, said so
cp "$cache" "$T/cache.keep"
if pyjson "$cache" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
u = d["backends"].get("uring")
if u is None or u.get("break_even_source") != "shim":
    sys.exit(1)
del u["break_even_batch_conn"]
json.dump(d, open(sys.argv[1], "w"))
PY
then
	$TRACE calibrate --json "$T/c5.json" >"$T/out5" 2>"$T/err5"
	check "a cache without break_even_batch_conn: exit 0" [ $? = 0 ]
	check "a cache without break_even_batch_conn is used" grep -q "cached, measured" "$T/out5"
	check "a cache without break_even_batch_conn: the table says not measured" \
		grep -q "break-even, conn ops (shim) *- *not measured" "$T/out5"
	check "a cache without break_even_batch_conn: no key made up" pyjson "$T/c5.json" <<'PY'
import json, sys
assert "break_even_batch_conn" not in json.load(open(sys.argv[1]))["backends"]["uring"]
PY
else
	ok "# SKIP an old cache: no uring break-even measured by the shim here"
fi
cp "$T/cache.keep" "$cache"

# the key covers the shim it measures: a rebuilt or upgraded libepbatch.so
# (other bytes, same machine) is measured anew, not read from the cache
mkdir -p "$T/tree/shim"
cp "$TRACE" "$T/tree/" && cp "$BUILD/libepbatch.so" "$T/tree/" && cp "$REARM" "$T/tree/shim/"
XDG_CACHE_HOME=$T/cache-tree "$T/tree/epbatch-trace" calibrate >/dev/null 2>&1
XDG_CACHE_HOME=$T/cache-tree "$T/tree/epbatch-trace" calibrate >"$T/out6" 2>&1
check "the same shim: cached" grep -q "cached, measured" "$T/out6"
printf '\0' >>"$T/tree/libepbatch.so"
XDG_CACHE_HOME=$T/cache-tree "$T/tree/epbatch-trace" calibrate >"$T/out7" 2>&1
check "another shim: exit 0" [ $? = 0 ]
check "another shim: measured anew, not cached" sh -c "! grep -q 'cached, measured' '$T/out7'"
check "another shim: a cache file of its own" [ "$(ls "$T/cache-tree/epbatch" | wc -l)" = 2 ]

one_line() {
	d=$1 want=$2; shift 2
	"$@" >"$T/o" 2>"$T/e"
	rc=$?
	if [ "$rc" = "$want" ] && [ "$(wc -l <"$T/e")" = 1 ]; then ok "$d: $(cat "$T/e")"
	else fail "$d: rc=$rc (want $want):"; cat "$T/e"; fi
}
one_line "unknown flag" 2 $TRACE calibrate --frobnicate
one_line "stray argument" 2 $TRACE calibrate now
one_line "unwritable --json" 1 $TRACE calibrate --json /nonexistent/dir/c.json

# not root: still measured (no BPF needed), cached under the user's own directory
if command -v setpriv >/dev/null; then
	mkdir -p "$T/nobody/home" && chmod 777 "$T/nobody" "$T/nobody/home" "$T"
	XDG_CACHE_HOME=$T/nobody setpriv --reuid=65534 --regid=65534 --clear-groups \
		$TRACE calibrate --json "$T/nobody/c.json" >"$T/o" 2>"$T/e"
	check "as nobody: exit 0" [ $? = 0 ]
	check "as nobody: the document has the costs" pyjson "$T/nobody/c.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["syscall_ns"] > 0 and d["epoll_ctl_ns"]["mod"] > 0
assert all(d["epoll_ctl_ns"][k] > 0 for k in ("add", "mod", "del")) and d["epoll_wait_ns"] > 0
PY
	check "as nobody: cached under \$XDG_CACHE_HOME/epbatch" \
		sh -c "ls '$T'/nobody/epbatch/calibration-*.json >/dev/null"
	# no XDG_CACHE_HOME: ~/.cache/epbatch, never /var/cache
	env -u XDG_CACHE_HOME HOME="$T/nobody/home" setpriv --reuid=65534 --regid=65534 --clear-groups \
		$TRACE calibrate >"$T/o" 2>"$T/e"
	check "as nobody without XDG_CACHE_HOME: exit 0" [ $? = 0 ]
	check "as nobody without XDG_CACHE_HOME: cached under ~/.cache/epbatch" \
		sh -c "ls '$T'/nobody/home/.cache/epbatch/calibration-*.json >/dev/null"
else
	ok "# SKIP not root: setpriv is not installed"
fi

# io_uring disabled (kernel.io_uring_disabled = 1, restored on any exit),
# calibrate run as nobody: uring skipped with its reason in the table and the
# JSON, the rest measured.  1, not 2: the sysctl is the whole machine's, and
# at 1 root keeps io_uring (CAP_SYS_ADMIN), so the shim's io_uring in other
# test runs on this machine meanwhile does not fail (at 2 it did).
uring_sysctl=/proc/sys/kernel/io_uring_disabled
if [ -w "$uring_sysctl" ] && command -v setpriv >/dev/null; then
	old=$(cat "$uring_sysctl")
	mkdir -p "$T/nouring" && chmod 777 "$T" "$T/nouring"
	trap 'echo "$old" >"$uring_sysctl"; rm -rf "$T"; [ -n "${BGPIDS:-}" ] && kill $BGPIDS 2>/dev/null' EXIT
	[ "$old" -ge 1 ] || echo 1 >"$uring_sysctl"
	XDG_CACHE_HOME=$T/nouring setpriv --reuid=65534 --regid=65534 --clear-groups \
		$TRACE calibrate --force --json "$T/nouring/c.json" >"$T/o" 2>"$T/e"
	rc=$?
	echo "$old" >"$uring_sysctl"
	trap 'rm -rf "$T"; [ -n "${BGPIDS:-}" ] && kill $BGPIDS 2>/dev/null' EXIT
	check "io_uring disabled: exit 0" [ "$rc" = 0 ]
	check "io_uring disabled: the sysctl is restored" [ "$(cat "$uring_sysctl")" = "$old" ]
	check "io_uring disabled: the table says why" \
		grep -q "uring: not measured: io_uring_setup: .*io_uring_disabled = [12]" "$T/o"
	check "io_uring disabled: skipped in the JSON, the rest measured" pyjson "$T/nouring/c.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert "uring" not in d["backends"], d["backends"]
assert "io_uring_disabled = " in d["skipped"]["uring"], d["skipped"]
assert d["skipped"]["shim"], d["skipped"]
assert d["shim_op_ns"] is None
assert d["syscall_ns"] > 0 and d["epoll_wait_ns"] > 0
assert all(d["epoll_ctl_ns"][k] > 0 for k in ("add", "mod", "del"))
assert d["shim_direct_op_ns"] is not None and d["shim_direct_op_ns"] >= 0
PY
else
	ok "# SKIP io_uring disabled: $uring_sysctl is not writable here, or no setpriv"
fi

# a trace uses the cached calibration: what_if in total and per thread
$TRACE record -o "$T/rec.json" -- $REARM -m keepalive -w block -n 8 -i 20000 -d 2 >/dev/null 2>"$T/rerr"
check "record exits 0" [ $? = 0 ]
check "what_if in the trace" pyjson "$T/rec.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["calibration"]["cached"] is True, d["calibration"]
for w in [d["what_if"]] + [t["what_if"] for t in d["threads"] if t["tid"]]:
    for k in ("batch:uring", "batch:kmod", "unshare"):
        assert "cpu_ns_saved_per_s" in w[k] and "cpu_ns_saved_per_req" in w[k], (k, w[k])
        assert w[k]["assumptions"], k
    assert w["batch:uring"]["ops_per_wait"] == 8.0, w["batch:uring"]
    assert isinstance(w["batch:uring"]["cpu_ns_saved_per_s"], float)
    assert w["unshare"]["upper_bound"] is True
PY

# The model as the shim works, on the loops where bench's cost-model-check
# finds the measured difference large and of one sign in every run
# (docs/cost-model.md): one MOD per wait and connection per request.  What is
# asserted is the prediction (its sign, the shim's mode), never a timing.
if pyjson "$T/c.json" <<'PY'
import json, sys
sys.exit(0 if "uring" in json.load(open(sys.argv[1]))["backends"] else 1)
PY
then
	$TRACE record -o "$T/k1.json" -- $REARM -m keepalive -w block -n 1 -i 20000 -d 2 >/dev/null 2>"$T/rerr"
	check "record K=1 exits 0" [ $? = 0 ]
	# the live summary's what-if table, BATCHED column: a loop all of one
	# kind has 0% or 100% of its calls in batched blocks
	$REARM -m keepalive -w block -n 1 -i 100000000 -d 4 >/dev/null &
	rp=$!
	sleep 0.5
	$TRACE -p $rp -d 1 >"$T/k1live" 2>&1
	kill $rp 2>/dev/null
	wait $rp 2>/dev/null
	check "what-if table: the loop's row has its share batched" \
		awk '/CTL\/WAIT +BATCHED/ { h = 1; next } h && $2 == "epbatch-rearm" && $3 == "1.00" &&
			($4 == "0%" || $4 == "100%") { ok = 1 } END { exit !ok }' "$T/k1live"
	$TRACE record -o "$T/conn.json" -- $REARM -m conn -w block -i 20000 -d 2 >/dev/null 2>"$T/rerr"
	check "record conn exits 0" [ $? = 0 ]
	# Which way the shim goes depends on the machine's break-evens (a
	# single MOD fused with its wait pays where syscalls are dear), so the
	# checks hold the model to the rule: batch exactly when the ops per
	# wait reach the break-even; direct costs the direct path, batching
	# saves what always batching would.
	check "what_if: one op per wait batches iff the break-even is 1" pyjson "$T/k1.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
t = max(d["threads"], key=lambda t: t["epoll_wait"])
w = t["what_if"]["batch:uring"]
be = w["break_even_batch"]
assert abs(w["ops_per_wait"] - 1) < 0.01, w
assert w["shim_mode"] == ("batch" if be == 1 else "direct"), w
if w["shim_mode"] == "direct":
    assert w["cpu_ns_saved_per_s"] <= 0, w
else:
    assert w["cpu_ns_saved_per_s"] == w["always_batch_cpu_ns_saved_per_s"], w
PY
	# EPBATCH_MIN_BATCH in the tracer's environment (run hands the user's
	# value to every process it starts): the model prices the shim as it
	# would batch by it, whatever the calibration measured
	EPBATCH_MIN_BATCH=1 $TRACE record -o "$T/k1env.json" -- $REARM -m keepalive -w block -n 1 -i 2000 -d 2 \
		>/dev/null 2>"$T/rerr"
	EPBATCH_MIN_BATCH=never,never,never $TRACE record -o "$T/k1never.json" -- \
		$REARM -m keepalive -w block -n 1 -i 2000 -d 2 >/dev/null 2>"$T/rerr"
	check "what_if: EPBATCH_MIN_BATCH fixes the model's break-evens" pyjson "$T/k1env.json" "$T/k1never.json" <<'PY'
import json, sys
for f, be, mode in ((sys.argv[1], 1, "batch"), (sys.argv[2], None, "direct")):
    d = json.load(open(f))
    t = max(d["threads"], key=lambda t: t["epoll_wait"])
    w = t["what_if"]["batch:uring"]
    assert w["break_even_batch"] == be and w["shim_mode"] == mode, (f, w)
    assert "set by EPBATCH_MIN_BATCH" in w["assumptions"], w["assumptions"]
    n = sum(t["epoll_ctl"][k] for k in ("add", "mod", "del"))
    assert w["ctl_batched"] == (n if mode == "batch" else 0), (w, n)
PY
	# The BPF side's blocks of waits (the shim's policy's unit): a loop
	# of one MOD per wait puts every block of 16 waits in slot 1, each
	# block with 16 calls (the first: the ADD, then 15 MODs).
	check "epoll_ctl_blocks: one MOD per wait, every block after a block of 1 per wait" pyjson "$T/k1.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
t = max(d["threads"], key=lambda t: t["epoll_wait"])
b = t["epoll_ctl_blocks"]
assert b["waits_per_block"] == 16, b
s = b["after_calls_per_wait"]
assert list(s) == ["1"], b
assert s["1"]["blocks"] == t["epoll_wait"] // 16 and s["1"]["calls"] == 16 * s["1"]["blocks"], (b, t["epoll_wait"])
# the same waits one by one: all but the first block's, each after one call
i = t["epoll_ctl_iterations"]
assert i["waits_per_block"] == 16, i
assert i["after_calls_per_wait"] == {"1": {"1": {"waits": t["epoll_wait"] - 16, "calls": t["epoll_wait"] - 16}}}, \
    (i, t["epoll_wait"])
# a loop all of one kind is batched whole or not at all
w = t["what_if"]["batch:uring"]
n = sum(t["epoll_ctl"][k] for k in ("add", "mod", "del"))
assert w["shim_mode"] in ("batch", "direct"), w
assert w["ctl_batched"] == (0 if w["shim_mode"] == "direct" else n), (w, n)
PY
	check "what_if: conn pairs each DEL with its close, the wait carries the ADD, the pair counts" \
		pyjson "$T/conn.json" "$cache" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
t = max(d["threads"], key=lambda t: t["epoll_wait"])
w = t["what_if"]["batch:uring"]
assert t["close"] >= t["epoll_ctl"]["del"] > 0, t
assert "1.00 carried by the wait" in w["assumptions"], w["assumptions"]
assert w["fused_closes"] == t["epoll_ctl"]["del"], (w, t["epoll_ctl"])
# only connection ops: the break-even of the mix is theirs (null: never)
u = json.load(open(sys.argv[2]))["backends"]["uring"]
assert "for this mix of 100% ADD+DEL" in w["assumptions"], w["assumptions"]
if "break_even_batch_conn" in u:
    assert w["break_even_batch"] == u["break_even_batch_conn"], (w, u)
# an ADD and a DEL per wait: 2 ops against the break-even, the fused DEL too
be = w["break_even_batch"]
assert abs(w["ops_per_wait"] - 2) < 0.01, w
assert w["shim_mode"] == ("batch" if be is not None and be <= 2 else "direct"), w
if w["shim_mode"] == "direct":
    assert w["cpu_ns_saved_per_s"] <= 0, w
PY
	# Calls a batching queue folds away: the double re-arm's second MOD of
	# each fd (8 per wait, and the first pass's 8 into their ADDs), none in
	# the keep-alive or connection loops; never more than that (a pair a
	# thread's move between CPUs splits is lost, so it may count less)
	$TRACE record -o "$T/dbl.json" -- $REARM -m double -w block -n 8 -i 20000 -d 2 >/dev/null 2>"$T/rerr"
	check "record double exits 0" [ $? = 0 ]
	check "epoll_ctl_coalescible: half the double re-arm's calls, none of keep-alive's or conn's" \
		pyjson "$T/dbl.json" "$T/k1.json" "$T/conn.json" <<'PY'
import json, sys
top = lambda f: max(json.load(open(f))["threads"], key=lambda t: t["epoll_wait"])
t = top(sys.argv[1])
want = 8 * t["epoll_wait"] + 8
assert t["epoll_ctl"]["mod"] == 16 * t["epoll_wait"], t["epoll_ctl"]
assert 0.95 * want <= t["epoll_ctl_coalescible"] <= want, (t["epoll_ctl_coalescible"], want)
# folding saves a quarter of the calls or more: the shim batches whatever its break-even
assert t["what_if"]["batch:uring"]["shim_mode"] == "batch", t["what_if"]["batch:uring"]
assert "folded away" in t["what_if"]["batch:uring"]["assumptions"]
for f in sys.argv[2:]:
    assert top(f)["epoll_ctl_coalescible"] == 0, (f, top(f)["epoll_ctl_coalescible"])
PY
	# An EPOLLEXCLUSIVE registration made before the tracer came: the
	# reference server's shared listener, in each worker's instance.  The
	# trace reads it from /proc (the instance each thread waits on) and
	# prices the fused wait in its 0-timeout form; with --reuseport there
	# is none.
	for rp in "" --reuseport; do
		rm -f "$T/ready"
		$BUILD/epbatch-bench-server --mode conn --threads 2 $rp --ready-file "$T/ready" \
			--max-seconds 30 >/dev/null 2>&1 &
		srv=$!
		BGPIDS="$BGPIDS $srv"
		i=0
		while [ ! -s "$T/ready" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
		$BUILD/epbatch-load --port "$(cat "$T/ready")" --connections 8 --duration 3 --mode close \
			--out /dev/null >/dev/null 2>&1 &
		ld=$!
		sleep 0.5
		$TRACE -p $srv -d 1 --json "$T/x$rp.json" >/dev/null 2>&1
		wait $ld
		kill $srv 2>/dev/null
		wait $srv 2>/dev/null
		check "what_if: the waited instance's EPOLLEXCLUSIVE registrations (${rp:-shared listener})" \
			pyjson "$T/x$rp.json" "${rp:-shared}" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
shared = sys.argv[2] == "shared"
ws = [t for t in d["threads"] if t["epoll_wait"] > 0]
assert len(ws) == 2, ws
for t in ws:
    assert t["epoll_wait_fd"] is not None and t["epoll_wait_fd"] >= 0, t
    assert t["epoll_wait_fd_exclusive"] == (1 if shared else 0), t
    a = t["what_if"]["batch:uring"]["assumptions"]
    assert ("registrations with EPOLLEXCLUSIVE" in a) == shared, a
PY
	done
else
	ok "# SKIP the model on the shim's loops: no io_uring here"
fi
finish
