// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Spin-lock rung 1: fentry/fexit on the queued-spinlock slow paths.  The
 * cheapest exact method (a trampoline, no breakpoint), where the kernel
 * allows it.  The native and the paravirt slow path are separate programs so
 * user space can drop one the kernel lacks.
 */
#include "stacks.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("fentry/native_queued_spin_lock_slowpath")
int BPF_PROG(native_enter, struct qspinlock *lock)
{
	return epb_spin_entry(ctx, lock);
}

SEC("fexit/native_queued_spin_lock_slowpath")
int BPF_PROG(native_exit, struct qspinlock *lock)
{
	return epb_spin_exit();
}

SEC("fentry/__pv_queued_spin_lock_slowpath")
int BPF_PROG(pv_enter, struct qspinlock *lock)
{
	return epb_spin_entry(ctx, lock);
}

SEC("fexit/__pv_queued_spin_lock_slowpath")
int BPF_PROG(pv_exit, struct qspinlock *lock)
{
	return epb_spin_exit();
}
