// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Exact syscall accounting per thread, from the syscalls:* tracepoints.
 * These exist on every kernel users run, cost nothing for syscalls nobody
 * traces, and (unlike sampling) give exact counts.
 */
#include "common.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define EPOLLEXCLUSIVE (1U << 28)	/* uapi eventpoll.h: vmlinux.h has no macros */
#define CLONE_FILES 0x00000400

__u32 next_slot = 1;		/* slot 0 is EPB_SLOT_UNATTRIBUTED */
__u64 dropped_threads;		/* threads that found threads[] full */

/*
 * Slots of exited threads, handed back by user space once it has read their
 * last counts and zeroed them (docs/tracer.md, "Capacity").  One producer
 * (user space: writes free_ring[free_tail], then advances free_tail), many
 * consumers (thread_get, on any CPU: claim free_head with a compare-and-swap,
 * no lock).  At most EPB_MAX_THREADS - 1 slots are ever free, so an entry is
 * never overwritten before the head has passed it.
 */
__u32 free_ring[EPB_MAX_THREADS];
__u64 free_head, free_tail;

/* A free slot: a recycled one first, else a never-used one; 0 when full. */
static __always_inline __u32 slot_alloc(void)
{
	__u64 h = *(volatile __u64 *)&free_head;
	__u32 idx, max;

	if (h != *(volatile __u64 *)&free_tail) {
		idx = free_ring[h & (EPB_MAX_THREADS - 1)];
		/* losing the race to another CPU falls through to next_slot */
		if (__sync_val_compare_and_swap(&free_head, h, h + 1) == h &&
		    idx && idx < EPB_MAX_THREADS)
			return idx;
	}
	max = cfg.max_slots && cfg.max_slots < EPB_MAX_THREADS ? cfg.max_slots : EPB_MAX_THREADS;
	if (next_slot >= max)
		return 0;
	idx = __sync_fetch_and_add(&next_slot, 1);
	return idx < max ? idx : 0;
}

/* errno counts of failed epoll_ctl, [op][errno] flattened */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, EPB_CTL_OPS * (EPB_MAX_ERRNO + 1));
	__type(key, __u32);
	__type(value, __u64);
} ctl_errno SEC(".maps");

/*
 * The files_struct of a process whose leader has exited (main called
 * pthread_exit: the leader is a zombie and its ->files is NULL), saved when
 * the leader's exit was seen.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u64);
} leader_files SEC(".maps");

/*
 * Does the current thread have an FD table of its own (unshare(CLONE_FILES))?
 * Compared with the process's table: the group leader's while it lives; once
 * it has exited, the one it had (saved at its exit); when the leader exited
 * before the tracer came, the table is private when no other task shares it
 * although the process has other live threads.
 */
static __always_inline bool files_private(void)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct files_struct *files = BPF_CORE_READ(task, files);
	struct files_struct *ref = BPF_CORE_READ(task, group_leader, files);
	__u32 tgid;
	__u64 *saved;

	if (ref)
		return files != ref;
	/* only when the leader has exited: every wait exit comes here */
	tgid = BPF_CORE_READ(task, tgid);
	saved = bpf_map_lookup_elem(&leader_files, &tgid);
	if (saved)
		return (__u64)files != *saved;
	return BPF_CORE_READ(files, count.counter) == 1 &&
	       BPF_CORE_READ(task, signal, live.counter) > 1;
}

/*
 * The current thread's record, created on its first traced syscall.  Only
 * the thread itself ever creates its own record, so there is no race on the
 * tid_slot entry; next_slot is shared and taken with an atomic add.
 */
static __always_inline struct epb_thread *thread_get(void)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id, tgid = id >> 32, idx;
	struct task_struct *leader;
	struct epb_thread *t;
	__u32 *slot;

#ifdef EPB_EMPTY	/* the overhead benchmark's floor: same hooks, no work */
	return NULL;
#endif
	/* one process: a compare, before any lookup */
	if (cfg.tgid && !epb_traced(tgid))
		return NULL;
	slot = bpf_map_lookup_elem(&tid_slot, &tid);
	if (!slot)
		return NULL;
	if (*slot) {
		idx = *slot;
		/* EPB_SLOT_DROPPED and EPB_SLOT_FILTERED are out of range: NULL */
		return bpf_map_lookup_elem(&threads, &idx);
	}
	/*
	 * Several processes, the filters: asked once per thread, the answer
	 * kept in tid_slot (a record, or EPB_SLOT_FILTERED), so a thread's
	 * later syscalls cost the lookup above and no filter.
	 */
	if (!cfg.tgid && !epb_traced(tgid)) {
		*slot = EPB_SLOT_FILTERED;
		return NULL;
	}
	idx = slot_alloc();
	if (!idx) {
		/* once per thread: its tid stays marked until it exits */
		*slot = EPB_SLOT_DROPPED;
		__sync_fetch_and_add(&dropped_threads, 1);
		return NULL;
	}
	t = bpf_map_lookup_elem(&threads, &idx);
	if (!t)
		return NULL;
	t->tid = tid;
	t->tgid = tgid;
	t->private_fd_table = files_private();
	bpf_get_current_comm(t->comm, sizeof(t->comm));
	leader = BPF_CORE_READ((struct task_struct *)bpf_get_current_task(), group_leader);
	bpf_probe_read_kernel_str(t->proc_comm, sizeof(t->proc_comm), &leader->comm);
	*slot = idx;
	return t;
}

/*
 * Timing is optional (cfg.time_syscalls): a clock read costs ~20 ns on bare
 * metal but was measured at ~300 ns on a Firecracker guest's kvm-clock,
 * which would double the cost of an epoll_ctl there.  Counting needs no
 * clock; the verifier drops the dead branch when timing is off.
 */
static __always_inline void enter_at(struct epb_thread *t, __s64 arg)
{
	t->enter_arg = arg;
	if (cfg.time_syscalls)
		t->enter_ts = bpf_ktime_get_ns();
}

static __always_inline int on_enter(__s64 arg)
{
	struct epb_thread *t = thread_get();

	if (t)
		enter_at(t, arg);
	return 0;
}

/* enter_ts is cleared on exit so a missed enter (attach mid-syscall) is not timed. */
static __always_inline __u64 elapsed(struct epb_thread *t)
{
	__u64 ts;

	if (!cfg.time_syscalls)
		return 0;
	ts = t->enter_ts;
	t->enter_ts = 0;
	return ts ? bpf_ktime_get_ns() - ts : 0;
}

/* -T: the log2(ns) bucket of a duration (bounded for the verifier). */
static __always_inline __u32 lat_slot(__u64 ns)
{
	__u32 b = epb_log2(ns);

	return b < EPB_LAT_SLOTS ? b : EPB_LAT_SLOTS - 1;
}

/* An ADD's EPOLLEXCLUSIVE, beside the op in enter_arg: the instance's
 * waiters then share wake-ups, and the shim's fused wait on it takes the
 * 0-timeout form (docs/cost-model.md). */
#define EPB_ARG_EXCL (1LL << 32)

/*
 * What a batching shim's queue would fold away (preload/shim.h, qop_fold):
 * between two waits of a thread, a MOD or a DEL after an ADD or a MOD of
 * the same fd on the same instance is folded into it (one call saved), and
 * a DEL after an ADD cancels both (two); after a DEL, or a cancelled pair,
 * the next op on the fd is queued behind it (none saved).  The last op on
 * each fd is kept in a per-CPU table of COAL_SLOTS entries by fd (as many
 * as the shim queues), tagged with the thread and its wait count: a
 * collision, or a thread moved to another CPU between the two ops, loses a
 * pair (fewer counted, never more).  No lock: per-CPU, and only the running
 * thread writes it.
 */
#define COAL_SLOTS 256

struct coal_slot {
	__u32 tid;
	__s32 fd;
	__s32 epfd;
	__u32 op;			/* EPOLL_CTL_*; 0: none to fold into */
	__u64 iter;			/* the thread's waits when it was made */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, COAL_SLOTS);
	__type(key, __u32);
	__type(value, struct coal_slot);
} coal_slots SEC(".maps");

static __always_inline void coal_note(struct epb_thread *t, __u32 op)
{
	__u32 key = (__u32)t->enter_fd & (COAL_SLOTS - 1), tid = t->tid;
	struct coal_slot *c = bpf_map_lookup_elem(&coal_slots, &key);

	if (!c)
		return;
	if (c->tid != tid || c->fd != t->enter_fd || c->epfd != t->enter_epfd || c->iter != t->wait ||
	    (c->op != EPOLL_CTL_ADD && c->op != EPOLL_CTL_MOD) || op == EPOLL_CTL_ADD) {
		c->tid = tid;
		c->fd = t->enter_fd;
		c->epfd = t->enter_epfd;
		c->iter = t->wait;
		c->op = op;
		return;
	}
	if (c->op == EPOLL_CTL_ADD && op == EPOLL_CTL_DEL) {
		t->ctl_coalescible += 2;
		c->op = 0;
	} else {
		t->ctl_coalescible++;
		if (op == EPOLL_CTL_DEL)
			c->op = EPOLL_CTL_DEL;
	}
}

SEC("tp/syscalls/sys_enter_epoll_ctl")
int epoll_ctl_enter(struct trace_event_raw_sys_enter *ctx)
{
	struct epb_thread *t = thread_get();
	__s64 op = ctx->args[1];
	__u32 events = 0;

	/* the event mask is read for a traced thread's ADD only */
	if (!t)
		return 0;
	if (op == EPOLL_CTL_ADD && ctx->args[3] &&
	    !bpf_probe_read_user(&events, sizeof(events), (void *)ctx->args[3]) &&
	    (events & EPOLLEXCLUSIVE))
		op |= EPB_ARG_EXCL;
	enter_at(t, op);
	t->enter_epfd = (__s32)ctx->args[0];
	t->enter_fd = (__s32)ctx->args[2];
	return 0;
}

SEC("tp/syscalls/sys_exit_epoll_ctl")
int epoll_ctl_exit(struct trace_event_raw_sys_exit *ctx)
{
	long ret = ctx->ret;
	struct epb_thread *t = thread_get();
	__u32 op, key;
	__u64 *cnt, ns;

	if (!t)
		return 0;
	ns = elapsed(t);
	t->ctl_ns += ns;
	op = epb_ctl_index(t->enter_arg & ~EPB_ARG_EXCL);
	if (op >= EPB_CTL_OPS) {
		t->ctl_bad_op++;
		return 0;
	}
	t->ctl[op]++;
	t->block_ctl++;
	if (cfg.time_syscalls)
		t->ctl_hist[op][lat_slot(ns)]++;
	if (ret >= 0) {
		if (t->enter_arg & EPB_ARG_EXCL)
			t->ctl_excl_add++;
		coal_note(t, (__u32)(t->enter_arg & ~EPB_ARG_EXCL));
		return 0;
	}
	t->ctl_err[op]++;
	key = -ret;
	if (key > EPB_MAX_ERRNO)
		key = 0;
	key += op * (EPB_MAX_ERRNO + 1);
	cnt = bpf_map_lookup_elem(&ctl_errno, &key);
	if (cnt)
		__sync_fetch_and_add(cnt, 1);
	return 0;
}

/*
 * The epoll fd of the wait that is ending, + 1, for user space: at the end
 * of a trace it reads which registrations that instance has (EPOLLEXCLUSIVE
 * ones made before the tracer came, which the cost model must know).  The
 * wait's first argument, from the registers saved at the syscall's entry
 * (the entry is traced only with -T); read at a thread's first wait and at
 * each block's last, not at every wait.
 */
static __always_inline __u32 wait_fd_now(void)
{
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());

	return (__u32)PT_REGS_PARM1_CORE_SYSCALL(regs) + 1;
}

/* A wait ends an iteration: it goes into iter_hist by the block before
 * its block and by its own calls; at the block's last, the block goes into
 * the slot of the block before it (calls per wait: a power of two, a
 * shift). */
static __always_inline void block_step(struct epb_thread *t)
{
	__u32 k, p, g, j, n = t->block_ctl - t->iter_mark;	/* this iteration's calls */

	if (!t->wait_fd)
		t->wait_fd = wait_fd_now();
	if (t->block_prev) {
		g = epb_count_slot(t->block_prev - 1, EPB_ITER_SLOTS);
		j = epb_count_slot(n, EPB_ITER_SLOTS);
		t->iter_hist[g][j]++;
		t->iter_ops[g][j] += n;
	}
	t->iter_mark = t->block_ctl;
	if (++t->block_waits < EPB_POLICY_BLOCK)
		return;
	t->wait_fd = wait_fd_now();
	k = t->block_ctl / EPB_POLICY_BLOCK;
	if (k >= EPB_BLOCK_SLOTS)
		k = EPB_BLOCK_SLOTS - 1;
	p = t->block_prev ? t->block_prev - 1 : k;
	if (p >= EPB_BLOCK_SLOTS)	/* for the verifier: it never is */
		p = EPB_BLOCK_SLOTS - 1;
	t->block_hist[p]++;
	t->block_ops[p] += t->block_ctl;
	t->block_prev = k + 1;
	t->block_waits = 0;
	t->block_ctl = t->iter_mark = 0;
}

static __always_inline int wait_exit(long ret)
{
	struct epb_thread *t = thread_get();
	__u64 ns;
	__u32 ev;

	if (!t)
		return 0;
	ns = elapsed(t);
	t->wait_ns += ns;
	t->wait++;
	block_step(t);
	if (ret > 0)
		t->wait_events += ret;
	if (cfg.time_syscalls) {
		t->wait_hist[lat_slot(ns)]++;
		ev = epb_count_slot(ret > 0 ? ret : 0, EPB_EV_SLOTS);
		t->wait_ev_hist[ev]++;
	}
	/* an event-loop thread is where unshare(CLONE_FILES) matters: re-check it */
	t->private_fd_table = files_private();
	return 0;
}

SEC("tp/syscalls/sys_enter_epoll_wait")
int epoll_wait_enter(void *ctx) { return on_enter(0); }
SEC("tp/syscalls/sys_exit_epoll_wait")
int epoll_wait_exit(struct trace_event_raw_sys_exit *ctx) { return wait_exit(ctx->ret); }
SEC("tp/syscalls/sys_enter_epoll_pwait")
int epoll_pwait_enter(void *ctx) { return on_enter(0); }
SEC("tp/syscalls/sys_exit_epoll_pwait")
int epoll_pwait_exit(struct trace_event_raw_sys_exit *ctx) { return wait_exit(ctx->ret); }
SEC("tp/syscalls/sys_enter_epoll_pwait2")
int epoll_pwait2_enter(void *ctx) { return on_enter(0); }
SEC("tp/syscalls/sys_exit_epoll_pwait2")
int epoll_pwait2_exit(struct trace_event_raw_sys_exit *ctx) { return wait_exit(ctx->ret); }

static __always_inline int count_ok(long ret, __u32 field)
{
	struct epb_thread *t;

	if (ret < 0)
		return 0;
	t = thread_get();
	if (!t)
		return 0;
	switch (field) {
	case 0: t->accept++; break;
	case 1: t->socket++; break;
	case 2: t->dup++; break;
	}
	return 0;
}

SEC("tp/syscalls/sys_exit_accept")
int accept_exit(struct trace_event_raw_sys_exit *ctx) { return count_ok(ctx->ret, 0); }
SEC("tp/syscalls/sys_exit_accept4")
int accept4_exit(struct trace_event_raw_sys_exit *ctx) { return count_ok(ctx->ret, 0); }
SEC("tp/syscalls/sys_exit_socket")
int socket_exit(struct trace_event_raw_sys_exit *ctx) { return count_ok(ctx->ret, 1); }
SEC("tp/syscalls/sys_exit_dup")
int dup_exit(struct trace_event_raw_sys_exit *ctx) { return count_ok(ctx->ret, 2); }
SEC("tp/syscalls/sys_exit_dup2")
int dup2_exit(struct trace_event_raw_sys_exit *ctx) { return count_ok(ctx->ret, 2); }
SEC("tp/syscalls/sys_exit_dup3")
int dup3_exit(struct trace_event_raw_sys_exit *ctx) { return count_ok(ctx->ret, 2); }

static __always_inline int close_enter(void)
{
	struct epb_thread *t = thread_get();

	if (t)
		t->close++;
	return 0;
}

SEC("tp/syscalls/sys_enter_close")
int close_e(void *ctx) { return close_enter(); }
SEC("tp/syscalls/sys_enter_close_range")
int close_range_e(void *ctx) { return close_enter(); }

SEC("tp/syscalls/sys_enter_unshare")
int unshare_enter(struct trace_event_raw_sys_enter *ctx)
{
	return on_enter(ctx->args[0]);
}

SEC("tp/syscalls/sys_exit_unshare")
int unshare_exit(struct trace_event_raw_sys_exit *ctx)
{
	long ret = ctx->ret;
	struct epb_thread *t = thread_get();

	if (!t)
		return 0;
	t->enter_ts = 0;
	if (ret == 0 && (t->enter_arg & CLONE_FILES))
		t->unshare_files++;
	t->private_fd_table = files_private();
	return 0;
}

SEC("tp/syscalls/sys_enter_io_uring_enter")
int uring_enter(void *ctx)
{
	struct epb_thread *t = thread_get();

	if (t)
		t->uring_enter++;
	return 0;
}

/* An io_uring submission that had n epoll_ctl ops got one more: filed in
 * batch_hist by its new count (from its old bucket, where it had one). */
static __always_inline void batch_grew(struct epb_thread *t, __u32 n)
{
	__u32 from = epb_count_slot(n, EPB_BATCH_SLOTS), to = epb_count_slot(n + 1, EPB_BATCH_SLOTS);

	if (from == to)
		return;
	if (n)
		t->batch_hist[from]--;
	t->batch_hist[to]++;
}

/* A batched epoll_ctl op (io_uring's or the module's), by its op. */
static __always_inline void batched_op(struct epb_thread *t, int op)
{
	__u32 k = epb_ctl_index(op);

	if (k < EPB_CTL_OPS)
		t->ctl_batched[k]++;
}

/*
 * The requests a traced thread's io_uring_enter takes from its ring (in the
 * submitting task, the ring being the thread's own, as the shim's are):
 * epoll_ctl ops and epoll waits that ride on one io_uring_enter instead of
 * being syscalls of their own, which no syscall tracepoint shows.  An
 * application's epoll wait is an epoll_wait syscall or such a request (or a
 * module submission with a wait): the loop iterations user space counts.
 */
static __always_inline int uring_req_count(struct io_kiocb *req)
{
	__u8 op = req->opcode;
	struct epb_thread *t;
	struct io_epoll *ie;

	if (op != IORING_OP_EPOLL_CTL && op != IORING_OP_EPOLL_WAIT && op != IORING_OP_CLOSE)
		return 0;
	t = thread_get();
	if (!t)
		return 0;
	/* a close in a submission that carried an epoll op before it: the
	 * shim's fused close (its fd's DEL, then the close, linked) */
	if (op == IORING_OP_CLOSE) {
		if (t->uring_mark == t->uring_enter && t->uring_batch_n)
			t->uring_close++;
		return 0;
	}
	/* the first epoll request of its io_uring_enter: one batch more */
	if (t->uring_mark != t->uring_enter) {
		t->uring_mark = t->uring_enter;
		t->uring_epoll_enter++;
		t->uring_batch_n = 0;
	}
	if (op != IORING_OP_EPOLL_CTL) {
		t->uring_wait++;
		return 0;
	}
	t->uring_ctl++;
	batch_grew(t, t->uring_batch_n++);
	/* The event comes after the request's prep (io_init_req), which has
	 * put the SQE's epoll_ctl op in its command data.  A kernel whose
	 * request has no such data (before 6.0) counts the op, not its kind:
	 * the test is a constant at load, and the read left out. */
	if (!bpf_core_field_exists(req->cmd) || !bpf_core_field_exists(struct io_epoll, op))
		return 0;
	ie = (struct io_epoll *)&req->cmd;
	batched_op(t, BPF_CORE_READ(ie, op));
	return 0;
}

/*
 * Raw (BTF) tracepoints: the request itself, not the formatted event.  As
 * a "tp/" program through perf, each hit first built the event's record,
 * its opcode's name copied in: +110 ns per io_uring op of every process on
 * the machine, traced or not (docs/overhead.md).  The event as Linux 6.3
 * renamed it, and before (6.1: the request and force_nonblock); the loader
 * loads the one the kernel has.
 */
SEC("tp_btf/io_uring_submit_req")
int BPF_PROG(uring_req, struct io_kiocb *req)
{
	return uring_req_count(req);
}

SEC("tp_btf/io_uring_submit_sqe")
int BPF_PROG(uring_sqe, struct io_kiocb *req, bool force_nonblock)
{
	return uring_req_count(req);
}

/* Scratch for a module submission's ops (kmod_ops_by_op): per CPU, no lock. */
struct kmod_chunk {
	struct epb_kmod_op op[EPB_KMOD_CHUNK];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct kmod_chunk);
} kmod_buf SEC(".maps");

/* The nr ops of a module submission (user pointer ops), counted by op: one
 * read per chunk of them.  Ops it cannot read are not counted by op. */
static __always_inline void kmod_ops_by_op(struct epb_thread *t, __u64 ops, __u32 nr)
{
	struct kmod_chunk *c;
	__u32 zero = 0;

	c = bpf_map_lookup_elem(&kmod_buf, &zero);
	if (!c)
		return;
	for (__u32 k = 0; k < EPB_KMOD_MAX_OPS / EPB_KMOD_CHUNK; k++) {
		__u32 first = k * EPB_KMOD_CHUNK, n;

		if (first >= nr)
			break;
		n = nr - first;
		if (n > EPB_KMOD_CHUNK)
			n = EPB_KMOD_CHUNK;
		if (bpf_probe_read_user(c->op, n * sizeof(c->op[0]),
					(void *)(ops + (__u64)first * sizeof(c->op[0]))))
			break;
		for (__u32 i = 0; i < EPB_KMOD_CHUNK && i < n; i++)
			batched_op(t, c->op[i].op);
	}
}

/* ioctl(fd, EPOLL_BATCH_IOC_SUBMIT, struct epoll_batch *): one batch. */
SEC("tp/syscalls/sys_enter_ioctl")
int ioctl_enter(struct trace_event_raw_sys_enter *ctx)
{
	unsigned long cmd = ctx->args[1], arg = ctx->args[2];
	struct epb_kmod_batch b;
	struct epb_thread *t;

	if ((__u32)cmd != cfg.kmod_cmd)
		return 0;
	t = thread_get();
	if (!t)
		return 0;
	t->kmod_submit++;
	/* the submission's head in one read (a fault: the ioctl fails too) */
	if (bpf_probe_read_user(&b, sizeof(b), (void *)arg))
		return 0;
	t->kmod_ops += b.nr_ops;
	if (b.nr_ops)
		t->batch_hist[epb_count_slot(b.nr_ops, EPB_BATCH_SLOTS)]++;
	if (b.flags & cfg.kmod_wait_flag)
		t->kmod_wait++;
	kmod_ops_by_op(t, b.ops, b.nr_ops);
	return 0;
}

/* --children: a traced process's new child processes are traced too. */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(on_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid = parent->tgid, ctgid = child->tgid;
	__u8 one = 1;

	if (!cfg.follow_children || child->pid != ctgid || !epb_traced(ptgid))
		return 0;
	bpf_map_update_elem(&tgids, &ctgid, &one, BPF_ANY);
	return 0;
}

/* Thread exit: keep its record (user space reports it) but free its tid. */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(on_exit, struct task_struct *task)
{
	__u32 tid = task->pid, *slot;
	struct epb_thread *t;

	/* with filters every thread may hold an EPB_SLOT_FILTERED to clear */
	if (cfg.tgid && !epb_traced(task->tgid))
		return 0;
	if (task->pid == task->tgid && task->files && (cfg.tgid || epb_traced(task->tgid))) {
		/* the leader goes first while threads run on: keep its table's address */
		__u32 tgid = task->tgid;
		__u64 files = (__u64)task->files;

		bpf_map_update_elem(&leader_files, &tgid, &files, BPF_ANY);
	}
	slot = bpf_map_lookup_elem(&tid_slot, &tid);
	if (!slot || !*slot)
		return 0;
	/* EPB_SLOT_DROPPED and EPB_SLOT_FILTERED: no record */
	t = bpf_map_lookup_elem(&threads, slot);
	if (t) {
		bpf_probe_read_kernel_str(t->comm, sizeof(t->comm), task->comm);
		t->exited = 1;
	}
	*slot = 0;
	return 0;
}

/* A thread the filters left out is asked again at its next syscall. */
static __always_inline void refilter(__u32 tid)
{
	__u32 *slot = bpf_map_lookup_elem(&tid_slot, &tid);

	if (slot && *slot == EPB_SLOT_FILTERED)
		*slot = 0;
}

/*
 * pthread_setname_np() after the first syscall: keep the name current.  An
 * exec renames too: with --comm the new name is checked at the next syscall.
 */
SEC("tp_btf/task_rename")
int BPF_PROG(on_rename, struct task_struct *task, const char *comm)
{
	__u32 tid = task->pid;
	struct epb_thread *t;

	if (!cfg.tgid && (cfg.filter & EPB_F_COMM))
		refilter(tid);
	if (cfg.tgid && !epb_traced(task->tgid))
		return 0;
	t = epb_lookup(tid);
	if (t)
		bpf_probe_read_kernel_str(t->comm, sizeof(t->comm), comm);
	return 0;
}

/* --cgroup: a task moved into the cgroup (or below it) is asked again (loaded with --cgroup only). */
SEC("tp_btf/cgroup_attach_task")
int BPF_PROG(on_cgroup_attach, struct cgroup *dst, const char *path, struct task_struct *task,
	     bool threadgroup)
{
	refilter(task->pid);
	return 0;
}
