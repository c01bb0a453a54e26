// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Spin-lock rung 3: cpu-clock sampling, which needs neither trampolines nor
 * kprobes.  A sample whose kernel IP lies in a slow-path function counts as
 * spinning; it is charged to the fd table when a frame below it is one of
 * the functions that take files->file_lock (alloc_fd, file_close_fd, ...).
 * The text ranges come from /proc/kallsyms through cfg.
 */
#include "stacks.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64[EPB_STACK_DEPTH]);
} stack_buf SEC(".maps");

static __always_inline bool in_ranges(__u64 ip, __u32 from, __u32 to)
{
	for (__u32 i = 0; i < EPB_MAX_RANGES; i++) {
		if (i < from || i >= to)
			continue;
		if (ip >= cfg.range_start[i] && ip < cfg.range_end[i])
			return true;
	}
	return false;
}

SEC("perf_event")
int on_sample(struct bpf_perf_event_data *ctx)
{
	__u64 id = bpf_get_current_pid_tgid(), *stack;
	__u32 zero = 0, nslow = cfg.nr_slow_ranges, nall = cfg.nr_ranges;
	struct epb_thread *t;
	long len;

	t = epb_current_record(id);
	if (!t)
		return 0;
	__sync_fetch_and_add(&t->samples, 1);
	if (!in_ranges(PT_REGS_IP(&ctx->regs), 0, nslow))
		return 0;
	__sync_fetch_and_add(&t->slow_samples, 1);
	if (cfg.stacks)
		epb_stack_spin(ctx, id >> 32);

	stack = bpf_map_lookup_elem(&stack_buf, &zero);
	if (!stack)
		return 0;
	len = bpf_get_stack(ctx, stack, EPB_STACK_DEPTH * sizeof(__u64), 0);
	if (len <= 0)
		return 0;
	for (__u32 i = 0; i < EPB_STACK_DEPTH; i++) {
		if (i * sizeof(__u64) >= (__u64)len)
			break;
		if (in_ranges(stack[i], nslow, nall)) {
			__sync_fetch_and_add(&t->slow_files_samples, 1);
			break;
		}
	}
	return 0;
}
