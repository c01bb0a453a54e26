#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Run epbatch's test suites and print one line per test (TAP-like) and, last,
# "N passed, N failed" (the line CI reads).
#
# A test is an executable that exits 0 (pass), 77 (skip: says why on its
# last output line) or anything else (fail).  Tests are found in:
#   $BUILD/tests/test-*            compiled unit tests        (--unit runs only these)
#   tests/*/t-*.sh, tests/t-*.sh   integration scripts (root, real BPF, guests)
# Each runs with a time limit (TEST_TIMEOUT, default 600 s): a hang is a failure.
#   tests/run-tests.sh [--unit] [PATTERN]   PATTERN filters by test name (grep -E)
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
export BUILD
TEST_TIMEOUT=${TEST_TIMEOUT:-600}
unit_only=0
[ "${1:-}" = --unit ] && { unit_only=1; shift; }
pattern=${1:-.}

list() {
	for t in "$BUILD"/tests/test-*; do [ -x "$t" ] && echo "$t"; done
	[ $unit_only = 1 ] && return
	for t in tests/t-*.sh tests/*/t-*.sh; do [ -x "$t" ] && echo "$t"; done
}

pass=0 fail=0 skip=0 n=0 failed=""
logdir=$BUILD/test-logs
mkdir -p "$logdir"
for t in $(list | grep -E -- "$pattern"); do
	n=$((n + 1))
	name=$(echo "$t" | sed 's|^'"$BUILD"'/||')
	log=$logdir/$(echo "$name" | tr '/' '_').log
	start=$(date +%s)
	timeout -k 10 "$TEST_TIMEOUT" "$t" >"$log" 2>&1
	rc=$?
	secs=$(( $(date +%s) - start ))
	case $rc in
	0) pass=$((pass + 1)); echo "ok $n - $name (${secs}s)" ;;
	77) skip=$((skip + 1)); echo "ok $n - $name # SKIP $(tail -n 1 "$log")" ;;
	*) fail=$((fail + 1)); failed="$failed $name"
	   [ $rc = 124 ] && echo "# timed out after ${TEST_TIMEOUT}s" >>"$log"
	   echo "not ok $n - $name (exit $rc, ${secs}s)"
	   tail -n 30 "$log" | sed 's/^/#   /' ;;
	esac
done
echo "1..$n"
[ $skip -gt 0 ] && echo "# $skip skipped"
[ -n "$failed" ] && echo "# failed:$failed"
echo "$pass passed, $fail failed"
[ $fail = 0 ] && [ $n -gt 0 ]
