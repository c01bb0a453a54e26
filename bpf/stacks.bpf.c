// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * --stacks: who calls epoll_ctl.  Loaded only with --stacks, as an object of
 * its own (it reuses the counting object's maps), so without the flag the
 * epoll_ctl path runs exactly the programs it ran before.
 *
 * A stack walk costs more than the syscall itself (measured on a Firecracker
 * guest: ~500 ns for the user stack, ~870 ns for the kernel's, against a
 * ~180 ns epoll_ctl), so one call in stack_period, drawn at random (no
 * periodic pattern of ops can alias with it), is walked; user space scales
 * the counts by the period.  stack_period 1 walks every call.
 *
 * On a walked call: the user stack (cut at the first word that cannot be a
 * user-space return address, kept in user_stacks under its hash), the
 * kernel stack (an id in a stack-trace map), and the word at the user stack
 * pointer.  That word is
 * the return address into the caller when the syscall wrapper is a leaf
 * that pushed no frame (glibc's epoll_ctl): a frame-pointer walk starts at
 * the caller's caller and would miss the function that called epoll_ctl.
 * User space keeps it only when it points into executable code.  The counts
 * go into an ordinary hash map: this is the epoll_ctl path, not a spin path.
 * A process's first walked call is announced on a ring buffer, so user space
 * reads its maps while it lives (a short command may be gone within ms).
 * The spin rungs' stacks: bpf/stacks.bpf.h.
 */
#include "stacks.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";


const volatile __u32 stack_period = 1;	/* walk one call in this many */
__u64 ctl_dropped;		/* calls not counted: ctl_stacks was full */

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, EPB_STACK_ENTRIES);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, EPB_STACK_DEPTH_MAX * sizeof(__u64));
} stack_traces SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, EPB_STACK_ENTRIES);
	__type(key, __u64);
	__type(value, struct epb_user_stack);
} user_stacks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct epb_user_stack);
} user_stack_buf SEC(".maps");

/* The user stack, cut at its first implausible word, stored; its key or 0. */
static __always_inline __u64 user_stack(void *ctx)
{
	struct epb_user_stack *b;
	__u64 h = 0xcbf29ce484222325ULL;
	__u32 zero = 0, nr;
	long len;

	b = bpf_map_lookup_elem(&user_stack_buf, &zero);
	if (!b)
		return 0;
	len = bpf_get_stack(ctx, b->ips, sizeof(b->ips), BPF_F_USER_STACK);
	if (len <= 0)
		return 0;
	nr = (__u32)len / sizeof(__u64);
	for (__u32 i = 0; i < EPB_STACK_DEPTH_MAX; i++) {	/* FNV-1a over the frames */
		if (i >= nr)
			break;
		if (b->ips[i] < 4096 || b->ips[i] >= (1ULL << 47)) {
			nr = i;
			break;
		}
		h = (h ^ b->ips[i]) * 0x100000001b3ULL;
	}
	b->nr = nr;
	h |= 1;
	if (!bpf_map_lookup_elem(&user_stacks, &h))
		bpf_map_update_elem(&user_stacks, &h, b, BPF_NOEXIST);
	return h;
}

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, EPB_CTL_STACK_KEYS);
	__type(key, struct epb_stack_key);
	__type(value, __u64);
} ctl_stacks SEC(".maps");

/* processes already announced on new_procs */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u8);
} procs_seen SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} new_procs SEC(".maps");

static __always_inline void announce(__u32 tgid)
{
	__u8 one = 1;

	if (bpf_map_lookup_elem(&procs_seen, &tgid) ||
	    bpf_map_update_elem(&procs_seen, &tgid, &one, BPF_NOEXIST))
		return;
	bpf_ringbuf_output(&new_procs, &tgid, sizeof(tgid), 0);
}

SEC("tp/syscalls/sys_enter_epoll_ctl")
int stacks_ctl(struct trace_event_raw_sys_enter *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32;
	struct epb_stack_key k = {};
	struct pt_regs *regs;
	__u64 *cnt, one = 1;

	/* one process: a compare first; the filters: only on a drawn call */
	if (cfg.tgid && !epb_traced(tgid))
		return 0;
	if (stack_period > 1 && bpf_get_prandom_u32() % stack_period)
		return 0;
	if (!cfg.tgid && !epb_current_traced(id))
		return 0;
	k.op = epb_ctl_index(ctx->args[1]);
	k.tgid = tgid;
	announce(tgid);
	k.ustack = user_stack(ctx);
	k.kstack = bpf_get_stackid(ctx, &stack_traces, 0);
	regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	if (bpf_probe_read_user(&k.caller, sizeof(k.caller), (void *)PT_REGS_SP_CORE(regs)))
		k.caller = 0;
	cnt = bpf_map_lookup_elem(&ctl_stacks, &k);
	if (cnt) {
		__sync_fetch_and_add(cnt, 1);
		return 0;
	}
	if (!bpf_map_update_elem(&ctl_stacks, &k, &one, BPF_NOEXIST))
		return 0;
	cnt = bpf_map_lookup_elem(&ctl_stacks, &k);	/* another thread added it */
	if (cnt)
		__sync_fetch_and_add(cnt, 1);
	else
		__sync_fetch_and_add(&ctl_dropped, 1);
	return 0;
}
