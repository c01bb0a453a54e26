#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# In the guest (Debian's 6.1 kernel, where fentry and kprobes exist): the
# tracer's BPF programs load on 6.1's verifier, and the fentry and kprobe
# rungs measure real slow-path spinning on the fd-table lock from threads
# that churn socket()/close().  Behaviour and counts only: TCG timings mean
# nothing.
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
echo "trace-rungs: $fails failures"
[ $fails = 0 ]
