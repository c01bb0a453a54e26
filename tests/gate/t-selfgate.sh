#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# The project gates itself: a short real comparison of the reference server
# (baseline and preload, 3 repeats of 2 s) is gated on its count metrics
# against the baseline committed in tests/gate/baseline-summary.json, so a
# change that breaks batching fails CI.  Proof that it would: the preload
# variant run again with the shim passing every call straight through
# (EPBATCH_BACKEND=sync: batching broken) must fail the same gate, and the
# run's baseline variant gated against its preload variant as the baseline
# must fail on epoll syscalls per request.
#
# Refresh the committed baseline (same machine type as CI; see docs/ci.md):
#   build/epbatch-trace run --variants baseline,preload --repeat 5 --duration 2 -o /tmp/r
#   build/epbatch-trace gate --candidate /tmp/r/summary.json \
#       --save-baseline tests/gate/baseline-summary.json
set -u
cd "$(dirname "$0")/../.." || exit 1
BUILD=${BUILD:-build}
TRACE=$BUILD/epbatch-trace
BASE=tests/gate/baseline-summary.json
# thresholds from the measured spread of 3-repeat medians (docs/ci.md).
# The baseline's count is 1 MOD per request plus waits per request, and the
# waits follow the load: 1.24 to 1.60 was seen between runs on one machine
# (+29%), so 15% flagged a healthy tree; a server that adds one epoll_ctl
# per request moves it by +60% or more and still fails.
BASELINE_PCT=40
PRELOAD_PCT=100
T=$(mktemp -d /tmp/epbatch-selfgate.XXXXXX)
trap 'rm -rf "$T"' EXIT
fails=0

[ "$(id -u)" = 0 ] || { echo "needs root (real BPF)"; exit 77; }
[ -x "$TRACE" ] && [ -x "$BUILD/libepbatch.so" ] && [ -x "$BUILD/epbatch-bench-server" ] ||
	{ echo "not built: run make"; exit 1; }
[ -r "$BASE" ] || { echo "missing $BASE"; exit 1; }

ok() { echo "ok - $*"; }
fail() { echo "FAIL - $*"; fails=$((fails + 1)); }

# The gate guards the batching itself: the shim batches every op here
# (EPBATCH_MIN_BATCH=0), whatever its policy would measure on the machine of
# the day (under the policy, 0.73 against the committed 0.37 came within 2%
# of the threshold).
export EPBATCH_MIN_BATCH=0
if ! "$TRACE" run --variants baseline,preload --repeat 3 --duration 2 -o "$T/run" \
	>"$T/run.log" 2>&1; then
	sed 's/^/#   /' "$T/run.log"
	echo "epbatch-trace run failed"
	exit 1
fi
ok "run: baseline,preload x 3"

# The gate proper, what CI runs: count metrics against the committed baseline,
# a variant at a time because their noise differs (docs/ci.md, "The project
# gates itself").  The un-batched server's epoll syscalls per request (1 MOD
# + the waits) is stable; the batched one's is mostly epoll_wait calls, whose
# number per request follows the load, so its threshold is wide: breaking
# batching moves it by +400%.  JUnit and Markdown are kept in the test logs.
mkdir -p "$BUILD/test-logs"
GATE_BASELINE="--metrics epoll_syscalls_per_req --threshold epoll_syscalls_per_req=$BASELINE_PCT"
GATE_PRELOAD="--metrics epoll_syscalls_per_req,batch_size
	--threshold epoll_syscalls_per_req=$PRELOAD_PCT --threshold batch_size=$PRELOAD_PCT"
# gate WANT_EXIT NAME VARIANT SUMMARY FLAGS...: JUnit and Markdown as selfgate-NAME.*
gate() {
	want=$1 name=$2 v=$3 sum=$4
	shift 4
	"$TRACE" gate --baseline "$BASE:$v" --candidate "$sum:$v" "$@" \
		--junit "$BUILD/test-logs/selfgate-$name.xml" \
		--markdown "$BUILD/test-logs/selfgate-$name.md" >"$T/out" 2>&1
	rc=$?
	cat "$T/out"
	[ $rc = "$want" ]
}
# shellcheck disable=SC2086
gate 0 baseline baseline "$T/run/summary.json" $GATE_BASELINE &&
	ok "baseline: count metrics within the committed baseline" || fail "baseline: exit $rc"
# shellcheck disable=SC2086
gate 0 preload preload "$T/run/summary.json" $GATE_PRELOAD &&
	ok "preload: count metrics within the committed baseline" || fail "preload: exit $rc"

# batching broken on purpose: the shim passes every epoll_ctl straight through
if EPBATCH_BACKEND=sync "$TRACE" run --variants preload --repeat 3 --duration 2 -o "$T/broken" \
	>"$T/broken.log" 2>&1; then
	# shellcheck disable=SC2086
	gate 1 broken-batching preload "$T/broken/summary.json" $GATE_PRELOAD &&
		grep -q 'epoll_syscalls_per_req.*REGRESSED' "$T/out" &&
		ok "broken batching fails the gate" || fail "broken batching: exit $rc, expected 1"
else
	sed 's/^/#   /' "$T/broken.log"
	fail "run with EPBATCH_BACKEND=sync failed"
fi

# power, live: the un-batched variant is a regression of the batched one
"$TRACE" gate --baseline "$T/run/summary.json:preload" --candidate "$T/run/summary.json:baseline" \
	--metrics epoll_syscalls_per_req >"$T/out" 2>&1
rc=$?
cat "$T/out"
if [ $rc = 1 ] && grep -q 'epoll_syscalls_per_req.*REGRESSED' "$T/out"; then
	ok "baseline vs preload-as-baseline fails on epoll_syscalls_per_req"
else
	fail "baseline vs preload-as-baseline: exit $rc, expected 1 with epoll_syscalls_per_req REGRESSED"
fi

echo "$fails failed checks"
[ "$fails" = 0 ]
