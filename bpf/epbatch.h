/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The one header shared by the BPF programs in bpf/ and user space
 * (user/).  It defines the per-thread record the kernel side fills in and the
 * configuration user space hands to it.
 */
#ifndef EPBATCH_H
#define EPBATCH_H

#include "epbatch/break_even.h"	/* EPB_POLICY_BLOCK */

#define EPB_MAX_THREADS		16384	/* slots in the per-thread array */
#define EPB_COMM_LEN		16
#define EPB_HIST_SLOTS		32	/* log2(ns) buckets of spin-lock waits */
#define EPB_LAT_SLOTS		32	/* -T: log2(ns) buckets of epoll_ctl and wait times */
#define EPB_EV_SLOTS		17	/* -T: events per wait: 0, then log2 buckets 1, 2-3, ... */
#define EPB_BLOCK_SLOTS		33	/* blocks of waits by epoll_ctl calls per wait: 0..31, 32+ */
#define EPB_ITER_SLOTS		7	/* counts in log2 buckets: 0, 1, 2-3, 4-7, 8-15, 16-31, 32+ */
#define EPB_BATCH_SLOTS		10	/* batched submissions by their ops: 0, 1, 2-3, ..., 256+ */
#define EPB_MAX_ERRNO		134	/* errno values counted one by one */
#define EPB_MAX_RANGES		16	/* kernel text ranges for the sampler */
#define EPB_STACK_DEPTH		16	/* kernel frames the sampler inspects */
#define EPB_SPIN_NEST		4	/* task, softirq, hardirq, nmi */
/* A module submission's ops, read EPB_KMOD_CHUNK at a time to count them by
 * op; EPOLL_BATCH_MAX_OPS (the uapi; the loader asserts it), so no
 * submission has more than the chunks scanned. */
#define EPB_KMOD_MAX_OPS	1024
#define EPB_KMOD_CHUNK		64

static inline __attribute__((always_inline)) __u32 epb_log2(__u64 v)
{
	__u32 r = 0;

	/* bounded shifts the 6.1 verifier accepts without a loop */
	if (v >> 32) { v >>= 32; r += 32; }
	if (v >> 16) { v >>= 16; r += 16; }
	if (v >> 8) { v >>= 8; r += 8; }
	if (v >> 4) { v >>= 4; r += 4; }
	if (v >> 2) { v >>= 2; r += 2; }
	if (v >> 1) r += 1;
	return r;
}

/* A count's bucket among slots: 0 for none, then log2 buckets 1, 2-3,
 * 4-7, ..., the last open-ended (events per wait, calls per iteration);
 * and a bucket's lower bound. */
static inline __attribute__((always_inline)) __u32 epb_count_slot(__u64 v, __u32 slots)
{
	__u32 b = v ? epb_log2(v) + 1 : 0;

	return b < slots ? b : slots - 1;
}

static inline __u64 epb_count_low(__u32 slot)
{
	return slot ? 1ULL << (slot - 1) : 0;
}

/* Slot 0 collects what a thread did before it had a slot of its own. */
#define EPB_SLOT_UNATTRIBUTED	0
/* tid_slot value of a thread that found threads[] full: counted once in dropped_threads */
#define EPB_SLOT_DROPPED	0xffffffffU
/* tid_slot value of a thread the filters left out (re-checked when its name or cgroup changes) */
#define EPB_SLOT_FILTERED	0xfffffffeU

/* epb_config.filter: what a thread must match when no single tgid is traced */
#define EPB_F_PIDS		1U	/* its tgid is in the tgids map (-p A,B) */
#define EPB_F_CGROUP		2U	/* it is in cgroup_id or below (--cgroup) */
#define EPB_F_COMM		4U	/* its comm, or its process's, is comm (--comm) */

enum epb_ctl_op {
	EPB_CTL_ADD = 0,
	EPB_CTL_MOD = 1,
	EPB_CTL_DEL = 2,
	EPB_CTL_OPS,
};

enum epb_spin_method {
	EPB_SPIN_NONE = 0,
	EPB_SPIN_FENTRY,
	EPB_SPIN_KPROBE,
	EPB_SPIN_SAMPLE,
};

/*
 * The one counter table: the per-thread counters that are plain sums, as
 * X(field, json_group, json_key, help).  struct epb_thread's fields, user space's
 * struct thread_stats, the interval deltas, the totals, the JSON keys of
 * epbatch/1 (json_group NULL: a key of the thread object; else a key of that
 * sub-object), the CSV columns and OpenMetrics series (streams.c; help is
 * their HELP text) and the check of docs/json-schema.md (tests/unit/test-report.c)
 * all expand this list: a new counter is one line here plus the probe that
 * counts it.  Counters that need more than a sum (epoll_ctl by op, timed
 * fields, spin time that depends on the method) are spelled out.
 */
#define EPB_COUNTERS(X)							\
	X(ctl_bad_op, NULL, "epoll_ctl_bad_op",				\
	  "epoll_ctl calls with none of ADD, MOD, DEL as op")			\
	X(ctl_excl_add, NULL, "epoll_ctl_exclusive_adds",			\
	  "successful epoll_ctl ADDs with EPOLLEXCLUSIVE")			\
	X(ctl_coalescible, NULL, "epoll_ctl_coalescible",			\
	  "epoll_ctl calls a batching shim would fold away: a second op on an fd before the next wait") \
	X(wait, NULL, "epoll_wait",						\
	  "epoll_wait, epoll_pwait and epoll_pwait2 calls")			\
	X(wait_events, NULL, "epoll_wait_events",				\
	  "events returned by the epoll waits")				\
	X(accept, NULL, "accept", "successful accept and accept4 calls")	\
	X(socket, NULL, "socket", "successful socket calls")			\
	X(close, NULL, "close", "close and close_range calls")		\
	X(dup, NULL, "dup", "successful dup, dup2 and dup3 calls")		\
	X(unshare_files, NULL, "unshare_files",				\
	  "successful unshare(CLONE_FILES) calls")				\
	X(uring_enter, NULL, "io_uring_enter", "io_uring_enter calls")		\
	X(uring_ctl, NULL, "io_uring_epoll_ctl",				\
	  "IORING_OP_EPOLL_CTL requests submitted: epoll_ctl ops batched through io_uring") \
	X(uring_wait, NULL, "io_uring_epoll_wait",				\
	  "IORING_OP_EPOLL_WAIT requests submitted: epoll waits fused into an io_uring submission") \
	X(uring_epoll_enter, NULL, "io_uring_epoll_submits",			\
	  "io_uring_enter calls that submitted epoll requests: a batching shim's batches") \
	X(uring_close, NULL, "io_uring_epoll_closes",				\
	  "IORING_OP_CLOSE requests in those submissions: closes a shim fused with their fd's DEL") \
	X(kmod_submit, NULL, "kmod_submits",					\
	  "ioctl(EPOLL_BATCH_IOC_SUBMIT) batch submissions")			\
	X(kmod_ops, NULL, "kmod_ops", "epoll_ctl ops those submissions carried") \
	X(kmod_wait, NULL, "kmod_waits",					\
	  "of those submissions, the ones that carried an epoll wait (EPOLL_BATCH_WAIT)") \
	X(shim_flushes, "shim", "flushes",					\
	  "libepbatch.so batches (USDT, --shim-probes)")			\
	X(shim_ops, "shim", "ops", "ops those batches carried")		\
	X(shim_passthrough, "shim", "passthrough",				\
	  "ops libepbatch.so sent straight to the kernel")			\
	X(samples, "spin", "samples", "cpu-clock samples of the thread")	\
	X(slow_samples, "spin", "slowpath_samples",				\
	  "samples whose IP was in the spin-lock slow path")			\
	X(slow_files_samples, "spin", "files_lock_samples",			\
	  "slow-path samples under an fd-table function")

/*
 * One per traced thread, in an mmap()able array: user space reads it without
 * a syscall per thread.  Only the owning thread writes the syscall counters;
 * spin-lock fields may also be written from interrupts on the same thread, so
 * those are updated with atomic adds.
 */
struct epb_thread {
	__u32 tid;
	__u32 tgid;
	char comm[EPB_COMM_LEN];
	char proc_comm[EPB_COMM_LEN];	/* its process's (main thread's) name, at creation */
	__u32 private_fd_table;	/* task->files != group_leader->files */
	__u32 exited;
	__u32 wait_fd;			/* the epoll fd of its last wait, + 1 (0: none) */
	__u32 pad0;

	__u64 ctl[EPB_CTL_OPS];		/* epoll_ctl calls by op, failed ones included */
	__u64 ctl_err[EPB_CTL_OPS];	/* ... of which failed */
	__u64 ctl_batched[EPB_CTL_OPS];	/* epoll_ctl ops by op a shim batched (io_uring, module) */
	__u64 ctl_ns;			/* time inside epoll_ctl (-T) */
	__u64 wait_ns;			/* time inside the waits, sleeping included (-T) */
#define EPB_FIELD(f, group, key, help) __u64 f;
	EPB_COUNTERS(EPB_FIELD)		/* the plain counters, above */
#undef EPB_FIELD

	__u64 spin_count;		/* slow-path entries (fentry/kprobe) */
	__u64 spin_ns;
	__u64 spin_files_count;		/* ... on this task's files->file_lock */
	__u64 spin_files_ns;
	__u64 spin_hist[EPB_HIST_SLOTS];	/* log2(ns) */

	/* -T only: written by the thread's own syscall probes (no atomics needed) */
	__u64 ctl_hist[EPB_CTL_OPS][EPB_LAT_SLOTS];	/* epoll_ctl time by op, log2(ns) */
	__u64 wait_hist[EPB_LAT_SLOTS];		/* time in a wait, blocked time included */
	__u64 wait_ev_hist[EPB_EV_SLOTS];	/* events a wait returned: [0] none, [i] 2^(i-1).. */

	/*
	 * The thread's waits in blocks of EPB_POLICY_BLOCK, the shim's policy's
	 * unit, each counted by the block before it (the one the policy
	 * decides on): block_hist[k] blocks that came after a block of k to
	 * k + 1 epoll_ctl calls (ADD, MOD, DEL) per wait (the last slot: that
	 * many or more; a thread's first block, by its own), block_ops[k] the
	 * calls they held.  Always kept: the cost model's input.
	 */
	__u64 block_hist[EPB_BLOCK_SLOTS];
	__u64 block_ops[EPB_BLOCK_SLOTS];
	/*
	 * The same waits one by one, each an event-loop iteration that ends
	 * with it: iter_hist[g][j] waits whose block came after a block in
	 * log2 bucket g of calls per wait (epb_count_slot of its block_hist
	 * slot) and that followed j's bucket of epoll_ctl calls since the
	 * wait before; iter_ops[g][j] those calls.  Inside a block it batches,
	 * the shim sends an iteration with fewer ops than its break-even (a
	 * power of two: a bucket's edge) the direct way, so the cost model
	 * needs them apart.  A thread's first block is left out (the block
	 * before it is not known while it runs).
	 */
	__u64 iter_hist[EPB_ITER_SLOTS][EPB_ITER_SLOTS];
	__u64 iter_ops[EPB_ITER_SLOTS][EPB_ITER_SLOTS];
	/*
	 * The thread's batched submissions that carried epoll_ctl ops (its
	 * io_uring_enter calls with IORING_OP_EPOLL_CTL requests, its module
	 * submissions), by the ops each carried, in log2 buckets
	 * (epb_count_slot).  An io_uring submission is filed as its requests
	 * come: moved up a bucket when its count crosses a power of two, so the
	 * histogram is exact at any moment.  Always kept.
	 */
	__u64 batch_hist[EPB_BATCH_SLOTS];

	/* scratch, owned by the thread's own syscall probes */
	__u64 enter_ts;
	__s64 enter_arg;
	__u32 block_waits;		/* waits of the block under way */
	__u32 block_ctl;		/* its epoll_ctl calls so far */
	__u32 block_prev;		/* the slot of the block before it, + 1 (0: none) */
	__s32 enter_fd;			/* an epoll_ctl's fd and epoll fd, for its exit */
	__s32 enter_epfd;
	__u32 iter_mark;		/* block_ctl at its last wait */
	__u64 uring_mark;		/* uring_enter at its last epoll request */
	__u32 uring_batch_n;		/* IORING_OP_EPOLL_CTL requests of that enter so far */
	__u32 pad1;
};

/*
 * include/uapi/epoll_batch.h's struct epoll_batch (its head) and struct
 * epoll_batch_op as the BPF side reads them from a submission (the uapi
 * header cannot be included beside vmlinux.h): the loader asserts that the
 * layouts are the uapi's.
 */
struct epb_kmod_batch {
	__u64 ops;
	__u32 nr_ops;
	__u32 nr_done;
	__u32 flags;
	__s32 wait_epfd;
};

struct epb_kmod_op {
	__s32 epfd;
	__s32 op;
	__s32 fd;
	__u32 events;
	__u64 data;
	__u32 flags;
	__s32 result;
};

/* Read-only configuration, set before load (.rodata of every program). */
struct epb_config {
	__u32 tgid;			/* process to trace; 0 = every process */
	__u32 follow_children;		/* also trace processes it forks */
	__u32 kmod_cmd;			/* EPOLL_BATCH_IOC_SUBMIT */
	__u32 kmod_wait_flag;		/* EPOLL_BATCH_WAIT */
	__u32 nr_ranges;		/* sampler: used entries of ranges[] */
	__u32 nr_slow_ranges;		/* first nr_slow_ranges are slow-path functions */
	__u32 time_syscalls;		/* time epoll syscalls (two clock reads each) */
	__u32 stacks;			/* --stacks: the spin rungs record kernel stacks */
	/* sampler: [start, end) of slow-path functions, then fd-table functions */
	__u64 range_start[EPB_MAX_RANGES];
	__u64 range_end[EPB_MAX_RANGES];
	/* tgid 0 (system-wide, several processes): EPB_F_* and their values */
	__u32 filter;
	__u32 cgroup_level;		/* depth of cgroup_id below the cgroup v2 root */
	__u64 cgroup_id;
	__u64 comm[EPB_COMM_LEN / 8];	/* NUL-padded */
	__u32 max_slots;		/* tests: fewer slots than EPB_MAX_THREADS (0: all) */
	__u32 pad;
};

/* Counters not tied to one thread (a per-op array of errno counts). */
struct epb_errno_key {
	__u32 op;
	__u32 err;
};

/*
 * --stacks (bpf/stacks.bpf.h, bpf/stacks.bpf.c).  epoll_ctl callers: counts in
 * a hash map keyed by struct epb_stack_key; kernel frames in a stack-trace
 * map (by stack id), user frames in a hash map by their own hash (a walk
 * without frame pointers ends in a different junk word each call: cut there,
 * the stack-trace map would fill with one stack per call).
 * Spin-lock slow path: a per-CPU array of EPB_SPIN_SLOTS struct epb_spin_slot
 * (the frames kept in the slot itself), plus one overflow slot at the end.
 */
#define EPB_STACK_DEPTH_MAX	32	/* frames kept per stack */
#define EPB_STACK_ENTRIES	16384	/* distinct stacks in the stack-trace map */
#define EPB_CTL_STACK_KEYS	16384	/* distinct (tgid, op, stacks) keys */
#define EPB_SPIN_SLOTS		256	/* per-CPU spin-stack slots (a power of 2) */

struct epb_stack_key {
	__u32 tgid;
	__u32 op;		/* enum epb_ctl_op; EPB_CTL_OPS: none of them */
	__s32 kstack;		/* stack id in the stack-trace map, < 0: -errno */
	__u32 pad;
	__u64 ustack;		/* key of user_stacks; 0: no user stack */
	__u64 caller;		/* the return address at the user stack pointer on entry */
};

struct epb_user_stack {
	__u32 nr;		/* frames in ips[] */
	__u32 pad;
	__u64 ips[EPB_STACK_DEPTH_MAX];
};

struct epb_spin_slot {
	__u64 tag;		/* hash of (tgid, frames) | 1; 0 = free */
	__u64 count;		/* slow-path entries (fentry, kprobe) or samples */
	__u32 tgid;
	__u32 nr;		/* frames in ips[] */
	__u64 ips[EPB_STACK_DEPTH_MAX];
};

#endif /* EPBATCH_H */
