#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Where the shim's own epoll syscalls go (preload/real.h: raw_ctl,
# raw_wait_gate):
# 1. With another interposer after the shim (LD_PRELOAD=libepbatch.so:
#    libspy.so), every epoll_ctl and wait the loop makes reaches it (the
#    sync backend passes each one on): the shim goes through what
#    dlsym(RTLD_NEXT) found.
# 2. Alone, in a one-thread loop, it makes those syscalls itself: libc's
#    epoll_ctl, epoll_wait and epoll_pwait run no instruction (callgrind),
#    and the loop's results are right (epbatch-rearm checks every wait).
# 3. In a multi-threaded loop (-T) too: its waits are marked for
#    pthread_cancel (preload/cancel.c) instead of going through glibc's
#    cancellable wrappers.
# 4. In a loop that has cancelled a thread (-C) the waits go through
#    libc's wrappers (cancellation points), epoll_ctl still not.
# (That the waits stay cancellation points where they must is
# tests/conformance/c-cancel.c and c-cancel-first.c.)
set -u
cd "$(dirname "$0")/../.." || exit 1
BUILD=${BUILD:-build}
SHIM=$BUILD/libepbatch.so SPY=$BUILD/shim/libspy.so LOOP=$BUILD/shim/epbatch-rearm
for f in "$SHIM" "$SPY" "$LOOP"; do
	[ -f "$f" ] || { echo "t-shim-libc: $f missing (make all tests-build)"; exit 1; }
done
command -v valgrind >/dev/null || { echo "t-shim-libc: no valgrind (scripts/deps.sh installs it)"; exit 1; }
SHIM=$(cd "$(dirname "$SHIM")" && pwd)/$(basename "$SHIM")
SPY=$(cd "$(dirname "$SPY")" && pwd)/$(basename "$SPY")
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
fail=0
N=200

for w in block pwait; do
	if ! env EPBATCH_BACKEND=sync LD_PRELOAD="$SHIM:$SPY" "$LOOP" -m keepalive -n 1 -w $w -i $N \
		>"$tmp/out" 2>"$tmp/err"; then
		echo "FAIL: the loop under the shim and the spy ($w): $(cat "$tmp/err")"
		fail=1
		continue
	fi
	# the loop's one ADD and its N MODs; its N waits, of the kind asked for
	want_wait=$N want_pwait=0
	[ $w = pwait ] && want_wait=0 want_pwait=$N
	got=$(grep '^spy:' "$tmp/err")
	if [ "$got" = "spy: ctl=$((N + 1)) wait=$want_wait pwait=$want_pwait" ]; then
		echo "ok - an interposer after the shim sees every call ($w)"
	else
		echo "FAIL: an interposer after the shim ($w): '$got', want ctl=$((N + 1)) wait=$want_wait pwait=$want_pwait"
		fail=1
	fi
done

# w+mt: the loop with an idle thread (-T): the shim's own syscalls still;
# w+cancel: the loop after a pthread_cancel (-C): the waits must then be
# libc's cancellable ones, epoll_ctl (no cancellation point) still the
# shim's own
for c in block pwait block+mt pwait+mt block+cancel pwait+cancel; do
	w=${c%+*} T= fn=epoll_wait
	case $c in *+mt) T=-T ;; *+cancel) T=-C ;; esac
	[ "$w" = pwait ] && fn=epoll_pwait
	rm -f "$tmp"/cg.*
	# shellcheck disable=SC2086
	if ! valgrind --tool=callgrind --trace-children=yes --callgrind-out-file="$tmp/cg.%p" \
		env EPBATCH_BACKEND=sync LD_PRELOAD="$SHIM" "$LOOP" -m keepalive -n 1 -w $w -i $N $T \
		>"$tmp/out" 2>"$tmp/err"; then
		echo "FAIL: the loop under the shim and callgrind ($c): $(tail -3 "$tmp/err")"
		fail=1
		continue
	fi
	grep -q "\"events\": $N," "$tmp/out" || { echo "FAIL: the loop's result ($c): $(cat "$tmp/out")"; fail=1; }
	# the loop's process is the larger profile (the other is env's)
	prof=$(ls -S "$tmp"/cg.* | head -1)
	libc=$(callgrind_annotate "$prof" 2>/dev/null | grep -E ':epoll_(ctl|wait|pwait) \[.*libc\.so' || true)
	shim=$(callgrind_annotate "$prof" 2>/dev/null | grep -cE ':epoll_(ctl|wait|pwait) \[.*libepbatch' || true)
	libc_ctl=$(printf '%s\n' "$libc" | grep -c ':epoll_ctl ' || true)
	libc_wait=$(printf '%s\n' "$libc" | grep -c ":$fn " || true)
	if [ "$T" != -C ] && [ -z "$libc" ] && [ "$shim" -gt 0 ]; then
		echo "ok - the shim makes the epoll syscalls itself ($c)"
	elif [ "$T" = -C ] && [ "$libc_ctl" = 0 ] && [ "$libc_wait" = 1 ] && [ "$shim" -gt 0 ]; then
		echo "ok - once a thread was cancelled, the waits are libc's, epoll_ctl the shim's own ($c)"
	else
		echo "FAIL: which wrappers ran ($c): ${libc:-no libc wrapper}; shim entry points: $shim"
		fail=1
	fi
done
exit $fail
