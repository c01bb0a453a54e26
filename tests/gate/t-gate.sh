#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# `epbatch-trace gate` on real repeats: A/A pairs pass, a synthetic 10% rps
# loss fails, the un-batched variant gated against the batched one fails on
# epoll syscalls per request, bad input exits 2 with one line, and the JUnit
# and Markdown outputs parse.
#
# The input is tests/gate/fixtures/reference-summary.json: the repeats of real
# `epbatch-trace run --variants baseline,preload` runs of the reference
# server on the 2-vCPU development machine, pooled (how it was made:
# tests/gate/fixtures/README.md).  No root needed.
set -u
cd "$(dirname "$0")/../.." || exit 1
BUILD=${BUILD:-build}
TRACE=$BUILD/epbatch-trace
FIX=${FIX:-tests/gate/fixtures/reference-summary.json}
PY="python3 tests/gate/fixture.py"
T=$(mktemp -d /tmp/epbatch-gate.XXXXXX)
trap 'rm -rf "$T"' EXIT
fails=0

[ -x "$TRACE" ] || { echo "not built: run make"; exit 1; }
[ -r "$FIX" ] || { echo "missing fixture $FIX"; exit 1; }

ok() { echo "ok - $*"; }
fail() { echo "FAIL - $*"; fails=$((fails + 1)); }

# gate EXPECTED_EXIT DESCRIPTION ARGS...: runs the gate, output in $T/out, $T/err
gate() {
	want=$1 d=$2
	shift 2
	"$TRACE" gate "$@" >"$T/out" 2>"$T/err"
	rc=$?
	if [ "$rc" = "$want" ]; then ok "$d (exit $rc)"; else
		fail "$d: exit $rc, expected $want"
		sed 's/^/#   /' "$T/out" "$T/err"
	fi
}
# regressed METRIC...: exactly these metrics are REGRESSED in $T/out
regressed() {
	got=$(awk '$NF == "REGRESSED" { print $2 }' "$T/out" | sort -u | tr '\n' ' ')
	want=$(for m in "$@"; do echo "$m"; done | sort -u | tr '\n' ' ')
	[ "$got" = "$want" ] && ok "regressed: ${want:-none}" || fail "regressed: '$got', expected '$want'"
}

n=$($PY nsamples "$FIX" baseline rps)
[ "$n" -ge 10 ] || { echo "fixture has $n repeats, 10 needed"; exit 1; }

# --- A/A: disjoint repeats of the same variant must not flag -------------------
for v in baseline preload; do
	$PY split "$FIX" $v 5 "$T/a.json" "$T/b.json"
	gate 0 "A/A $v (5 vs 5 repeats)" --baseline "$T/a.json" --candidate "$T/b.json"
	regressed
done
gate 0 "a summary against itself" --baseline "$FIX" --candidate "$FIX"

# --- power: a synthetic 10% rps loss over 10 repeats must fail, on rps only ----
$PY scale "$FIX" baseline rps 0.90 "$T/slow.json"
gate 1 "10% rps loss" --baseline "$FIX" --candidate "$T/slow.json" \
	--junit "$T/junit.xml" --markdown "$T/gate.md"
regressed rps
grep -q '^PASS\|^FAIL' "$T/out" && ok "verdict line" || fail "no PASS/FAIL line"
# well-formed outputs: one testcase per variant and metric, the failure on rps
if $PY junit "$T/junit.xml" rps 2>"$T/pyerr"; then ok "junit parses, one failure (rps)"
else fail "junit: $(tail -n 1 "$T/pyerr")"; fi
if $PY markdown "$T/gate.md" 14 2>"$T/pyerr"; then ok "markdown table: 2 variants x 7 metrics"
else fail "markdown: $(tail -n 1 "$T/pyerr")"; fi
# the same loss inside a looser threshold passes
gate 0 "10% rps loss under --threshold rps=15" --baseline "$FIX" --candidate "$T/slow.json" \
	--threshold rps=15
gate 0 "10% rps loss under --max-regress-rps 15" --baseline "$FIX" --candidate "$T/slow.json" \
	--max-regress-rps 15
# with only 3 repeats a side the test cannot reach 0.05: said, threshold alone
$PY split "$FIX" baseline 3 "$T/a3.json" "$T/b3.json"
$PY scale "$T/b3.json" baseline rps 0.90 "$T/b3slow.json"
gate 1 "10% rps loss, 3 vs 3 repeats" --baseline "$T/a3.json" --candidate "$T/b3slow.json"
grep -q "cannot reach alpha" "$T/out" && ok "says 3 vs 3 is too few for the test" ||
	fail "no too-few note"

# --- power: losing batching must fail on epoll syscalls per request -----------
gate 1 "baseline gated against preload as baseline" \
	--baseline "$FIX:preload" --candidate "$FIX:baseline" --metrics epoll_syscalls_per_req
regressed epoll_syscalls_per_req
gate 0 "preload gated against baseline (an improvement)" \
	--baseline "$FIX:baseline" --candidate "$FIX:preload" --metrics epoll_syscalls_per_req

# --- a variant that vanished fails, whatever the reason `run` gives -----------
$PY drop "$FIX" preload "$T/lost.json"
gate 1 "preload variant lost" --baseline "$FIX" --candidate "$T/lost.json" --junit "$T/lost.xml"
if $PY junit "$T/lost.xml" "variant present" 2>"$T/pyerr"; then ok "junit shows the lost variant"
else fail "junit: $(tail -n 1 "$T/pyerr")"; fi
$PY drop "$FIX" preload "$T/skipped.json" "every run failed: the server exited with status 1"
gate 1 "preload variant skipped: every run failed" --baseline "$FIX" --candidate "$T/skipped.json"
grep -q "every run failed: the server exited" "$T/out" && ok "says why" || fail "no skip reason"

# --- a metric the candidate no longer measures fails (issue 12, defect 11) ------
python3 - "$FIX" "$T/nocpu.json" <<'PYEOF'
import json, sys
d = json.load(open(sys.argv[1]))
for v in d["variants"].values():
    v.pop("cpu_us_per_req", None)
    v.setdefault("missing", {})["cpu_us_per_req"] = "the server's CPU time could not be read"
json.dump(d, open(sys.argv[2], "w"))
PYEOF
gate 1 "candidate lost a metric" --baseline "$FIX" --candidate "$T/nocpu.json"
grep -q "MISSING" "$T/out" && grep -q "could not be read" "$T/out" && ok "  says MISSING and why" ||
	fail "  no MISSING row with the reason"
gate 0 "--allow-missing accepts it" --baseline "$FIX" --candidate "$T/nocpu.json" --allow-missing

# --- different workloads are refused (issue 12, defect 12) -------------------------
python3 - "$FIX" "$T/nginx.json" <<'PYEOF'
import json, sys
d = json.load(open(sys.argv[1]))
d["workload"] = {"server": "nginx -c /tmp/nginx.conf", "mode": "custom", "load": "wrk -c32"}
json.dump(d, open(sys.argv[2], "w"))
PYEOF
gate 2 "different workloads refused" --baseline "$FIX" --candidate "$T/nginx.json"
[ "$(wc -l <"$T/err")" = 1 ] && grep -q "different workloads" "$T/err" && ok "  one line: $(cat "$T/err")" ||
	fail "  different workloads: $(cat "$T/err")"
gate 0 "--allow-different-workload" --baseline "$FIX" --candidate "$T/nginx.json" --allow-different-workload
grep -q "warning: different workloads" "$T/err" && ok "  warned" || fail "  no warning"
"$TRACE" compare "$FIX" "$T/nginx.json" >"$T/out" 2>"$T/err"
[ $? = 0 ] && grep -q "warning: different workloads" "$T/err" && ok "compare warns about different workloads" ||
	fail "compare does not warn: $(cat "$T/err")"

# --- baselines ------------------------------------------------------------------
gate 0 "--save-baseline" --candidate "$FIX" --save-baseline "$T/saved.json"
gate 0 "the saved baseline gates its own run" --baseline "$T/saved.json" --candidate "$FIX"
gate 1 "no new baseline from a regressed run" --baseline "$FIX" --candidate "$T/slow.json" \
	--save-baseline "$T/not-saved.json"
[ ! -e "$T/not-saved.json" ] && ok "regressed run not saved" || fail "regressed run saved"

# --- bad input: exit 2, one line on stderr, nothing on stdout -------------------
echo '{"schema": "epbatch-summary/1", "variants": ' >"$T/malformed.json"
echo '{"schema": "epbatch/1"}' >"$T/other.json"
bad() {
	d=$1
	shift
	gate 2 "bad input: $d" "$@"
	lines=$(wc -l <"$T/err")
	[ "$lines" = 1 ] && [ ! -s "$T/out" ] && ok "  one line: $(cat "$T/err")" ||
		fail "  $d: $lines lines on stderr, $(wc -c <"$T/out") bytes on stdout"
}
bad "no such file" --baseline "$T/nope.json" --candidate "$FIX"
bad "malformed JSON" --baseline "$T/malformed.json" --candidate "$FIX"
bad "wrong schema" --baseline "$FIX" --candidate "$T/other.json"
bad "unknown variant" --baseline "$FIX:nosuch" --candidate "$FIX"
bad "unknown option" --baseline "$FIX" --candidate "$FIX" --frobnicate
bad "unknown metric" --baseline "$FIX" --candidate "$FIX" --threshold nosuch=5
bad "bad percentage" --baseline "$FIX" --candidate "$FIX" --max-regress lots
bad "bad alpha" --baseline "$FIX" --candidate "$FIX" --alpha 1.5
bad "missing --candidate" --baseline "$FIX"
bad "unwritable --junit" --baseline "$FIX" --candidate "$FIX" --junit /nonexistent/dir/j.xml

echo "$fails failed checks"
[ "$fails" = 0 ]
