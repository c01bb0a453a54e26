/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * --stacks on the spin-lock slow path: the kernel stack of each slow-path
 * entry (fentry, kprobe rungs) or slow-path sample (sampling rung), counted
 * per (tgid, stack).  Included by every spin rung; each rung calls
 * epb_stack_spin() behind `if (cfg.stacks)`, a read-only flag, so without
 * --stacks the verifier removes the call and the rung is what it was.
 *
 * Lock-free, because this runs inside native_queued_spin_lock_slowpath:
 *  - no bpf_get_stackid(): the stack-trace map takes its buckets from a
 *    freelist guarded by spin locks; bpf_get_stack() copies the frames into
 *    a per-CPU buffer and takes none;
 *  - no hash map (not even BPF_MAP_TYPE_PERCPU_HASH, which still takes a
 *    bucket lock): the counts live in a per-CPU array, indexed by a hash of
 *    the frames; a free slot is claimed with one compare-and-swap, counts
 *    are atomic adds (an interrupt may nest another slow path on this CPU);
 *  - a slot already holding another stack sends the entry to the overflow
 *    slot (index EPB_SPIN_SLOTS), counted, never lost silently.
 * User space (user/stacks.c) adds the CPUs' slots of the same tag.
 */
#ifndef EPBATCH_STACKS_BPF_H
#define EPBATCH_STACKS_BPF_H

#include "common.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, EPB_SPIN_SLOTS + 1);	/* 1 without --stacks (user/loader.c) */
	__type(key, __u32);
	__type(value, struct epb_spin_slot);
} spin_stacks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64[EPB_STACK_DEPTH_MAX]);
} spin_stack_buf SEC(".maps");

static __always_inline void epb_stack_spin(void *ctx, __u32 tgid)
{
	__u32 zero = 0, idx, nr;
	__u64 *ips, h = 0xcbf29ce484222325ULL ^ tgid, tag;
	struct epb_spin_slot *s;
	long len;

	ips = bpf_map_lookup_elem(&spin_stack_buf, &zero);
	if (!ips)
		return;
	len = bpf_get_stack(ctx, ips, EPB_STACK_DEPTH_MAX * sizeof(__u64), 0);
	if (len <= 0)
		return;
	nr = (__u32)len / sizeof(__u64);
	for (__u32 i = 0; i < EPB_STACK_DEPTH_MAX; i++) {	/* FNV-1a over the frames */
		if (i >= nr)
			break;
		h = (h ^ ips[i]) * 0x100000001b3ULL;
	}
	tag = h | 1;
	idx = (__u32)(h >> 32) & (EPB_SPIN_SLOTS - 1);
	s = bpf_map_lookup_elem(&spin_stacks, &idx);
	if (!s)
		return;
	if (s->tag != tag) {
		if (s->tag || __sync_val_compare_and_swap(&s->tag, 0, tag) != 0) {
			idx = EPB_SPIN_SLOTS;	/* the slot holds another stack */
			s = bpf_map_lookup_elem(&spin_stacks, &idx);
			if (s)
				__sync_fetch_and_add(&s->count, 1);
			return;
		}
		s->tgid = tgid;
		s->nr = nr;
		bpf_probe_read_kernel(s->ips, sizeof(s->ips), ips);
	}
	__sync_fetch_and_add(&s->count, 1);
}

/*
 * The exact rungs' entry programs: the filters asked once, for the stack and
 * the timing both; the stack is walked before the timestamp, so its cost is
 * not counted as spinning.  cfg.stacks first, so it prunes the walk.
 */
static __always_inline int epb_spin_entry(void *ctx, const void *lock)
{
	__u64 id = bpf_get_current_pid_tgid();
	bool traced = epb_current_traced(id);

	if (cfg.stacks && traced)
		epb_stack_spin(ctx, id >> 32);
	return epb_spin_enter(lock, traced);
}

#endif /* EPBATCH_STACKS_BPF_H */
