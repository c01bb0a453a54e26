#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# `epbatch-trace run` and `compare` end to end: a short interleaved run of the
# reference server (baseline, preload, kmod), the files it writes, kmod
# reported as skipped, the shim's effect on epoll syscalls per request (a
# count: nearly deterministic, so asserted), report.html rendered by headless
# Chromium, compare of two summaries, Ctrl-C, and bad input.
. "$(dirname "$0")/../trace/lib.sh"
[ -x "$BUILD/epbatch-bench-server" ] && [ -x "$BUILD/epbatch-load" ] || { echo "reference workload not built"; exit 1; }

# --- a short run --------------------------------------------------------------
R=$T/r1
# The checks below count the shim's batching: it batches every op here
# (EPBATCH_MIN_BATCH=0, inherited by the preload variant's server), so they do
# not depend on what its policy measures on the machine of the day
# (tests/shim/t-shim-policy.sh checks the policy).
EPBATCH_MIN_BATCH=0 "$TRACE" run --variants baseline,preload,kmod --repeat 2 --duration 2 -o "$R" >"$T/run.out" 2>"$T/run.err"
rc=$?
check "run exits 0 (got $rc)" [ $rc = 0 ]
grep -v '^\[' "$T/run.err" | sed 's/^/# /'
for v in baseline preload; do
	for n in 1 2; do
		check "per-run epbatch/1 JSON $v-$n" pyjson "$R/runs/$v-$n.json" "$v" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["schema"] == "epbatch/1" and d["variant"] == sys.argv[2], d.get("variant")
assert d["load"]["requests"] > 0 and "epoll_ctl" in d["totals"]
PY
		check "load JSON $v-$n" test -s "$R/runs/$v-$n.load.json"
	done
done
check "no run file for the skipped kmod" sh -c "! ls '$R'/runs/kmod-* 2>/dev/null"
check "summary.json: schema, keys, kmod skipped with a reason, preload < 0.5x baseline syscalls/req" \
	pyjson "$R/summary.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
assert s["schema"] == "epbatch-summary/1"
assert s["machine"]["cpus"] >= 1 and s["machine"]["kernel"]
assert s["workload"]["mode"] == "oneshot"
assert "kmod" in s["skipped"] and "epoll_batch" in s["skipped"]["kmod"], s["skipped"]
assert "kmod" not in s["variants"]
for v in ("baseline", "preload"):
    o = s["variants"][v]
    assert o["runs"] == 2, (v, o["runs"])
    for k in ("rps", "p99_ms", "epoll_syscalls_per_req", "epoll_syscalls_per_iteration",
              "spin_ns_per_req", "cpu_us_per_req"):
        m = o[k]
        assert len(m["samples"]) == 2 and len(m["ci95"]) == 2, (v, k)
        assert m["ci95"][0] <= m["median"] <= m["ci95"][1], (v, k, m)
    assert o["threads"]["list"], v
base = s["variants"]["baseline"]["epoll_syscalls_per_req"]["median"]
pre = s["variants"]["preload"]["epoll_syscalls_per_req"]["median"]
# oneshot: a MOD per request plus waits without the shim; batched with it
assert base >= 0.9, base
assert pre < 0.5 * base, (pre, base)
assert s["variants"]["preload"]["batch_size"]["median"] > 1
# per loop iteration: a wait and its MODs without the shim; with it, the
# fused submission (its waits counted as iterations, not lost)
bi = s["variants"]["baseline"]["epoll_syscalls_per_iteration"]["median"]
pi = s["variants"]["preload"]["epoll_syscalls_per_iteration"]["median"]
assert bi > 1.5 and 0.9 < pi < 0.75 * bi, (bi, pi)
assert "batch_size" not in s["variants"]["baseline"]
# issue 12, defect 11: what is absent says why
assert s["variants"]["baseline"]["missing"]["batch_size"] == "the shim is not loaded", s["variants"]["baseline"]["missing"]
# defect 14: how spin time was measured, per variant
assert s["variants"]["baseline"]["spin"]["method"] in ("fentry", "kprobe", "sample", "none")
PY
check "report.md opens with readable machine/workload lines and a verdict (defect 14)" sh -c "
	grep -q '^- \*\*machine\*\*: [0-9]* CPUs' '$R/report.md' &&
	grep -q '^- \*\*workload\*\*: epbatch-bench-server, mode oneshot' '$R/report.md' &&
	grep -q '^- preload vs baseline: ' '$R/report.md' &&
	grep -q 'spin time' '$R/report.md' && ! grep -q '{\"' '$R/report.md'"
check "report table on stdout names report.html" grep -q "report: $R/report.html" "$T/run.out"
check "report table has the pair" grep -q "preload vs baseline" "$T/run.out"
check "report.md written" grep -q "epoll syscalls/req" "$R/report.md"
# issue 14: the cost model's prediction next to the measurement, per variant
check "summary.json: preload predicted from the baseline's what_if (CPU, syscalls per request and per iteration)" \
	pyjson "$R/summary.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
assert "predicted" not in s["variants"]["baseline"]
p = s["variants"]["preload"]["predicted"]
for k in ("cpu_us_per_req", "epoll_syscalls_per_req", "epoll_syscalls_per_iteration"):
    o = p[k]
    assert o["from"] == "baseline what_if batch:uring", o
    if o["change"] is None:
        assert o["value"] is None and o["why"], o
    else:
        b = s["variants"]["baseline"][k]["median"]
        assert abs(o["value"] - (b + o["change"])) < 1e-6 and o["baseline"] == b, (o, b)
# oneshot: a MOD per request; if the model says the shim batches, it predicts them gone
e = p["epoll_syscalls_per_req"]
assert e["change"] is None or -1.5 < e["change"] <= 0, e
# per iteration: the same calls gone, over fewer iterations than requests
i = p["epoll_syscalls_per_iteration"]
assert (i["change"] is None) == (e["change"] is None), (i, e)
assert i["change"] is None or i["change"] <= e["change"], (i, e)
PY
check "report.md: the cost model's line per variant and its table" sh -c "
	grep -Eq '^- preload: cost model vs measured: server CPU us/req (agrees|disagrees \(predicted|not predicted: )' '$R/report.md' &&
	grep -Eq 'epoll syscalls/req (agrees|disagrees \(predicted change [-+][0-9.]+, measured [-+][0-9.]+ \[[-+][0-9.]+, [-+][0-9.]+\]\)|not predicted: )' '$R/report.md' &&
	grep -Eq 'epoll syscalls/iter (agrees|disagrees \(predicted|not predicted: )' '$R/report.md' &&
	grep -q '^\*\*the cost model: predicted' '$R/report.md' &&
	grep -Eq 'predicted change +\| measured change' '$R/report.md'"
check "terminal: the cost model's line and table" sh -c "
	grep -q '^  preload: cost model vs measured: ' '$T/run.out' && grep -q 'the cost model: predicted' '$T/run.out'"
check "report.html: the predicted-vs-measured table" grep -q '<table class="predicted">' "$R/report.html"

check "summary.json: the user's EPBATCH_MIN_BATCH is passed on as it was" pyjson "$R/summary.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))["shim_min_batch"]
assert m == {"source": "environment", "value": "0"}, m
PY

# --- without EPBATCH_MIN_BATCH: the shim decides with calibrate's break-evens --------
# (a traced server's shim would measure its own with every syscall slowed by
# the tracer: 2 and 4 ops instead of 16 and 32 on the machine of
# docs/performance.md)
R3=$T/r3
env -u EPBATCH_MIN_BATCH "$TRACE" run --variants preload --repeat 1 --duration 1 -o "$R3" >"$T/pin.out" 2>"$T/pin.err"
check "run without EPBATCH_MIN_BATCH exits 0" [ $? = 0 ]
env -u EPBATCH_MIN_BATCH "$TRACE" calibrate --json "$T/cal.json" >/dev/null 2>&1
check "the preload server's shim used calibrate's break-evens, and summary.json says so" \
	pyjson "$T/cal.json" "$R3/summary.json" "$R3/runs/preload-1.server.log" <<'PY'
import json, re, sys
u = json.load(open(sys.argv[1]))["backends"]["uring"]
m = json.load(open(sys.argv[2]))["shim_min_batch"]
log = open(sys.argv[3]).read()
if u.get("break_even_source") != "shim":
    assert "uring" not in m or m["uring"] is None, m
    sys.exit(0)
f = lambda v: "never" if not v else str(v)
want = "%s,%s,%s" % (f(u["break_even_batch"]), f(u["break_even_batch_poll"]),
                     f(u.get("break_even_batch_conn", u["break_even_batch"])))
assert m == {"source": "calibrate", "uring": want, "kmod": None} or m.get("uring") == want, (m, want)
b, p, c = want.split(",")
line = "min_batch=%s min_batch_poll=%s min_batch_conn=%s" % (b, p, c)
assert line in log, (line, re.findall(r"min_batch=\S+ min_batch_poll=\S+ min_batch_conn=\S+", log))
PY
check "run says where the break-evens come from" grep -q "calibrate's break-evens" "$T/pin.err"

# --- report.html in headless Chromium ----------------------------------------------
if command -v chromium >/dev/null 2>&1; then
	prof=$(mktemp -d)
	timeout 90 chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
		--disable-component-update --disable-sync --no-first-run --user-data-dir="$prof" \
		--dump-dom "file://$R/report.html" >"$T/dom.html" 2>/dev/null
	rm -rf "$prof"
	check "Chromium renders report.html: charts and numbers" pyjson "$T/dom.html" "$R/summary.json" <<'PY'
import json, sys, re
dom = open(sys.argv[1]).read()
s = json.load(open(sys.argv[2]))
for c in ("chart-rps", "chart-epoll_syscalls_per_req", "chart-epoll_syscalls_per_iteration",
          "chart-spin_ns_per_req"):
    assert re.search(r'<svg[^>]*id="%s"' % c, dom), c
assert dom.count("<svg") >= 5
assert dom.count("<rect") >= 6          # a bar per variant per chart
assert "http://" not in dom.replace("http://www.w3.org/2000/svg", "")  # no network resources
pre = s["variants"]["preload"]["epoll_syscalls_per_req"]["median"]
rps = s["variants"]["baseline"]["rps"]["median"]
assert "%.3f" % pre in dom, "%.3f" % pre
assert "%.0f" % rps in dom
assert "no /dev/epoll_batch" in dom
assert "preload vs baseline: " in dom and "spin time" in dom   # the verdict (defect 14)
PY
else
	echo "# chromium not installed: report.html not rendered"
fi

# --- Ctrl-C: stops cleanly, writes what finished ----------------------------------
R2=$T/r2
"$TRACE" run --variants baseline --repeat 4 --duration 2 -o "$R2" >"$T/int.out" 2>"$T/int.err" &
pid=$!
for i in $(seq 300); do [ -s "$R2/runs/baseline-1.json" ] && grep -q '"load"' "$R2/runs/baseline-1.json" && break; sleep 0.1; done
sleep 1
kill -INT $pid
wait $pid
rc=$?
check "interrupted run exits 130 (got $rc)" [ $rc = 130 ]
check "interrupted run wrote summary.json with the finished run" pyjson "$R2/summary.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
assert s["interrupted"] is True
assert 1 <= s["variants"]["baseline"]["runs"] < 4, s["variants"]["baseline"]["runs"]
PY
# (ps, not pgrep -f: a shell running pgrep would match its own command line)
left=$(ps -eo args | grep -c "[e]pbatch-bench-server .*$R2/runs")
check "no server left behind ($left)" [ "$left" = 0 ]

# --- compare ------------------------------------------------------------------------
"$TRACE" compare "$R/summary.json" "$R2/summary.json" >"$T/cmp.out" 2>"$T/cmp.err"
check "compare of two summaries exits 0" [ $? = 0 ]
check "compare pairs baseline with baseline" grep -q "$R2/summary.json:baseline vs $R/summary.json:baseline" "$T/cmp.out"
"$TRACE" compare "$R/summary.json:baseline" "$R/summary.json:preload" --markdown - --html "$T/c.html" >"$T/cmp2.out" 2>&1
check "compare FILE:VARIANT, markdown and html" sh -c "grep -q '| epoll syscalls/req' '$T/cmp2.out' && grep -q '<svg' '$T/c.html'"
check "2 vs 2 repeats: says too few repeats" grep -q "too few repeats" "$T/cmp2.out"

# --- bad input: one line on stderr, non-zero exit -------------------------------------
bad() {
	d=$1; shift
	"$@" >"$T/bad.out" 2>"$T/bad.err"
	rc=$?
	if [ $rc != 0 ] && [ "$(wc -l <"$T/bad.err")" = 1 ]; then ok "$d: $(cat "$T/bad.err")"
	else fail "$d (exit $rc): $(cat "$T/bad.err")"; fi
}
echo '{"schema": "epbatch-summary/1", "variants": {' >"$T/broken.json"
echo '{"schema": "epbatch/1"}' >"$T/other.json"
bad "unknown variant" "$TRACE" run --variants baseline,turbo -o "$T/x"
bad "unknown mode" "$TRACE" run --mode fast -o "$T/x"
bad "server command without --port" "$TRACE" run -o "$T/x" -- /bin/true
bad "compare: missing file" "$TRACE" compare "$T/nope.json" "$R/summary.json"
bad "compare: malformed JSON" "$TRACE" compare "$T/broken.json" "$R/summary.json"
bad "compare: not a summary" "$TRACE" compare "$T/other.json" "$R/summary.json"
bad "compare: unknown variant" "$TRACE" compare "$R/summary.json:turbo" "$R/summary.json"
bad "compare: skipped variant" "$TRACE" compare "$R/summary.json:kmod" "$R/summary.json"
finish
