#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# In the guest (Debian's 6.1 kernel, where fentry and kprobes exist): the
# tracer's BPF programs load on 6.1's verifier, and the fentry and kprobe
# rungs measure real slow-path spinning on the fd-table lock from threads
# that churn socket()/close(), and with --stacks they record the slow path's
# kernel stacks.  Behaviour and counts only: TCG timings mean nothing.
BUILD=${BUILD:-build}
NAME=trace-rungs
. tests/vm/trace-lib.sh
# KEY inside the totals' "spin" object
spin() { awk -v k="\"$1\":" '/"spin": \{/ { s = 1 } s && $1 == k { gsub(/,/, "", $2); print $2; exit }' "$2"; }

for m in fentry kprobe sample auto; do
	out=$T/$m.json
	if ! $TRACE record --spin-method $m -o $out -- $GEN --threads 2 --churn 20000 >$T/$m.log 2>&1; then
		echo "FAIL $m: record failed"; cat $T/$m.log; fails=$((fails + 1)); continue
	fi
	method=$(sed -n 's/.*"spin_method": "\([a-z]*\)".*/\1/p' $out | head -n 1)
	count=$(spin count $out) ns=$(spin ns $out)
	files=$(spin files_lock_ns $out) samples=$(spin samples $out)
	sockets=$(first socket $out)
	echo "$m: method=$method count=$count ns=$ns files_lock_ns=$files samples=$samples sockets=$sockets"
	want=$m
	[ $m = auto ] && want=fentry	# the top rung works on this kernel
	[ "$method" = "$want" ] || { echo "FAIL $m: method is '$method', want $want"; fails=$((fails + 1)); }
	[ "$sockets" = 40000 ] || { echo "FAIL $m: socket count $sockets != 40000"; fails=$((fails + 1)); }
	case $m in
	fentry|kprobe|auto)
		# two threads allocating/freeing fds contend on files->file_lock
		[ "${count:-0}" -gt 0 ] && [ "${ns:-0}" -gt 0 ] && [ "${files:-0}" -gt 0 ] ||
			{ echo "FAIL $m: no slow-path time on file_lock"; fails=$((fails + 1)); } ;;
	sample)
		[ "${samples:-0}" -gt 0 ] || { echo "FAIL sample: no samples"; fails=$((fails + 1)); } ;;
	esac
done
# --stacks loads on 6.1's verifier with each exact rung, whose entry programs
# then record the slow path's kernel stacks
for m in fentry kprobe; do
	if ! $TRACE record --spin-method $m --folded $T/$m.folded --stack-period 1 -o $T/$m-stacks.json -- \
		$GEN --threads 2 --churn 20000 >$T/$m-stacks.log 2>&1; then
		echo "FAIL $m --stacks: record failed"; cat $T/$m-stacks.log; fails=$((fails + 1)); continue
	fi
	n=$(grep -c '^ctlgen;\[spin\];.*queued_spin_lock_slowpath_\[k\] [0-9]*$' $T/$m.folded)
	echo "$m --stacks: $n spin stacks ending in the slow path"
	grep '\[spin\]' $T/$m.folded | head -n 2
	[ "$n" -gt 0 ] || { echo "FAIL $m --stacks: no spin stacks"; fails=$((fails + 1)); }
	grep -q '"spin_unit": "entries"' $T/$m-stacks.json || { echo "FAIL $m --stacks: spin_unit"; fails=$((fails + 1)); }
done
echo "trace-rungs: $fails failures"
[ $fails = 0 ]
