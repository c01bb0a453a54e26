#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# EPBATCH_STATS=FILE writes each process's counter line to FILE.PID (the
# process and every child that runs the shim, exec'd ones included) and
# nothing to stderr, so a program whose stderr is captured and compared
# (libuv's spawn tests) sees no difference; EPBATCH_STATS=1 prints the line
# on stderr.  Checked with `sh -c '/bin/true; /bin/true; echo out'`: sh and the forked
# and exec'd /bin/true processes run the shim (dash exits without it).
set -u
cd "$(dirname "$0")/../.." || exit 1
unset LD_PRELOAD EPBATCH_BACKEND EPBATCH_STATS EPBATCH_UNSHARE
BUILD=${BUILD:-build}
SHIM=$(cd "$(dirname "$BUILD/x")" && pwd)/libepbatch.so
[ -f "$SHIM" ] || { echo "t-shim-statsfile: $SHIM missing (make all)"; exit 1; }
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
fail=0
ok() { echo "ok - $*"; }
bad() { echo "not ok - $*"; fail=1; }

for b in sync uring; do
	st=$tmp/stats-$b
	out=$(EPBATCH_BACKEND=$b EPBATCH_STATS=$st LD_PRELOAD=$SHIM sh -c '/bin/true; /bin/true; echo out' 2>"$tmp/err.$b")
	[ "$out" = out ] || bad "$b: stdout '$out', want 'out'"
	if [ -s "$tmp/err.$b" ]; then
		bad "$b: EPBATCH_STATS=FILE wrote to stderr: $(head -n 2 "$tmp/err.$b" | tr '\n' ' ')"
	else
		ok "$b: EPBATCH_STATS=FILE leaves stderr empty"
	fi
	n=0 good=0
	for f in "$st".*; do
		[ -f "$f" ] || continue
		n=$((n + 1))
		pid=${f##*.}
		grep -q "^epbatch: pid=$pid backend=$b .*mispredicted=" "$f" && good=$((good + 1))
	done
	if [ "$n" -ge 2 ] && [ "$good" = "$n" ]; then
		ok "$b: $n files FILE.PID, each with its process's counters"
	else
		bad "$b: $n files $st.PID ($good with a line naming their pid and backend), want >= 2 (the two /bin/true)"
	fi
	EPBATCH_BACKEND=$b EPBATCH_STATS=1 LD_PRELOAD=$SHIM sh -c '/bin/true; /bin/true' 2>"$tmp/err1.$b"
	n=$(grep -c "^epbatch: pid=[0-9]* backend=$b " "$tmp/err1.$b")
	if [ "$n" -ge 2 ]; then
		ok "$b: EPBATCH_STATS=1 prints $n lines on stderr"
	else
		bad "$b: EPBATCH_STATS=1 printed $n stats lines on stderr, want >= 2"
	fi
done
exit $fail
