#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# The shim's entry points as a process's first call into the shim, from a
# library constructor that ld.so runs before the shim's own: epoll_ctl
# (ADD, MOD, DEL), epoll_wait and close must each set the shim up and give
# the kernel's answers (the common ways skip that set-up: they rely on the
# careful count and an empty mirror until it is done).
set -u
cd "$(dirname "$0")/../.." || exit 1
BUILD=${BUILD:-build}
SHIM=$BUILD/libepbatch.so
EARLY=$BUILD/shim/libearly.so
if [ ! -f "$SHIM" ] || [ ! -f "$EARLY" ]; then
	echo "t-shim-early: $SHIM or $EARLY missing (make all tests-build)"
	exit 1
fi
SHIM=$(cd "$(dirname "$SHIM")" && pwd)/$(basename "$SHIM")
EARLY=$(cd "$(dirname "$EARLY")" && pwd)/$(basename "$EARLY")
tmp=$(mktemp) || exit 1
trap 'rm -f "$tmp"' EXIT
fail=0

# The premise: ld.so starts libearly.so before libepbatch.so.
env LD_DEBUG=files LD_PRELOAD="$SHIM:$EARLY" /bin/true 2>"$tmp"
order=$(sed -n 's/.*calling init: .*\/\(lib[a-z]*\)\.so$/\1/p' "$tmp" | tr '\n' ' ')
case $order in
*libearly*libepbatch*) ;;
*) echo "FAIL: ld.so does not start libearly.so first: $order"; fail=1 ;;
esac

for first in add mod del wait close; do
	for b in auto sync uring; do
		out=$(timeout 30 env EARLY_FIRST=$first EPBATCH_BACKEND=$b \
			LD_PRELOAD="$SHIM:$EARLY" /bin/true 2>&1)
		if [ "$out" = "early: ok $first" ]; then
			echo "ok - $first first ($b)"
		else
			echo "FAIL: $first first ($b): $out"
			fail=1
		fi
	done
done
# and natively: the checks themselves hold without the shim
for first in add mod del wait close; do
	out=$(timeout 30 env EARLY_FIRST=$first LD_PRELOAD="$EARLY" /bin/true 2>&1)
	[ "$out" = "early: ok $first" ] || { echo "FAIL: $first first (native): $out"; fail=1; }
done
exit $fail
