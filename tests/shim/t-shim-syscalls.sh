#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Syscall counts under libepbatch.so, by strace: a loop re-arming 64 fds per
# iteration makes 64 epoll_ctl + 1 epoll_wait natively; under a batching
# backend epoll_ctl must drop below 1% of that and each iteration must be
# one fused syscall (or, with EPBATCH_FUSED=0, one batch plus one wait).
set -u
# These check the batching machinery itself: every op the mirror can answer
# is deferred, whatever the batch size (the default policy batches only
# where it pays: tests/shim/t-shim-policy.sh).
export EPBATCH_MIN_BATCH=0
cd "$(dirname "$0")/../.." || exit 1
BUILD=${BUILD:-build}
SHIM=$BUILD/libepbatch.so
LOOP=$BUILD/shim/epbatch-rearm
ITERS=300
if ! command -v strace >/dev/null; then
	echo "strace is not installed (scripts/deps.sh installs it)"
	exit 77
fi
if [ ! -f "$SHIM" ] || [ ! -x "$LOOP" ]; then
	echo "t-shim-syscalls: $SHIM or $LOOP missing (make all tests-build)"
	exit 1
fi
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }

# count NAME FILE: calls of one syscall in an strace -c summary
count() { awk -v s="$1" '$NF == s { n = ($5 ~ /^[0-9]+$/) ? $4 : $4 } END { print n + 0 }' "$2"; }

# run LABEL ENV...: strace the loop, print per-iteration counts
# (LOOPARGS: the loop's mode, default the 64-fd re-arm loop)
LOOPARGS="-n 64"
run() {
	label=$1
	shift
	env "$@" strace -f -c -o "$tmp/$label" -e trace=epoll_ctl,epoll_wait,epoll_pwait,io_uring_enter,ioctl,close \
		"$LOOP" $LOOPARGS -i $ITERS >/dev/null || { bad "$label: loop failed"; return; }
	cl=$(count close "$tmp/$label")
	ctl=$(count epoll_ctl "$tmp/$label")
	wt=$(( $(count epoll_wait "$tmp/$label") + $(count epoll_pwait "$tmp/$label") ))
	ur=$(count io_uring_enter "$tmp/$label")
	io=$(count ioctl "$tmp/$label")
	echo "$label: epoll_ctl=$ctl epoll_wait=$wt io_uring_enter=$ur ioctl=$io close=$cl" \
		"syscalls/iteration=$(awk -v a=$((ctl + wt + ur + io + cl)) -v i=$ITERS 'BEGIN { printf "%.2f", a / i }')"
}

run baseline
base_ctl=$ctl
[ "$base_ctl" -ge $((64 * ITERS)) ] || bad "baseline: $base_ctl epoll_ctl, want >= $((64 * ITERS))"

run sync EPBATCH_BACKEND=sync LD_PRELOAD=$SHIM
[ "$ctl" = "$base_ctl" ] || bad "sync backend: $ctl epoll_ctl, baseline $base_ctl (must pass through)"

backends=uring
[ -e /dev/epoll_batch ] && backends="$backends kmod"
for b in $backends; do
	run "$b-fused" EPBATCH_BACKEND=$b LD_PRELOAD=$SHIM
	[ $((ctl * 100)) -lt "$base_ctl" ] || bad "$b: $ctl epoll_ctl is not < 1% of $base_ctl"
	submits=$((ur + io))
	[ "$submits" -le $((ITERS + 5)) ] || bad "$b: $submits batch submissions for $ITERS iterations"
	[ "$wt" -le 5 ] || bad "$b fused: $wt plain epoll_wait calls, want the wait fused"
	run "$b-unfused" EPBATCH_BACKEND=$b EPBATCH_FUSED=0 LD_PRELOAD=$SHIM
	[ $((ctl * 100)) -lt "$base_ctl" ] || bad "$b unfused: $ctl epoll_ctl is not < 1% of $base_ctl"
	[ $((ur + io)) -le $((ITERS + 5)) ] || bad "$b unfused: $((ur + io)) submissions for $ITERS iterations"
done

# Connection per request (new fd, ADD, wait, DEL, close): natively 4
# syscalls per iteration besides the fd's creation.  Under uring the ADD is
# fused with the wait and the DEL with the close (one io_uring_enter each):
# 2.  A flush for the DEL and then close(2) would be 3.
LOOPARGS=-c
run conn-baseline
[ "$ctl" -ge $((2 * ITERS)) ] || bad "conn baseline: $ctl epoll_ctl, want >= $((2 * ITERS))"
run conn-uring EPBATCH_BACKEND=uring LD_PRELOAD=$SHIM
[ "$ctl" -le 5 ] || bad "conn uring: $ctl epoll_ctl, want the ADD and DEL batched"
[ "$cl" -le 5 ] || bad "conn uring: $cl close(2) calls, want the close fused with its DEL"
[ $((ctl + wt + ur + io + cl)) -le $((2 * ITERS + 10)) ] ||
	bad "conn uring: $((ctl + wt + ur + io + cl)) syscalls for $ITERS iterations, want <= 2 per iteration"
if [ -e /dev/epoll_batch ]; then
	# the module cannot close: DEL batched, close(2) as natively
	run conn-kmod EPBATCH_BACKEND=kmod LD_PRELOAD=$SHIM
	[ $((ctl + wt + ur + io + cl)) -le $((3 * ITERS + 10)) ] ||
		bad "conn kmod: $((ctl + wt + ur + io + cl)) syscalls for $ITERS iterations, want <= 3 per iteration"
fi
exit $fail
