#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# The project gates itself: a short real comparison of the reference server
# (baseline and preload, 3 repeats of 2 s) is gated on its count metrics
# against the baseline committed in tests/gate/baseline-summary.json, so a
# change that breaks batching fails CI.  The same run also proves the gate's
# power live: its baseline variant gated against its preload variant as the
# baseline must fail on epoll syscalls per request.
#
# Refresh the committed baseline (same machine type as CI; see docs/ci.md):
#   build/epbatch-trace run --variants baseline,preload --repeat 5 --duration 2 -o /tmp/r
#   build/epbatch-trace gate --candidate /tmp/r/summary.json \
#       --save-baseline tests/gate/baseline-summary.json
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
TRACE=$BUILD/epbatch-trace
BASE=tests/gate/baseline-summary.json
COUNT_METRICS=epoll_syscalls_per_req,batch_size
T=$(mktemp -d /tmp/epbatch-selfgate.XXXXXX)
trap 'rm -rf "$T"' EXIT
fails=0

[ "$(id -u)" = 0 ] || { echo "needs root (real BPF)"; exit 77; }
[ -x "$TRACE" ] && [ -x "$BUILD/libepbatch.so" ] && [ -x "$BUILD/epbatch-bench-server" ] ||
	{ echo "not built: run make"; exit 1; }
"$TRACE" run --help >/dev/null 2>&1 || { echo "epbatch-trace run is not built in yet (issue 5)"; exit 77; }
[ -r "$BASE" ] || { echo "missing $BASE"; exit 1; }

ok() { echo "ok - $*"; }
fail() { echo "FAIL - $*"; fails=$((fails + 1)); }

if ! "$TRACE" run --variants baseline,preload --repeat 3 --duration 2 -o "$T/run" \
	>"$T/run.log" 2>&1; then
	sed 's/^/#   /' "$T/run.log"
	echo "epbatch-trace run failed"
	exit 1
fi
ok "run: baseline,preload x 3"

# the gate proper: what CI runs (JUnit and Markdown kept in the test logs)
mkdir -p "$BUILD/test-logs"
"$TRACE" gate --baseline "$BASE" --candidate "$T/run/summary.json" --metrics "$COUNT_METRICS" \
	--junit "$BUILD/test-logs/selfgate-junit.xml" --markdown "$BUILD/test-logs/selfgate.md"
rc=$?
[ $rc = 0 ] && ok "count metrics within the committed baseline" ||
	fail "gate against $BASE: exit $rc"

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
