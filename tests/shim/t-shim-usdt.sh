#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# The shim's counters are USDT probes (provider "epbatch") that epbatch-trace
# attaches to: every documented probe must be in libepbatch.so's notes, and
# epbatch:flush must carry its two arguments (nr_ops, backend).
set -u
cd "$(dirname "$0")/../.." || exit 1
BUILD=${BUILD:-build}
SHIM=$BUILD/libepbatch.so
[ -f "$SHIM" ] || { echo "t-shim-usdt: $SHIM missing (make all)"; exit 1; }
command -v readelf >/dev/null || { echo "readelf (binutils) is not installed"; exit 77; }
notes=$(readelf -n "$SHIM") || exit 1
fail=0
for p in flush deferred passthrough coalesced fallback fused_wait steal; do
	echo "$notes" | grep -A3 "Provider: epbatch" | grep -q "Name: $p\$" ||
		{ echo "FAIL: probe epbatch:$p missing"; fail=1; }
done
# the flush probe's argument string: two arguments
args=$(echo "$notes" | grep -A3 "Name: flush\$" | sed -n 's/.*Arguments: //p' | head -n 1)
[ "$(echo "$args" | wc -w)" = 2 ] || { echo "FAIL: epbatch:flush arguments '$args', want 2"; fail=1; }
[ $fail = 0 ] && echo "USDT probes present; epbatch:flush args: $args"
exit $fail
