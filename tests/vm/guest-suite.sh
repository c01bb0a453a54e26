#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# The guest test suite: what `scripts/vm-test` runs when given no command.
# Runs inside the test guest (busybox sh, root, cwd = the source tree, the
# module already inserted by /init, BUILD = the absolute build directory).
#
#   1. kmod-test: the module's behaviour (every op, fallback, error path,
#      partial progress on fault and signal, the fused wait).
#   2. kmod-fuzz: randomized ioctls, as root (VMTEST_FUZZ_CALLS, default 100000;
#      VMTEST_FUZZ_SEED, default random and printed); both programs again
#      built with ASan+UBSan.
#   3. the kernel log has no WARN/BUG/Oops; the allow_seccomp opt-in; rmmod
#      works and removes the device; loading with addresses passed by hand
#      works and a wrong address is refused; dev_mode: a mode with any
#      permission for others is refused, 0600 is honoured; the module is
#      loaded again for what follows.
#   4. every executable tests/vm/guest.d/*.sh (other parts' guest tests),
#      each with /dev/epoll_batch present.
# Prints "VMSUITE ok|FAIL|skip <step>" per step and exits non-zero if any
# step failed.
B=${BUILD:-build}
KO=${EPB_KMOD_PATH:-$B/vm/kmod/epoll_batch.ko}
fail=0 steps=0

uptime_s() { cut -d' ' -f1 /proc/uptime; }

step() {
	name=$1
	shift
	steps=$((steps + 1))
	echo "--- $name"
	t0=$(uptime_s)
	"$@"
	rc=$?
	t1=$(uptime_s)
	secs=$(echo "$t0 $t1" | awk '{printf "%.1f", $2 - $1}')
	case $rc in
	0) echo "VMSUITE ok $name (${secs}s)" ;;
	77) echo "VMSUITE skip $name" ;;
	*) echo "VMSUITE FAIL $name (exit $rc, ${secs}s)"; fail=$((fail + 1)) ;;
	esac
}

kernel_log_clean() {
	if dmesg | grep -E 'WARNING: CPU|BUG:|Oops|\] general protection fault|Call Trace:|UBSAN:|KASAN:'; then
		echo "the kernel log has warnings/oopses (above)"
		return 1
	fi
	return 0
}

rmmod_works() {
	[ -c /dev/epoll_batch ] || { echo "/dev/epoll_batch missing before rmmod"; return 1; }
	rmmod epoll_batch || { echo "rmmod epoll_batch failed"; return 1; }
	if grep -q '^epoll_batch ' /proc/modules || [ -e /dev/epoll_batch ]; then
		echo "the module or its device is still there after rmmod"
		return 1
	fi
	return 0
}

addr_of() { awk -v s="$1" '$3 == s { print "0x" $1; exit }' /proc/kallsyms; }

params_work() {
	ctl=$(addr_of do_epoll_ctl)
	pw=$(addr_of __x64_sys_epoll_pwait)
	bad=$(addr_of __x64_sys_epoll_ctl)
	[ -n "$ctl" ] && [ -n "$pw" ] && [ -n "$bad" ] || { echo "symbols not in /proc/kallsyms"; return 1; }
	[ "$ctl" != 0x0000000000000000 ] || { echo "kallsyms hides addresses (kptr_restrict)"; return 77; }
	# A wrong address (another function) must be refused with a clear line.
	if insmod "$KO" do_epoll_ctl_addr="$bad" sys_epoll_pwait_addr="$pw" 2>/dev/null; then
		echo "a wrong do_epoll_ctl_addr was accepted"; rmmod epoll_batch; return 1
	fi
	dmesg | tail -n 5 | grep -q 'not the start of do_epoll_ctl' ||
		{ echo "no clear message for a wrong address"; dmesg | tail -n 5; return 1; }
	insmod "$KO" do_epoll_ctl_addr="$ctl" sys_epoll_pwait_addr="$pw" ||
		{ echo "insmod with addresses from /proc/kallsyms failed"; return 1; }
	"$B"/vm/kmod-test >/tmp/kmod-test-params.log 2>&1 ||
		{ cat /tmp/kmod-test-params.log; echo "kmod-test failed with hand-passed addresses"; return 1; }
	tail -n 1 /tmp/kmod-test-params.log
	rmmod epoll_batch || { echo "rmmod failed"; return 1; }
	return 0
}

# allow_seccomp=1 (the administrator's opt-in) lets a filtered caller in;
# back to the default (refuse) afterwards.
seccomp_opt_in() {
	p=/sys/module/epoll_batch/parameters/allow_seccomp
	[ "$(cat $p)" = N ] || { echo "allow_seccomp is not off by default: $(cat $p)"; return 1; }
	echo 1 >$p || return 1
	"$B"/vm/kmod-test --seccomp-allowed
	rc=$?
	echo 0 >$p
	return $rc
}

node_mode_of() { stat -c %a /dev/epoll_batch; }

# dev_mode: nothing for others is accepted (the ioctl needs only an open
# file, read-only will do); an allowed mode is what the node gets.
dev_mode_param() {
	[ "$(node_mode_of)" = 660 ] || { echo "default node mode $(node_mode_of), want 660"; return 1; }
	rmmod epoll_batch || return 1
	for m in 0666 0664 0604 01660 0770; do
		if insmod "$KO" dev_mode=$m 2>/dev/null; then
			echo "dev_mode=$m was accepted (node $(node_mode_of))"; rmmod epoll_batch; return 1
		fi
	done
	dmesg | tail -n 3 | grep -q 'dev_mode=0770 refused' ||
		{ echo "no clear message for a refused dev_mode"; dmesg | tail -n 3; return 1; }
	insmod "$KO" dev_mode=0600 || { echo "dev_mode=0600 refused"; return 1; }
	m=$(node_mode_of)
	rmmod epoll_batch
	[ "$m" = 600 ] || { echo "dev_mode=0600 gave a $m node"; return 1; }
	return 0
}

reload() {
	insmod "$KO" || return 1
	[ -c /dev/epoll_batch ] || { echo "/dev/epoll_batch did not come back"; return 1; }
}

seed=${VMTEST_FUZZ_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
step "kmod-test" "$B"/vm/kmod-test
step "seccomp opt-in (allow_seccomp=1)" seccomp_opt_in
step "kmod-fuzz as root (seed $seed)" "$B"/vm/kmod-fuzz -n "${VMTEST_FUZZ_CALLS:-100000}" -s "$seed"
# The same under ASan+UBSan (user-space memory errors in the test programs).
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
step "kmod-test (ASan+UBSan)" "$B"/vm/kmod-test-asan
step "kmod-fuzz (ASan+UBSan, seed $seed)" "$B"/vm/kmod-fuzz-asan -n 5000 -s "$seed"
step "kernel log clean after tests and fuzzing" kernel_log_clean
step "rmmod" rmmod_works
step "load with addresses passed by hand" params_work
reload >/dev/null 2>&1
step "dev_mode parameter (0660 default, nothing for others)" dev_mode_param
step "load again (kprobe lookup)" reload

# A TCG workaround for the guest.d tests, which attach the tracer.  Attaching
# it enables the sys_enter/sys_exit tracepoints' static keys, i.e. patches
# kernel text (text_poke_bp) while the other vCPU runs syscalls; under qemu's
# multi-threaded TCG that intermittently left both vCPUs stuck at the patched
# site in syscall_trace_enter ("soft lockup ... epbatch-trace": 2 of 3 runs
# of 6 attaches in unshare-run.sh, and once in trace-rungs.sh in a CI run).
# Holding the keys on for the whole loop (the raw_syscalls trace events
# enabled with tracing off: nothing is recorded) means no attach or detach
# patches them: 12 of 12 attaches passed that way.
TRACEFS=/sys/kernel/tracing
hold_keys() {
	[ -d $TRACEFS/events/raw_syscalls ] || return 0
	echo 0 >$TRACEFS/tracing_on
	echo "$1" >$TRACEFS/events/raw_syscalls/sys_enter/enable
	echo "$1" >$TRACEFS/events/raw_syscalls/sys_exit/enable
}
hold_keys 1
for s in tests/vm/guest.d/*.sh; do
	[ -f "$s" ] && [ -x "$s" ] || continue
	step "guest.d/${s##*/}" sh "$s"
	[ -c /dev/epoll_batch ] || reload
done
hold_keys 0

step "kernel log clean at the end" kernel_log_clean
step "final rmmod" rmmod_works
echo "VMSUITE: $steps steps, $fail failed"
[ $fail = 0 ]
