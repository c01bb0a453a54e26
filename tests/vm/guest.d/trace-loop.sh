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

# KEY's first value in OBJ's first object (the totals' own): in_obj OBJ KEY FILE
in_obj() { sed -n "/\"$1\"/,/}/ s/.*\"$2\": \([0-9][0-9]*\).*/\1/p" "$3" | head -n 1; }

is() { # is WHAT NAME GOT VALUE
	if [ "$3" = "$4" ]; then
		echo "ok $1: $2 = $3"
	else
		echo "FAIL $1: $2 = $3, want $4"
		fails=$((fails + 1))
	fi
}
want() { is "$1" "$2" "$(first "$2" "$3")" "$4"; }	# want WHAT KEY FILE VALUE

for be in kmod uring; do
	out=$T/$be.json
	if ! $TRACE record -o $out -- env LD_PRELOAD=$SHIM EPBATCH_BACKEND=$be EPBATCH_MIN_BATCH=0 \
		$LOOP -m keepalive -w block -n 16 -i 50 >$T/$be.log 2>&1; then
		echo "FAIL $be: record failed"; cat $T/$be.log; fails=$((fails + 1)); continue
	fi
	want $be loop_iterations $out 50
	# the ops by op: io_uring's from the request's command data, the
	# module's from its ops array; one submission of the 16 MODs per
	# iteration
	is $be epoll_ctl_batched.mod "$(in_obj epoll_ctl_batched mod $out)" 800
	is $be batch_sizes_log2.16 "$(in_obj batch_sizes_log2 16 $out)" 50
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
