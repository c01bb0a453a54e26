#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# epbatch-trace calibrate: the epbatch-calibration/1 document (keys, every
# cost > 0), the cache (written atomically, reused without --force, replaced
# with it), bad input, non-root, and the what_if section it feeds in a trace.
. "$(dirname "$0")/lib.sh"

export XDG_CACHE_HOME=$T/cache
REARM=$BUILD/shim/epbatch-rearm

start=$(date +%s)
$TRACE calibrate --json "$T/c.json" >"$T/out" 2>"$T/err"
rc=$?
secs=$(( $(date +%s) - start ))
check "calibrate exits 0" [ "$rc" = 0 ]
[ "$rc" = 0 ] || cat "$T/err"
check "calibrate takes at most ~3 s (took $secs s)" [ "$secs" -le 5 ]
check "the table names the operations" grep -q "epoll_ctl MOD" "$T/out"
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
    assert u["break_even_batch"] is None or 1 <= u["break_even_batch"] < 256
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
	mkdir -p "$T/nobody" && chmod 777 "$T/nobody" "$T"
	XDG_CACHE_HOME=$T/nobody setpriv --reuid=65534 --regid=65534 --clear-groups \
		$TRACE calibrate --json "$T/nobody/c.json" >"$T/o" 2>"$T/e"
	check "as nobody: exit 0" [ $? = 0 ]
	check "as nobody: the document has the costs" pyjson "$T/nobody/c.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["syscall_ns"] > 0 and d["epoll_ctl_ns"]["mod"] > 0
PY
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
finish
