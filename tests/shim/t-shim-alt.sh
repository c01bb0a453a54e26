#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# epbatch-rearm -A BLOCK (preload/bench/rearm.c), with which `epbatch-trace
# calibrate` measures the shim's direct way inside one process:
# 1. the blocks alternate: an interposer (libspy.so) sees the epoll calls of
#    every other block only, the others go to libc's own;
# 2. the JSON carries the figures (alt_pairs, own_minus_libc_ns);
# 3. under a shim that defers (io_uring, every op batched) and one that does
#    not, in every mode -A allows, the loop's results stay right (it checks
#    every wait) and it ends;
# 4. bad use gets one line and exit 2.
set -u
cd "$(dirname "$0")/../.." || exit 1
BUILD=${BUILD:-build}
SHIM=$BUILD/libepbatch.so SPY=$BUILD/shim/libspy.so LOOP=$BUILD/shim/epbatch-rearm
for f in "$SHIM" "$SPY" "$LOOP"; do
	[ -f "$f" ] || { echo "t-shim-alt: $f missing (make all tests-build)"; exit 1; }
done
SHIM=$(cd "$(dirname "$SHIM")" && pwd)/$(basename "$SHIM")
SPY=$(cd "$(dirname "$SPY")" && pwd)/$(basename "$SPY")
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
fail=0

# 1000 iterations in blocks of 100: the spy's are 0-99, 200-299, ... (500),
# each one MOD and one wait, plus the set-up's ADD
if LD_PRELOAD="$SPY" "$LOOP" -m rearm -n 1 -w block -i 1000 -A 100 >"$tmp/out" 2>"$tmp/err"; then
	got=$(grep '^spy:' "$tmp/err")
	if [ "$got" = "spy: ctl=501 wait=500 pwait=0" ]; then
		echo "ok - -A: every other block goes past the preloaded library"
	else
		echo "FAIL: -A: the spy saw '$got', want ctl=501 wait=500 pwait=0"
		fail=1
	fi
	if grep -q '"alt_block": 100, "alt_pairs": 5, .*"own_minus_libc_ns": -\{0,1\}[0-9]' "$tmp/out"; then
		echo "ok - -A: the JSON carries the figures"
	else
		echo "FAIL: -A: the JSON: $(cat "$tmp/out")"
		fail=1
	fi
else
	echo "FAIL: -A under the spy: $(cat "$tmp/err")"
	fail=1
fi

for cfg in "EPBATCH_BACKEND=sync" "EPBATCH_BACKEND=uring EPBATCH_MIN_BATCH=0"; do
	for args in "-m rearm -n 8 -w block" "-m rearm -n 8 -w zero" "-m double -n 8 -w block" "-c -w block"; do
		# shellcheck disable=SC2086
		if env $cfg LD_PRELOAD="$SHIM" timeout 60 "$LOOP" $args -i 400 -A 10 >"$tmp/out" 2>"$tmp/err" &&
			grep -q '"iterations": 400,.*"alt_pairs": 20,' "$tmp/out"; then
			echo "ok - -A under the shim ($cfg; $args)"
		else
			echo "FAIL: -A under the shim ($cfg; $args): $(cat "$tmp/err" "$tmp/out")"
			fail=1
		fi
	done
done

for args in "-m keepalive -A 10" "-m idle -w short -A 10" "-m rearm -i 10 -A 6" "-m rearm -A 0"; do
	# shellcheck disable=SC2086
	"$LOOP" $args >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ $rc = 2 ] && [ "$(wc -l <"$tmp/err")" = 1 ] && [ ! -s "$tmp/out" ]; then
		echo "ok - bad use, one line and exit 2 ($args)"
	else
		echo "FAIL: bad use ($args): exit $rc, $(cat "$tmp/err")"
		fail=1
	fi
done
exit $fail
