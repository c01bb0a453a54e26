#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# The shim's policy (preload/policy.c): batch only where it pays.  With a
# fixed break-even (EPBATCH_MIN_BATCH=N, so no timing decides the outcome):
#   - a loop of 1 op per iteration sends every epoll_ctl straight to the
#     kernel, as without the shim, and makes no io_uring submission;
#   - a loop of 64 ops per iteration batches: about one submission per
#     iteration, fused with the wait;
#   - a loop that re-arms the same fd twice per iteration (2 ops, below the
#     break-even) still gains from coalescing: one epoll_ctl per iteration;
#   - the stats line reports the break-even and the iterations of each way;
#   - a loop at its break-even (2, or 1) batches, whatever ADDs set it up;
#   - a batching loop that shrinks below the break-even goes direct within a
#     batched quiet block (its last wait decides);
#   - a loop below the break-even is probed on the doubling schedule, also
#     where its waits answer the policy without policy_decide();
#   - connection ops (ADD, DEL) are priced by their own break-even
#     (EPBATCH_MIN_BATCH=N,C): a connection loop batches when C allows it
#     and stays direct when C is "never", whatever N says; a MOD loop
#     batches by N alone;
#   - measured, that break-even is measured only by a loop that makes
#     connection ops;
#   - a fork while another thread measures leaves the child neither that
#     measurement's fds nor a measurement it can never finish;
#   - a loop on an instance with an exclusive registration is priced by the
#     0-timeout wait's break-even, the form its fused wait takes;
#   - a bad EPBATCH_MIN_BATCH is one line on stderr and exit status 2.
set -u
cd "$(dirname "$0")/../.." || exit 1
BUILD=${BUILD:-build}
SHIM=$BUILD/libepbatch.so
LOOP=$BUILD/shim/epbatch-rearm
ITERS=400
command -v strace >/dev/null || { echo "strace is not installed (scripts/deps.sh installs it)"; exit 77; }
[ -f "$SHIM" ] && [ -x "$LOOP" ] || { echo "t-shim-policy: $SHIM or $LOOP missing"; exit 1; }
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }
count() { awk -v s="$1" '$NF == s { n = $4 } END { print n + 0 }' "$2"; }
stat() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" "$2" | tail -n 1; }

# run LABEL LOOPARGS ENV...: strace -c of the loop (the shim only in the
# loop, not in strace), its stats line in $tmp/LABEL.stats
run() {
	label=$1 args=$2
	shift 2
	strace -f -c -o "$tmp/$label" -e trace=epoll_ctl,epoll_wait,io_uring_enter \
		env "$@" EPBATCH_STATS=1 "$LOOP" $args -i $ITERS >/dev/null 2>"$tmp/$label.stats" ||
		{ bad "$label: loop failed: $(cat "$tmp/$label.stats")"; return; }
	ctl=$(count epoll_ctl "$tmp/$label")
	wt=$(count epoll_wait "$tmp/$label")
	ur=$(count io_uring_enter "$tmp/$label")
	echo "$label: epoll_ctl=$ctl epoll_wait=$wt io_uring_enter=$ur $(grep -o 'min_batch.*' "$tmp/$label.stats")"
}

shim="EPBATCH_BACKEND=uring LD_PRELOAD=$SHIM"

run one-base "-n 1 -w zero"
base_ctl=$ctl
run one-shim "-n 1 -w zero" $shim EPBATCH_MIN_BATCH=8
[ "$ctl" = "$base_ctl" ] || bad "1 op per iteration: $ctl epoll_ctl, baseline $base_ctl (want each op direct)"
[ "$ur" = 0 ] || bad "1 op per iteration: $ur io_uring_enter, want none"
[ "$(stat min_batch "$tmp/one-shim.stats")" = 8 ] || bad "stats: min_batch is not 8: $(cat "$tmp/one-shim.stats")"
[ "$(stat iters_direct "$tmp/one-shim.stats")" -ge $((ITERS - 2)) ] ||
	bad "stats: iters_direct $(stat iters_direct "$tmp/one-shim.stats"), want about $ITERS"

run many-base "-n 64 -w zero"
base_ctl=$ctl
run many-shim "-n 64 -w zero" $shim EPBATCH_MIN_BATCH=8
[ $((ctl * 20)) -lt "$base_ctl" ] || bad "64 ops per iteration: $ctl epoll_ctl, want < 5% of $base_ctl"
[ "$ur" -le $((ITERS + 10)) ] && [ "$ur" -ge $((ITERS - 10)) ] ||
	bad "64 ops per iteration: $ur io_uring_enter, want about one per iteration ($ITERS)"
[ "$wt" -le 10 ] || bad "64 ops per iteration: $wt plain epoll_wait, want the wait fused"

run double-base "-m double -n 1 -w zero"
base_ctl=$ctl
run double-shim "-m double -n 1 -w zero" $shim EPBATCH_MIN_BATCH=64
[ $((ctl * 10)) -le $((base_ctl * 6)) ] ||
	bad "2 MODs of one fd per iteration: $ctl epoll_ctl, baseline $base_ctl (want them coalesced: about half)"
[ "$ur" -le 10 ] || bad "2 MODs of one fd per iteration: $ur io_uring_enter, want (almost) none below the break-even"

# 4 ops per iteration, below the break-even, nothing to coalesce: direct,
# but for the probes, whose spacing doubles while they find nothing (a
# probe at once, then after 64, 128, 256, 512 and 1024 direct iterations:
# 6 in 3000).  The waits answer most iterations without policy_decide();
# the iterations they answer still count towards the next probe.
env $shim EPBATCH_MIN_BATCH=8 EPBATCH_STATS=1 "$LOOP" -n 4 -w block -i 3000 >/dev/null 2>"$tmp/probe.stats" ||
	bad "probe loop failed: $(cat "$tmp/probe.stats")"
[ "$(stat iters_batch "$tmp/probe.stats")" = 6 ] && [ "$(stat iters_direct "$tmp/probe.stats")" = 2994 ] ||
	bad "4 ops per iteration below the break-even: want 6 probe iterations and 2994 direct, got: $(cat "$tmp/probe.stats")"

# A loop that grows from 1 op per iteration to 64 (shim-check grow: 200
# iterations each, plus its first wait and its first re-arm of all 64):
# direct, then batched within the waits' counting block (QUIET_WAITS, 16
# iterations, in shim.h) of the change, plus the average's climb.
CHECK=$BUILD/shim/shim-check
"$CHECK" grow || bad "grow, natively: failed"
env $shim EPBATCH_MIN_BATCH=8 EPBATCH_STATS=1 "$CHECK" grow >/dev/null 2>"$tmp/grow.stats" ||
	bad "grow under the shim failed: $(cat "$tmp/grow.stats")"
[ "$(stat iters_batch "$tmp/grow.stats")" -ge 180 ] && [ "$(stat iters_direct "$tmp/grow.stats")" -le 222 ] ||
	bad "a loop grown from 1 to 64 ops: want the 64-op part batched within 20 iterations, got: $(cat "$tmp/grow.stats")"

# The other way (shim-check shrink: 200 iterations of 64 ops, then 200 of
# 1): batched, then direct within the batched quiet block (QUIET_WAITS,
# 16: its last wait decides) that sees the change and the average's fall.
"$CHECK" shrink || bad "shrink, natively: failed"
env $shim EPBATCH_MIN_BATCH=8 EPBATCH_STATS=1 "$CHECK" shrink >/dev/null 2>"$tmp/shrink.stats" ||
	bad "shrink under the shim failed: $(cat "$tmp/shrink.stats")"
[ "$(stat iters_batch "$tmp/shrink.stats")" -ge 180 ] && [ "$(stat iters_batch "$tmp/shrink.stats")" -le 240 ] &&
	[ "$(stat iters_direct "$tmp/shrink.stats")" -ge 160 ] ||
	bad "a loop shrunk from 64 to 1 op: want the 1-op part direct within 40 iterations, got: $(cat "$tmp/shrink.stats")"

# fork() while another thread measures the break-evens (shim-check
# forkcalib): no child may inherit the measurement's private fds, and each
# child, which runs a loop of its own, must measure (a child that inherited
# a measurement under way never did: min_batch=-).  Whether a fork lands
# inside the 0.5 ms measurement is up to the scheduler (about half of the
# runs here), so eight runs.
"$CHECK" forkcalib || bad "forkcalib, natively: failed"
for i in 1 2 3 4 5 6 7 8; do
	env $shim EPBATCH_STATS=1 "$CHECK" forkcalib >/dev/null 2>"$tmp/forkcalib.stats" ||
		{ bad "forkcalib run $i under the shim: $(grep -v '^epbatch' "$tmp/forkcalib.stats" | head -3)"; break; }
	# the last line is the parent's (it reaps every child first)
	sed '$d' "$tmp/forkcalib.stats" | grep '^epbatch' | grep -q 'min_batch=- ' &&
		{ bad "forkcalib run $i: a fork child never measured: $(grep -c 'min_batch=- ' "$tmp/forkcalib.stats") lines"; break; }
done

# A connection per iteration (eventfd, ADD, wait, DEL, close: 2 ops, 1
# carried by the wait after the DEL fused with its close).
run conn-any "-m conn -w block" $shim EPBATCH_MIN_BATCH=1
[ "$(stat iters_batch "$tmp/conn-any.stats")" -ge $((ITERS - 10)) ] &&
	[ "$(stat fused_closes "$tmp/conn-any.stats")" -ge $((ITERS - 10)) ] ||
	bad "conn loop, break-even 1 for every op: want it batched, got: $(cat "$tmp/conn-any.stats")"
run conn-never "-m conn -w block" $shim EPBATCH_MIN_BATCH=1,never
[ "$(stat min_batch_conn "$tmp/conn-never.stats")" = never ] &&
	[ "$(stat iters_batch "$tmp/conn-never.stats")" -le 10 ] && [ "$ur" -le 10 ] ||
	bad "conn loop, connection ops never pay: want it direct (probes only), got: $(cat "$tmp/conn-never.stats"), $ur io_uring_enter"
run many-never "-n 64 -w zero" $shim EPBATCH_MIN_BATCH=8,never
[ "$ur" -ge $((ITERS - 10)) ] ||
	bad "64 MODs per iteration with connection ops never paying: $ur io_uring_enter, want about one per iteration"

# A MOD loop at its break-even batches, whatever its set-up was: the 2
# ADDs before its first wait must not leave a share of connection ops
# (which never pay here) in its average for good -- they did, rounded up
# to 1/16 per iteration, and made a loop of 2 MODs need 3.  And a break-even
# of 1 (a MOD fused with its wait: a dear syscall) batches a loop of 1.
run at-be "-n 2 -w block" $shim EPBATCH_MIN_BATCH=2,never
[ "$(stat iters_batch "$tmp/at-be.stats")" -ge $((ITERS - 40)) ] && [ "$wt" -le 40 ] ||
	bad "2 MODs per iteration, break-even 2: want it batched, got: $(cat "$tmp/at-be.stats"), $wt plain epoll_wait"
run one-be "-n 1 -w block" $shim EPBATCH_MIN_BATCH=1,never
[ "$(stat iters_batch "$tmp/one-be.stats")" -ge $((ITERS - 40)) ] && [ "$ctl" -le 40 ] ||
	bad "1 MOD per iteration, break-even 1: want it fused with the wait, got: $(cat "$tmp/one-be.stats"), $ctl epoll_ctl"

# An instance with an exclusive registration (-x: an nginx worker's, whose
# listener is shared with EPOLLEXCLUSIVE) gets its fused wait in the
# 0-timeout form whatever the loop asks (shim_wait_flush), so its blocking
# loop is priced by the 0-timeout break-even: never, here.  The same loop
# without it batches.  The ADD goes direct, before the loop: ctl_direct marks
# the instance.
run excl-block "-n 64 -w block" $shim EPBATCH_MIN_BATCH=1,never,never
[ "$ur" -ge $((ITERS - 10)) ] ||
	bad "64 MODs per blocking wait, break-even 1: want them batched, got: $(cat "$tmp/excl-block.stats"), $ur io_uring_enter"
run excl-excl "-n 64 -w block -x" $shim EPBATCH_MIN_BATCH=1,never,never
[ "$(stat iters_batch "$tmp/excl-excl.stats")" -le 10 ] && [ "$ur" -le 10 ] ||
	bad "the same loop on an exclusive instance, 0-timeout break-even never: want it direct, got: $(cat "$tmp/excl-excl.stats"), $ur io_uring_enter"

# Measured break-evens (no EPBATCH_MIN_BATCH; the answers depend on the
# machine, what is measured does not): a MOD loop measures the MOD loops'
# two and not the connection ops' (a loop's first iterations' ADDs do not
# count); a connection loop measures that one too.
run mod-measured "-n 4 -w block" $shim
[ "$(stat min_batch "$tmp/mod-measured.stats")" != - ] && [ "$(stat min_batch_conn "$tmp/mod-measured.stats")" = - ] ||
	bad "MOD loop, measured: want min_batch measured and min_batch_conn not (-), got: $(cat "$tmp/mod-measured.stats")"
run conn-measured "-m conn -w block" $shim
[ "$(stat min_batch "$tmp/conn-measured.stats")" != - ] && [ "$(stat min_batch_conn "$tmp/conn-measured.stats")" != - ] ||
	bad "conn loop, measured: want min_batch and min_batch_conn measured, got: $(cat "$tmp/conn-measured.stats")"

# The 0-timeout waits' batched form: the measurement says which it chose;
# told one (what epbatch-trace run passes on from calibrate), a batched
# iteration of 64 MODs is one io_uring_enter (fused, with the wait's
# cancel in it) or one io_uring_enter and the kernel's own epoll_wait
# (unfused).
form=$(stat poll_form "$tmp/mod-measured.stats")
[ "$form" = fused ] || [ "$form" = unfused ] ||
	bad "MOD loop, measured: want poll_form=fused or unfused, got: $(cat "$tmp/mod-measured.stats")"
run poll-fused "-n 64 -w zero" $shim EPBATCH_MIN_BATCH=1 EPBATCH_POLL_FORM=fused
[ "$(stat poll_form "$tmp/poll-fused.stats")" = fused ] && [ "$ur" -ge $((ITERS - 10)) ] && [ "$wt" -le 10 ] ||
	bad "EPBATCH_POLL_FORM=fused, 64 MODs per 0-timeout wait: want one io_uring_enter per iteration and no epoll_wait, got: $(cat "$tmp/poll-fused.stats"), $ur io_uring_enter, $wt epoll_wait"
run poll-unfused "-n 64 -w zero" $shim EPBATCH_MIN_BATCH=1 EPBATCH_POLL_FORM=unfused
[ "$(stat poll_form "$tmp/poll-unfused.stats")" = unfused ] && [ "$ur" -ge $((ITERS - 10)) ] &&
	[ "$ur" -le $((ITERS + 10)) ] && [ "$wt" -ge $((ITERS - 10)) ] && [ "$ctl" -le 74 ] ||
	bad "EPBATCH_POLL_FORM=unfused, 64 MODs per 0-timeout wait: want one io_uring_enter and one epoll_wait per iteration, got: $(cat "$tmp/poll-unfused.stats"), $ur io_uring_enter, $wt epoll_wait, $ctl epoll_ctl (64 are the set-up ADDs)"
# a blocking wait stays fused whatever the 0-timeout form
run block-unfused "-n 64 -w block" $shim EPBATCH_MIN_BATCH=1 EPBATCH_POLL_FORM=unfused
[ "$wt" -le 10 ] ||
	bad "EPBATCH_POLL_FORM=unfused, blocking waits: want them fused, got $wt epoll_wait"
if env EPBATCH_POLL_FORM=half LD_PRELOAD=$SHIM "$LOOP" -n 1 -i 1 >/dev/null 2>"$tmp/err"; then
	bad "EPBATCH_POLL_FORM=half was accepted"
fi
[ "$(wc -l <"$tmp/err")" = 1 ] && grep -q "EPBATCH_POLL_FORM='half'" "$tmp/err" ||
	bad "EPBATCH_POLL_FORM=half: want one line naming it, got: $(cat "$tmp/err")"

# BLOCK,POLL,CONN (what epbatch-trace run passes on from calibrate)
env EPBATCH_MIN_BATCH=16,32,never EPBATCH_STATS=1 LD_PRELOAD=$SHIM "$LOOP" -n 1 -i 1 >/dev/null 2>"$tmp/three" ||
	bad "EPBATCH_MIN_BATCH=16,32,never was refused: $(cat "$tmp/three")"
grep -q "min_batch=16 min_batch_poll=32 min_batch_conn=never" "$tmp/three" ||
	bad "EPBATCH_MIN_BATCH=16,32,never: want min_batch=16 min_batch_poll=32 min_batch_conn=never, got: $(cat "$tmp/three")"

for v in lots 3,x 0,4 5, never 1,2,3,4 8,,9 300; do
	if env EPBATCH_MIN_BATCH=$v LD_PRELOAD=$SHIM "$LOOP" -n 1 -i 1 >/dev/null 2>"$tmp/err"; then
		bad "EPBATCH_MIN_BATCH=$v was accepted"
	fi
	[ "$(wc -l <"$tmp/err")" = 1 ] && grep -q "EPBATCH_MIN_BATCH='$v'" "$tmp/err" ||
		bad "EPBATCH_MIN_BATCH=$v: want one line naming it, got: $(cat "$tmp/err")"
done

if env EPBATCH_MIN_BATCH=lots LD_PRELOAD=$SHIM "$LOOP" -n 1 -i 1 >/dev/null 2>"$tmp/err"; then
	bad "EPBATCH_MIN_BATCH=lots was accepted"
fi
[ "$(wc -l <"$tmp/err")" = 1 ] && grep -q "EPBATCH_MIN_BATCH='lots'" "$tmp/err" ||
	bad "EPBATCH_MIN_BATCH=lots: want one line naming it, got: $(cat "$tmp/err")"

if env EPBATCH_BACKEND=sync EPBATCH_MIN_BATCH=-3 LD_PRELOAD=$SHIM "$LOOP" -n 1 -i 1 >/dev/null 2>"$tmp/err"; then
	bad "EPBATCH_MIN_BATCH=-3 was accepted under the sync backend"
fi

[ $fail = 0 ] && echo "policy checks passed"
exit $fail
