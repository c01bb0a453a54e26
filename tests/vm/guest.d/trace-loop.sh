#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# In the guest (Debian's 6.1 kernel, /dev/epoll_batch loaded): the tracer
# counts a loop's iterations whichever way its waits reach the kernel.  The
# shim's rearm loop, forced to batch (every op deferred), runs under the
# module backend, whose waits ride on its ioctl (EPOLL_BATCH_WAIT: kmod_waits),
# and under io_uring, which 6.1 has without IORING_OP_EPOLL_WAIT: its ops
# are IORING_OP_EPOLL_CTL requests (the io_uring_submit_req tracepoint, which
# 6.1 has too) and its waits epoll_wait syscalls.  Exact counts, the
# batched ops by op too.
BUILD=${BUILD:-build}
NAME=trace-loop
. tests/vm/trace-lib.sh
SHIM=$BUILD/libepbatch.so
LOOP=$BUILD/shim/epbatch-rearm
[ -f "$SHIM" ] && [ -x "$LOOP" ] || { echo "$NAME: $SHIM or $LOOP not built"; exit 1; }

# the first "mod" after the first "epoll_ctl_batched" (the totals' own)
batched_mod() { sed -n '/"epoll_ctl_batched"/,/}/ s/.*"mod": \([0-9][0-9]*\).*/\1/p' "$1" | head -n 1; }
# the totals' submissions of 16 to 31 ops
batches_16() { sed -n '/"batch_sizes_log2"/,/}/ s/.*"16": \([0-9][0-9]*\).*/\1/p' "$1" | head -n 1; }

want() { # want WHAT KEY FILE VALUE
	got=$(first "$2" "$3")
	if [ "$got" = "$4" ]; then
		echo "ok $1: $2 = $got"
	else
		echo "FAIL $1: $2 = $got, want $4"
		fails=$((fails + 1))
	fi
}

for be in kmod uring; do
	out=$T/$be.json
	if ! $TRACE record -o $out -- env LD_PRELOAD=$SHIM EPBATCH_BACKEND=$be EPBATCH_MIN_BATCH=0 \
		$LOOP -m keepalive -w block -n 16 -i 50 >$T/$be.log 2>&1; then
		echo "FAIL $be: record failed"; cat $T/$be.log; fails=$((fails + 1)); continue
	fi
	want $be loop_iterations $out 50
	# the ops by op: io_uring's from the request's command data, the
	# module's from its ops array
	got=$(batched_mod $out)
	if [ "$got" = 800 ]; then
		echo "ok $be: epoll_ctl_batched.mod = $got"
	else
		echo "FAIL $be: epoll_ctl_batched.mod = $got, want 800"
		fails=$((fails + 1))
	fi
	# one submission of the 16 MODs per iteration
	got=$(batches_16 $out)
	if [ "$got" = 50 ]; then
		echo "ok $be: batch_sizes_log2.16 = $got"
	else
		echo "FAIL $be: batch_sizes_log2.16 = $got, want 50"
		fails=$((fails + 1))
	fi
	if [ $be = kmod ]; then
		# as on the host (tests/trace/t-counts.sh): the first wait is the
		# direct one, the others ride on a submission
		want $be kmod_waits $out 49
		want $be epoll_wait $out 1
		want $be io_uring_epoll_ctl $out 0
	else
		want $be io_uring_epoll_ctl $out 800
		want $be io_uring_epoll_submits $out 50
		want $be io_uring_epoll_wait $out 0
		want $be epoll_wait $out 50
	fi
done
echo "$NAME: $fails failures"
[ $fails = 0 ]
