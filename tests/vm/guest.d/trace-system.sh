#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# In the guest (Debian's 6.1 kernel): the system-wide filters load on 6.1's
# verifier, in the counting object and in the fentry rung that shares them
# (--comm: two comm compares, --cgroup: bpf_get_current_ancestor_cgroup_id,
# -p A,B: the tgids lookup), and count exactly what the filter picks.
NAME=trace-system
. tests/vm/trace-lib.sh
CG=/sys/fs/cgroup
grep -q " $CG cgroup2 " /proc/mounts || mount -t cgroup2 none $CG
mkdir -p $CG/epbt

# trace NAME ARGS...: the tracer until ctlgen (in the cgroup) has run: 3 x 40 ADDs
trace() {
	name=$1; shift
	: >$T/$name.err
	$TRACE "$@" -i 0 -d 30 --spin-method fentry --json $T/$name.json >$T/$name.out 2>$T/$name.err &
	tr=$!
	i=0
	while ! grep -q "^Tracing" $T/$name.err && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
	sh -c "echo \$\$ >$CG/epbt/cgroup.procs; exec $GEN --threads 2 --adds 40 --dels 40" &&
		$GEN --threads 1 --adds 7 >/dev/null
	kill -INT $tr
	wait $tr || { echo "FAIL $name: exit $?"; cat $T/$name.err; fails=$((fails + 1)); return; }
	add=$(first add $T/$name.json)
	echo "$name: totals.epoll_ctl.add=$add"
	[ "$add" = "$want" ] || { echo "FAIL $name: add $add, want $want"; fails=$((fails + 1)); }
}

want=120; trace cgroup --cgroup $CG/epbt
want=120; trace cgroup-comm --cgroup $CG/epbt --comm ctlgen
want=0; trace comm-none --comm no-such-task
echo "trace-system: $fails failures"
[ $fails = 0 ]
