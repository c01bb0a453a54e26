/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Maps and helpers shared by every epbatch BPF object.  Each object declares
 * the same maps; user space creates them once (epbatch.bpf.c) and hands the
 * same fds to the spin-lock rungs with bpf_map__reuse_fd(), so a rung that
 * fails to load never takes the syscall accounting down with it.
 *
 * Nothing here takes a lock: the per-thread record is found through an array
 * indexed by tid (a plain load), and counters that can be hit from interrupt
 * context are atomic adds.  That matters because the spin-lock rungs run
 * inside native_queued_spin_lock_slowpath itself.
 */
#ifndef EPBATCH_COMMON_BPF_H
#define EPBATCH_COMMON_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "epbatch.h"

/* uapi eventpoll.h's (vmlinux.h has no macros) */
#define EPOLL_CTL_ADD 1
#define EPOLL_CTL_DEL 2
#define EPOLL_CTL_MOD 3

/* An epoll_ctl op's index among the counters (enum epb_ctl_op);
 * EPB_CTL_OPS for none of ADD, MOD, DEL. */
static __always_inline __u32 epb_ctl_index(__s64 op)
{
	switch (op) {
	case EPOLL_CTL_ADD: return EPB_CTL_ADD;
	case EPOLL_CTL_MOD: return EPB_CTL_MOD;
	case EPOLL_CTL_DEL: return EPB_CTL_DEL;
	default: return EPB_CTL_OPS;
	}
}

/* The per-thread records; mmap()ed by user space. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, EPB_MAX_THREADS);
	__type(key, __u32);
	__type(value, struct epb_thread);
} threads SEC(".maps");

/*
 * tid -> slot in threads[].  An array sized to pid_max (set by user space
 * before load) rather than a hash map: a lookup is a bounds check and a load,
 * and assigning a slot is a store, so no path ever waits for a bucket lock.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);	/* resized to pid_max at load time */
	__type(key, __u32);
	__type(value, __u32);
} tid_slot SEC(".maps");

/*
 * Processes traced besides cfg.tgid (--children), or the processes of -p A,B
 * (EPB_F_PIDS): inserted by user space before attach and on fork only.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u8);
} tgids SEC(".maps");

const volatile struct epb_config cfg = {};

/* Does the current task's comm, or its process's (main thread's), equal cfg.comm? */
static __always_inline bool epb_comm_match(void)
{
	struct task_struct *leader;
	__u64 c[EPB_COMM_LEN / 8] = {};

	bpf_get_current_comm(c, sizeof(c));
	if (c[0] == cfg.comm[0] && c[1] == cfg.comm[1])
		return true;
	/* only then the process's name: two more reads */
	leader = BPF_CORE_READ((struct task_struct *)bpf_get_current_task(), group_leader);
	c[0] = c[1] = 0;
	bpf_probe_read_kernel_str(c, sizeof(c), &leader->comm);
	return c[0] == cfg.comm[0] && c[1] == cfg.comm[1];
}

/*
 * Several processes or the whole machine (cfg.tgid 0): each filter is one
 * lookup or compare, never a loop; with no filter the verifier drops them
 * all (cfg is read-only).  The cgroup and comm are the current task's, which
 * every caller is (task_rename aside, where a name written through /proc is
 * checked against the writer).
 */
static __always_inline bool epb_filtered(__u32 tgid)
{
	if ((cfg.filter & EPB_F_PIDS) && !bpf_map_lookup_elem(&tgids, &tgid))
		return false;
	if ((cfg.filter & EPB_F_CGROUP) &&
	    bpf_get_current_ancestor_cgroup_id(cfg.cgroup_level) != cfg.cgroup_id)
		return false;
	return !(cfg.filter & EPB_F_COMM) || epb_comm_match();
}

static __always_inline bool epb_traced(__u32 tgid)
{
	if (!cfg.tgid)
		return epb_filtered(tgid);
	return tgid == cfg.tgid || (cfg.follow_children && bpf_map_lookup_elem(&tgids, &tgid));
}

/* The current thread's record, or NULL when it has none (yet). */
static __always_inline struct epb_thread *epb_lookup(__u32 tid)
{
	__u32 *slot = bpf_map_lookup_elem(&tid_slot, &tid);
	__u32 idx;

	if (!slot)
		return NULL;
	idx = *slot;
	if (!idx)
		return NULL;
	return bpf_map_lookup_elem(&threads, &idx);
}

/* Slot 0: what threads without a record of their own did. */
static __always_inline struct epb_thread *epb_lookup_or_unattributed(__u32 tid)
{
	struct epb_thread *t = epb_lookup(tid);
	__u32 zero = EPB_SLOT_UNATTRIBUTED;

	return t ? t : bpf_map_lookup_elem(&threads, &zero);
}

/*
 * Is the current thread (id: bpf_get_current_pid_tgid()) traced?  For the
 * probes outside the syscall path (spin rungs, sampler, USDT, --stacks).
 * One process: epb_traced(), a compare.  With filters, the answer
 * thread_get() keeps in tid_slot is used (a record or EPB_SLOT_DROPPED:
 * traced; EPB_SLOT_FILTERED: not), so the filters run only for a thread no
 * syscall probe has seen yet, as on the syscall path.  *idx: the thread's
 * tid_slot entry (0: none), looked up with filters or when want_idx.
 */
static __always_inline bool epb_current_slot(__u64 id, bool want_idx, __u32 *idx)
{
	bool filters = !cfg.tgid && cfg.filter;
	__u32 tid = (__u32)id, *slot = NULL;

	if (filters || want_idx)
		slot = bpf_map_lookup_elem(&tid_slot, &tid);
	*idx = slot ? *slot : 0;
	if (!filters)
		return epb_traced(id >> 32);
	if (*idx)
		return *idx != EPB_SLOT_FILTERED;
	return epb_filtered(id >> 32);
}

static __always_inline bool epb_current_traced(__u64 id)
{
	__u32 idx;

	return epb_current_slot(id, false, &idx);
}

/* The current thread's record, slot 0 when it has none, NULL when it is not
 * traced: epb_current_traced() and epb_lookup_or_unattributed() with one
 * tid_slot lookup. */
static __always_inline struct epb_thread *epb_current_record(__u64 id)
{
	__u32 zero = EPB_SLOT_UNATTRIBUTED, idx;
	struct epb_thread *t = NULL;

	if (!epb_current_slot(id, true, &idx))
		return NULL;
	if (idx)	/* EPB_SLOT_DROPPED is out of range: NULL */
		t = bpf_map_lookup_elem(&threads, &idx);
	return t ? t : bpf_map_lookup_elem(&threads, &zero);
}

/* Is the lock the current task's own files_struct->file_lock? */
static __always_inline bool epb_is_files_lock(const void *lock)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct files_struct *files = BPF_CORE_READ(task, files);

	return files && lock == (const void *)&files->file_lock;
}

/*
 * Spin-lock slow path, for the fentry and kprobe rungs: entry pushes a
 * timestamp on a per-CPU stack (the slow path runs with preemption off, and
 * an interrupt may nest another one on the same CPU), exit pops it.
 */
struct epb_spin_frame {
	__u64 ts;
	__u32 files;
	__u32 traced;
};

struct epb_spin_stack {
	__u32 depth;
	__u32 pad;
	struct epb_spin_frame f[EPB_SPIN_NEST];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct epb_spin_stack);
} spin_stack SEC(".maps");

/* traced: epb_traced() of the current process, asked once by the rung's entry */
static __always_inline int epb_spin_enter(const void *lock, bool traced)
{
	struct epb_spin_stack *s;
	__u32 zero = 0, d;

	s = bpf_map_lookup_elem(&spin_stack, &zero);
	if (!s)
		return 0;
	d = s->depth;
	s->depth = d + 1;
	if (d >= EPB_SPIN_NEST)
		return 0;
	s->f[d].traced = traced;
	s->f[d].files = traced && epb_is_files_lock(lock);
	s->f[d].ts = bpf_ktime_get_ns();
	return 0;
}

static __always_inline int epb_spin_exit(void)
{
	__u64 now = bpf_ktime_get_ns(), delta;
	__u32 zero = 0, d, b, tid = (__u32)bpf_get_current_pid_tgid();
	struct epb_spin_stack *s;
	struct epb_thread *t;

	s = bpf_map_lookup_elem(&spin_stack, &zero);
	if (!s || !s->depth)
		return 0;
	d = --s->depth;
	if (d >= EPB_SPIN_NEST || !s->f[d].traced)
		return 0;
	delta = now - s->f[d].ts;
	t = epb_lookup_or_unattributed(tid);
	if (!t)
		return 0;
	__sync_fetch_and_add(&t->spin_count, 1);
	__sync_fetch_and_add(&t->spin_ns, delta);
	b = epb_log2(delta);
	if (b >= EPB_HIST_SLOTS)
		b = EPB_HIST_SLOTS - 1;
	__sync_fetch_and_add(&t->spin_hist[b], 1);
	if (s->f[d].files) {
		__sync_fetch_and_add(&t->spin_files_count, 1);
		__sync_fetch_and_add(&t->spin_files_ns, delta);
	}
	return 0;
}

#endif /* EPBATCH_COMMON_BPF_H */
