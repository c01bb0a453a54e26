#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# libepbatch.so behaviour: coalescing and errno, close_range robustness,
# signal-handler reentrancy, EPBATCH_UNSHARE, what a fork child inherits -- natively and under every
# backend available, plus the shim's own counters proving the ops were
# really deferred (a shim that passed everything through would fail here).
set -u
# These check the batching machinery itself: every op the mirror can answer
# is deferred, whatever the batch size (the default policy batches only
# where it pays: tests/shim/t-shim-policy.sh).
export EPBATCH_MIN_BATCH=0
cd "$(dirname "$0")/../.." || exit 1
BUILD=${BUILD:-build}
SHIM=$BUILD/libepbatch.so
CHECK=$BUILD/shim/shim-check
if [ ! -f "$SHIM" ] || [ ! -x "$CHECK" ]; then
	echo "t-shim-checks: $SHIM or $CHECK missing (make all tests-build)"
	exit 1
fi
backends="sync uring"
[ -e /dev/epoll_batch ] && backends="$backends kmod"
tmp=$(mktemp) || exit 1
trap 'rm -f "$tmp"' EXIT
fail=0

bad() { echo "FAIL: $*"; fail=1; }
stat() { sed -n 's/.* '"$1"'=\([0-9]*\).*/\1/p' "$tmp" | tail -n 1; }

# shim BACKEND FUSED ARGS...: run shim-check under the shim, counters in $tmp
shim() {
	b=$1 fused=$2
	shift 2
	EPBATCH_BACKEND=$b EPBATCH_FUSED=$fused EPBATCH_STATS=1 LD_PRELOAD=$SHIM \
		timeout 60 "$CHECK" "$@" 2>"$tmp"
}

# try NAME BACKEND FUSED ARGS...: shim(); if it fails, its output and a FAIL
# line naming the run, and status 1
try() {
	n=$1
	shift
	shim "$@" && return 0
	cat "$tmp"
	bad "$n"
	return 1
}

for c in coalesce closerange sighandler; do
	timeout 60 "$CHECK" $c || bad "native $c"
	for b in $backends; do
		for fused in 1 0; do
			[ $b = sync ] && [ $fused = 0 ] && continue
			name="$c under $b (fused=$fused)"
			try "$name" $b $fused $c || continue
			grep -q "backend=$b " "$tmp" || bad "$name: no stats line for backend $b"
			d=$(stat deferred) co=$(stat coalesced) ba=$(stat batches) fb=$(stat fallbacks)
			echo "$name: deferred=$d coalesced=$co batches=$ba fallbacks=$fb"
			if [ $b = sync ]; then
				[ "$d" = 0 ] || bad "$name: sync deferred $d ops"
				continue
			fi
			[ "${fb:-1}" = 0 ] || bad "$name: $fb fallbacks"
			case $c in
			coalesce) [ "${co:-0}" -ge 2 ] || bad "$name: coalesced $co, want >= 2" ;;
			closerange) [ "${ba:-0}" -ge 290 ] || bad "$name: $ba batches, want >= 290" ;;
			sighandler) [ "${d:-0}" -ge 640 ] || bad "$name: deferred $d, want >= 640" ;;
			esac
		done
	done
done

"$CHECK" unshare shared || bad "native: a thread's fd is not visible to the others"
for b in $backends; do
	EPBATCH_BACKEND=$b EPBATCH_UNSHARE=1 LD_PRELOAD=$SHIM "$CHECK" unshare private ||
		bad "EPBATCH_UNSHARE=1 ($b): the loop thread's fd table is not private"
	EPBATCH_BACKEND=$b LD_PRELOAD=$SHIM "$CHECK" unshare shared ||
		bad "without EPBATCH_UNSHARE ($b): the fd table is not shared"
done

# EPBATCH_UNSHARE=1 with per-thread loops whose epoll fds all exist before
# the first one unshares: every worker still batches (none passes through)
timeout 60 "$CHECK" workers || bad "native workers"
for b in $backends; do
	[ $b = sync ] && continue
	name="workers under $b with EPBATCH_UNSHARE=1"
	if ! EPBATCH_BACKEND=$b EPBATCH_UNSHARE=1 EPBATCH_STATS=1 LD_PRELOAD=$SHIM \
		timeout 60 "$CHECK" workers 2>"$tmp"; then
		cat "$tmp"
		bad "$name"
		continue
	fi
	d=$(stat deferred) p=$(stat passthrough)
	echo "$name: deferred=$d passthrough=$p"
	[ "${p:-1}" = 0 ] || bad "$name: $p ops passed through, want 0"
	[ "${d:-0}" -ge 12800 ] || bad "$name: deferred $d, want >= 12800 (2 x 100 x 64)"
done
# the same workers unsharing their fd tables themselves, then opening their
# fds (same numbers in both tables): each needs its own mirror
timeout 60 "$CHECK" workers unshare || bad "native workers unshare"
for b in $backends; do
	[ $b = sync ] && continue
	name="workers calling unshare(CLONE_FILES) under $b"
	try "$name" $b 1 workers unshare || continue
	d=$(stat deferred) p=$(stat passthrough) m=$(stat mispredicted)
	echo "$name: deferred=$d passthrough=$p mispredicted=$m"
	[ "${m:-1}" = 0 ] || bad "$name: $m mispredicted ops"
	[ "${d:-0}" -ge 12800 ] || bad "$name: deferred $d, want >= 12800 (2 x 100 x 64)"
done

# fork + _exit + waitpid (redis BGSAVE): once the child is reaped the
# instance is batched again (3 x 100 rounds x 64 re-arms after the reaps)
timeout 60 "$CHECK" forkreap || bad "native forkreap"
for b in $backends; do
	[ $b = sync ] && continue
	name="forkreap under $b"
	try "$name" $b 1 forkreap || continue
	d=$(stat deferred) p=$(stat passthrough)
	echo "$name: deferred=$d passthrough=$p"
	[ "${d:-0}" -ge 19200 ] || bad "$name: deferred $d, want >= 19200 (batching back after the reap)"
done

# fork after an epoll instance was made and closed (nginx's master): the
# child holds none of its parent's instances, so its epoll_ctl calls take
# the direct way (sync: every op direct; the child's counters are the first
# line, it exits first); with the parent's instance still open in it, the
# careful way (passthrough), which reports a change of an inherited one.
for k in closed keep; do
	timeout 60 "$CHECK" forkepoll $k || bad "native forkepoll $k"
	try "forkepoll $k under sync" sync 1 forkepoll $k || continue
	p=$(grep '^epbatch: pid=' "$tmp" | head -n 1 | sed -n 's/.* passthrough=\([0-9]*\).*/\1/p')
	echo "forkepoll $k: the child's passthrough=$p"
	case $k in
	closed) [ "${p:-x}" = 0 ] || bad "forkepoll closed: the child's passthrough=$p, want 0 (nothing inherited: the direct way)" ;;
	keep) [ "${p:-0}" -ge 3200 ] || bad "forkepoll keep: the child's passthrough=$p, want every op (an inherited instance is open)" ;;
	esac
done

# A deferred op the kernel refuses (a DEL made behind the shim's back):
# counted as mispredicted, pinned on its own fd alone, which the mirror then
# forgets and learns again at its re-ADD.  Every op deferred (MIN_BATCH=0),
# so the only ops passing through are the refused fd's next MOD (ENOENT) and
# its re-ADD: before the mirror learnt from that ADD, that fd's every later
# MOD passed through, flushing the batch before it (21 in 40 rounds).
rc=0
timeout 60 "$CHECK" refused || rc=$?
case $rc in
0)
	for b in $backends; do
		[ $b = sync ] && continue
		for fused in 1 0; do
			name="refused under $b (fused=$fused)"
			EPBATCH_MIN_BATCH=0 try "$name" $b $fused refused || continue
			m=$(stat mispredicted) p=$(stat passthrough) d=$(stat deferred)
			echo "$name: mispredicted=$m passthrough=$p deferred=$d"
			[ "${m:-0}" = 1 ] || bad "$name: mispredicted=$m, want 1"
			[ "${p:-x}" = 2 ] || bad "$name: passthrough=$p, want 2 (the refused fd's MOD and re-ADD)"
		done
	done ;;
77) echo "refused: skipped (x86_64 only)" ;;
*) bad "native refused" ;;
esac

# bad input: one clear line on stderr, non-zero exit.  Run a program built
# here: /bin/true may be static (busybox in the test guest), and LD_PRELOAD
# does nothing to a static binary (it then "accepted" the bogus name).
if EPBATCH_BACKEND=bogus LD_PRELOAD=$SHIM "$CHECK" coalesce 2>"$tmp"; then
	bad "EPBATCH_BACKEND=bogus was accepted"
fi
[ "$(wc -l <"$tmp")" = 1 ] && grep -q "EPBATCH_BACKEND='bogus'" "$tmp" ||
	bad "EPBATCH_BACKEND=bogus: want one line naming it, got: $(cat "$tmp")"

[ $fail = 0 ] && echo "all shim checks passed"
exit $fail
