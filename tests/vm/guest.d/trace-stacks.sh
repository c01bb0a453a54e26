#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# In the guest (Debian's 6.1 kernel): --stacks loads on 6.1's verifier with
# each exact rung (fentry, kprobe), whose entry programs then record kernel
# stacks of the spin-lock slow path.
BUILD=${BUILD:-build}
TRACE=$BUILD/vm/epbatch-trace
GEN=$BUILD/vm/ctlgen
[ -x "$TRACE" ] && [ -x "$GEN" ] || { echo "trace-stacks: $TRACE or $GEN not built"; exit 1; }
fails=0
T=/tmp/trace-stacks
mkdir -p $T

for m in fentry kprobe; do
	if ! $TRACE record --spin-method $m --folded $T/$m.folded --stack-period 1 -o $T/$m.json -- \
		$GEN --threads 2 --churn 20000 >$T/$m.log 2>&1; then
		echo "FAIL $m: record --stacks failed"; cat $T/$m.log; fails=$((fails + 1)); continue
	fi
	spin=$(grep -c '^ctlgen;\[spin\];.*queued_spin_lock_slowpath_\[k\] [0-9]*$' $T/$m.folded)
	echo "$m: $spin spin stacks ending in the slow path"
	grep '\[spin\]' $T/$m.folded | head -n 2
	[ "$spin" -gt 0 ] || { echo "FAIL $m: no spin stacks"; fails=$((fails + 1)); }
	grep -q '"spin_unit": "entries"' $T/$m.json || { echo "FAIL $m: spin_unit"; fails=$((fails + 1)); }
done
echo "trace-stacks: $fails failures"
[ $fails = 0 ]
