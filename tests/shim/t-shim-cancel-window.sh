#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# pthread_cancel's signal spent before the wait's syscall: the shim build
# that holds its waits there (libepbatch-window.so, EPBATCH_TEST_WINDOW)
# until a signal comes, and a thread cancelled while it is held.  The
# canceller must signal again once the thread sits in its syscall
# (preload/cancel.c, kick_until_heard); with one signal only, the thread
# stays in a wait that nothing ends and the program gives up after 5 s.
# Both waits the shim makes itself: a multi-threaded process's direct
# wait, and a wait fused with a queued MOD (io_uring).
set -u
cd "$(dirname "$0")/../.." || exit 1
BUILD=${BUILD:-build}
SHIM=$BUILD/shim/libepbatch-window.so
PROG=$BUILD/shim/cancel-window
if [ ! -f "$SHIM" ] || [ ! -x "$PROG" ]; then
	echo "t-shim-cancel-window: $SHIM or $PROG missing (make tests-build)"
	exit 1
fi
SHIM=$(cd "$(dirname "$SHIM")" && pwd)/$(basename "$SHIM")
err=$(mktemp) || exit 1
trap 'rm -f "$err"' EXIT
fail=0

for mode in raw fused; do
	case $mode in
	raw) set -- ;;
	fused) set -- EPBATCH_BACKEND=uring EPBATCH_MIN_BATCH=0 ;;
	esac
	timeout 30 env "$@" EPBATCH_TEST_WINDOW=1 LD_PRELOAD="$SHIM" "$PROG" $mode 2>"$err"
	rc=$?
	if [ $rc != 0 ]; then
		echo "FAIL: $mode: exit $rc"
		cat "$err"
		fail=1
	elif ! grep -q "a signal came in the $mode wait's window" "$err"; then
		# the premise: the first signal was spent in the window
		echo "FAIL: $mode: no signal landed in the wait's window"
		cat "$err"
		fail=1
	else
		echo "ok - $mode: cancelled after its first signal was spent before the syscall"
	fi
done
exit $fail
