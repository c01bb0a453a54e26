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
# One line per check, "N passed, N failed".
set -u

# shellcheck source=tests/lib/tap.sh
. "$(dirname "$0")/../lib/tap.sh"
tap_setup "sync uring+batch" "kmod+batch"
SPY=$BUILD/shim/libspy.so LOOP=$BUILD/shim/epbatch-rearm
for f in "$SHIM" "$SPY" "$LOOP"; do
	[ -f "$f" ] || { echo "t-shim-alt: $f missing (make all tests-build)"; exit 1; }
done
tap_workdir shim-alt

# 1000 iterations in blocks of 100: the spy's are 0-99, 200-299, ... (500),
# each one MOD and one wait, plus the set-up's ADD
if LD_PRELOAD="$SPY" "$LOOP" -m rearm -n 1 -w block -i 1000 -A 100 >"$work/out" 2>"$work/err"; then
	got=$(grep '^spy:' "$work/err")
	if [ "$got" = "spy: ctl=501 wait=500 pwait=0" ]; then
		ok "-A: every other block goes past the preloaded library"
	else
		notok "-A past the spy" "the spy saw '$got', want ctl=501 wait=500 pwait=0"
	fi
	if grep -q '"alt_block": 100, "alt_pairs": 5, .*"own_minus_libc_ns": -\{0,1\}[0-9]' "$work/out"; then
		ok "-A: the JSON carries the figures"
	else
		notok "-A JSON" "$(cat "$work/out")"
	fi
else
	notok "-A under the spy" "$(cat "$work/err")"
fi

for b in $BACKENDS; do
	for args in "-m rearm -n 8 -w block" "-m rearm -n 8 -w zero" "-m double -n 8 -w block" "-c -w block"; do
		# shellcheck disable=SC2046,SC2086
		if env $(backend_env "$b") LD_PRELOAD="$SHIM" timeout 60 "$LOOP" $args -i 400 -A 10 \
			>"$work/out" 2>"$work/err" &&
			grep -q '"iterations": 400,.*"alt_pairs": 20,' "$work/out"; then
			ok "-A under the shim ($b; $args)"
		else
			notok "-A under the shim $b $args" "$(cat "$work/err" "$work/out")"
		fi
	done
done

for args in "-m keepalive -A 10" "-m idle -w short -A 10" "-m rearm -i 10 -A 6" "-m rearm -A 0"; do
	# shellcheck disable=SC2086
	"$LOOP" $args >"$work/out" 2>"$work/err"
	rc=$?
	if [ $rc = 2 ] && [ "$(wc -l <"$work/err")" = 1 ] && [ ! -s "$work/out" ]; then
		ok "bad use, one line and exit 2 ($args)"
	else
		notok "bad use $args" "exit $rc, $(cat "$work/err")"
	fi
done
tap_end
