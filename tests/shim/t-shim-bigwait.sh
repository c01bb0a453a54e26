#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# A wait with maxevents above the shim's fused-wait buffer (redis asks for
# 10,128) must still be fused under uring: epoll may return fewer events
# than maxevents, so the shim can fuse with the buffer it has.  Runs
# build/conformance/c-bigwait (maxevents 10,000, 6,000 ready fds, queued
# ops before every wait; its transcript is checked by t-conformance.sh)
# with EPBATCH_STATS and wants fused_waits > 0.  Skips (77) when this
# kernel cannot fuse a wait at all (no IORING_OP_EPOLL_WAIT before 6.15),
# which the 64-fd re-arm loop shows.
set -u
cd "$(dirname "$0")/../.." || exit 1
unset LD_PRELOAD EPBATCH_BACKEND EPBATCH_STATS EPBATCH_UNSHARE
# the fused wait itself, whatever the batch size (t-shim-policy.sh: the policy)
export EPBATCH_MIN_BATCH=0
BUILD=${BUILD:-build}
SHIM=$BUILD/libepbatch.so
BIG=$BUILD/conformance/c-bigwait
LOOP=$BUILD/shim/epbatch-rearm
for f in "$SHIM" "$BIG" "$LOOP"; do
	[ -e "$f" ] || { echo "t-shim-bigwait: $f missing (make all tests-build)"; exit 1; }
done
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

# counters FILE: the stats lines (FILE.PID files, else FILE.err)
counters() {
	if ls "$1".[0-9]* >/dev/null 2>&1; then
		cat "$1".[0-9]*
	else
		grep '^epbatch: pid=' "$1.err"
	fi
}
field() { tr ' ' '\n' | awk -F= -v k="$1" '$1 == k { s += $2; n++ } END { print (n ? s : "none") }'; }

EPBATCH_BACKEND=uring EPBATCH_STATS=$tmp/loop LD_PRELOAD=$SHIM "$LOOP" -n 8 -i 20 \
	>/dev/null 2>"$tmp/loop.err" || { echo "not ok - re-arm loop failed under uring"; exit 1; }
if [ "$(counters "$tmp/loop" | field fused_waits)" = 0 ]; then
	echo "the shim does not fuse waits on this kernel (re-arm loop: fused_waits=0); nothing to check"
	exit 77
fi
EPBATCH_BACKEND=uring EPBATCH_STATS=$tmp/big LD_PRELOAD=$SHIM "$BIG" >/dev/null 2>"$tmp/big.err" ||
	{ echo "not ok - c-bigwait failed under uring"; cat "$tmp/big.err"; exit 1; }
line=$(counters "$tmp/big")
fw=$(echo "$line" | field fused_waits)
mis=$(echo "$line" | field mispredicted)
echo "# $line"
fail=0
if [ "$fw" != none ] && [ "$fw" -gt 0 ]; then
	echo "ok - maxevents 10000: fused_waits=$fw"
else
	echo "not ok - maxevents 10000: fused_waits=$fw, want > 0 (every wait fell back to a separate epoll_wait)"
	fail=1
fi
if [ "$mis" = 0 ]; then
	echo "ok - mispredicted=0"
else
	echo "not ok - mispredicted=$mis"
	fail=1
fi
exit $fail
