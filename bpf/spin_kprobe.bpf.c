// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Spin-lock rung 2: kprobe/kretprobe, for kernels where fentry is refused. */
#include "stacks.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("kprobe/native_queued_spin_lock_slowpath")
int BPF_KPROBE(native_enter, struct qspinlock *lock)
{
	return epb_spin_entry(ctx, lock);
}

SEC("kretprobe/native_queued_spin_lock_slowpath")
int BPF_KRETPROBE(native_exit)
{
	return epb_spin_exit();
}

SEC("kprobe/__pv_queued_spin_lock_slowpath")
int BPF_KPROBE(pv_enter, struct qspinlock *lock)
{
	return epb_spin_entry(ctx, lock);
}

SEC("kretprobe/__pv_queued_spin_lock_slowpath")
int BPF_KRETPROBE(pv_exit)
{
	return epb_spin_exit();
}
