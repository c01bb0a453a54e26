// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * --stacks: from the kernel's maps to named stacks (stacks.h).  The frames
 * after the first are return addresses: they are named at addr - 1, the
 * call instruction, which a call at a function's very end would otherwise
 * lose to the next function.
 */
#include <errno.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "stacks.h"
#include "stacks.skel.h"

static const char *proc_name(struct stacks_state *s, pid_t pid)
{
	for (int i = 0; i < s->nr_procs; i++)
		if (s->procs[i].pid == pid && s->procs[i].comm[0])
			return s->procs[i].comm;
	return NULL;
}

/*
 * The process's name: read from /proc while it lived, else its leader
 * thread's record in the per-thread array (kept after exit), else "?".
 */
static const char *comm_of(struct stacks_state *s, const struct tracer *tr, pid_t pid)
{
	const char *c = proc_name(s, pid);
	uint32_t n = tracer_nr_slots(tr);

	for (uint32_t i = 1; !c && i < n; i++)
		if (tr->threads[i].tid == (__u32)pid && tr->threads[i].comm[0]) {
			snprintf(s->leader_comm, sizeof(s->leader_comm), "%.*s", EPB_COMM_LEN,
				 tr->threads[i].comm);
			c = s->leader_comm;
		}
	return c ? c : "?";
}

/* Read PID's maps (and name) while it lives; called with s->lock held. */
static void refresh(struct stacks_state *s, pid_t pid)
{
	char comm[16];
	int i;

	if (sym_maps_read(s->sym, pid))
		return;
	for (i = 0; i < s->nr_procs && s->procs[i].pid != pid; i++)
		;
	if (i == s->nr_procs) {
		if (i == STACKS_MAX_PROCS)
			return;
		s->nr_procs++;
	}
	proc_comm(pid, comm, sizeof(comm));
	if (comm[0] || !s->procs[i].comm[0])
		snprintf(s->procs[i].comm, sizeof(s->procs[i].comm), "%s", comm);
	s->procs[i].pid = pid;
}

/* The kernel announced a process's first walked epoll_ctl. */
static int on_new_proc(void *ctx, void *data, size_t len)
{
	struct stacks_state *s = ctx;

	if (len >= sizeof(__u32)) {
		pthread_mutex_lock(&s->lock);
		refresh(s, (pid_t)*(const __u32 *)data);
		pthread_mutex_unlock(&s->lock);
	}
	return 0;
}

static void refresh_all(struct stacks_state *s)
{
	pthread_mutex_lock(&s->lock);
	for (int i = 0; i < s->nr_procs; i++)
		refresh(s, s->procs[i].pid);
	pthread_mutex_unlock(&s->lock);
}

static void *stacks_thread(void *arg)
{
	struct stacks_state *s = arg;
	double next = now_s() + STACKS_TICK_S;

	while (!s->stop) {
		ring_buffer__poll(s->rb, 50);
		if (now_s() >= next) {	/* libraries loaded later (dlopen) */
			refresh_all(s);
			next = now_s() + STACKS_TICK_S;
		}
	}
	return NULL;
}

int stacks_begin(struct stacks_state *s, const struct tracer *tr, pid_t tgid, const char *comm,
		 bool read_now)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	s->sym = sym_open();
	s->rb = ring_buffer__new(bpf_map__fd(tr->stacks->maps.new_procs), on_new_proc, s, NULL);
	if (!s->sym || !s->rb) {
		fprintf(stderr, PROG ": --stacks: cannot start (libelf or the ring buffer)\n");
		return -1;
	}
	s->procs[0].pid = tgid;
	snprintf(s->procs[0].comm, sizeof(s->procs[0].comm), "%s", comm);
	s->nr_procs = 1;
	if (read_now)
		refresh(s, tgid);
	if (pthread_create(&s->thread, NULL, stacks_thread, s)) {
		fprintf(stderr, PROG ": --stacks: cannot start its thread\n");
		return -1;
	}
	s->running = true;
	return 0;
}

static void stop_thread(struct stacks_state *s)
{
	if (!s->running)
		return;
	s->stop = 1;
	pthread_join(s->thread, NULL);
	s->running = false;
}

void stacks_end(struct stacks_state *s)
{
	stop_thread(s);
	ring_buffer__free(s->rb);
	sym_close(s->sym);
	if (s->sym || s->rb)
		pthread_mutex_destroy(&s->lock);
	s->sym = NULL;
	s->rb = NULL;
}

void stacks_reset(const struct tracer *tr)
{
	int fd = bpf_map__fd(tr->stacks->maps.ctl_stacks), ncpu = libbpf_num_possible_cpus();
	struct epb_spin_slot *zero = calloc((size_t)(ncpu > 0 ? ncpu : 1), sizeof(*zero));
	struct epb_stack_key k;

	while (!bpf_map_get_next_key(fd, NULL, &k))
		if (bpf_map_delete_elem(fd, &k))
			break;
	fd = bpf_map__fd(tr->stacks->maps.spin_stacks);
	for (__u32 i = 0; zero && i <= EPB_SPIN_SLOTS; i++)
		bpf_map_update_elem(fd, &i, zero, BPF_ANY);
	free(zero);
}

#define FRAME_LEN 256

/* The named frames of one stack, root first, into names[] (room for EPB_STACK_DEPTH_MAX + 1). */
static size_t name_frames(struct stacks_state *s, pid_t pid, const __u64 *ips, size_t nr,
			  __u64 caller, bool user, char names[][FRAME_LEN], size_t *unnamed)
{
	__u64 fr[EPB_STACK_DEPTH_MAX + 1];
	bool named[EPB_STACK_DEPTH_MAX + 1];
	size_t n = 0, skip = 0;

	for (size_t i = 0; i < nr && ips[i]; i++) {
		/*
		 * a return address outside executable code: the walk went
		 * astray (code without frame pointers); what follows is junk
		 */
		if (user && i && !sym_user_exec(s->sym, pid, ips[i]) && sym_maps_known(s->sym, pid))
			break;
		fr[n++] = ips[i];
		/* the caller a leaf syscall wrapper's frame-pointer walk misses */
		if (i == 0 && caller && (nr < 2 || ips[1] != caller) && sym_user_exec(s->sym, pid, caller))
			fr[n++] = caller;
	}
	for (size_t i = 0; i < n; i++) {
		__u64 a = i ? fr[i] - 1 : fr[i];
		char *out = names[n - 1 - i];

		named[n - 1 - i] = user ? sym_user(s->sym, pid, a, out, FRAME_LEN)
				       : sym_kernel(s->sym, a, out, FRAME_LEN);
	}
	/*
	 * kernel stacks taken inside a BPF program (fentry) start with it and
	 * its trampoline: named, or [unknown] where kallsyms hides BPF images
	 */
	while (!user && skip + 1 < n && (!strncmp(names[n - 1 - skip], "bpf_prog_", 9) ||
					 !strncmp(names[n - 1 - skip], "bpf_trampoline_", 15) ||
					 !strncmp(names[n - 1 - skip], "[unknown]", 9)))
		skip++;
	for (size_t i = 0; i < n - skip; i++)
		*unnamed += !named[i];
	return n - skip;
}

static size_t lost_frame(int id, char names[][FRAME_LEN])
{
	snprintf(names[0], FRAME_LEN, "[no stack: %s]",
		 id == -EEXIST ? "its bucket held another stack" :
		 id == -ENOSPC ? "the stack table was full" :
		 id == -EFAULT ? "none could be read" : strerror(-id));
	return 1;
}

static void collect_ctl(struct stacks_state *s, const struct tracer *tr, struct stack_set *set,
			size_t *unnamed)
{
	static char un[EPB_STACK_DEPTH_MAX + 1][FRAME_LEN], kn[EPB_STACK_DEPTH_MAX + 1][FRAME_LEN];
	int fd = bpf_map__fd(tr->stacks->maps.ctl_stacks);
	int st = bpf_map__fd(tr->stacks->maps.stack_traces);
	int us = bpf_map__fd(tr->stacks->maps.user_stacks);
	struct epb_user_stack ustk;
	struct epb_stack_key k, *prev = NULL;

	while (!bpf_map_get_next_key(fd, prev, &k)) {
		__u64 cnt = 0, ips[EPB_STACK_DEPTH_MAX];
		const char *up[EPB_STACK_DEPTH_MAX + 1], *kp[EPB_STACK_DEPTH_MAX + 1];
		size_t nu, nk;
		__u32 id;

		prev = &k;
		if (bpf_map_lookup_elem(fd, &k, &cnt) || !cnt)
			continue;
		if (!sym_maps_known(s->sym, (pid_t)k.tgid))	/* not announced yet */
			refresh(s, (pid_t)k.tgid);
		if (!k.ustack || bpf_map_lookup_elem(us, &k.ustack, &ustk))
			nu = lost_frame(k.ustack ? -ENOSPC : -EFAULT, un);
		else
			nu = name_frames(s, (pid_t)k.tgid, ustk.ips, ustk.nr < EPB_STACK_DEPTH_MAX ?
					 ustk.nr : EPB_STACK_DEPTH_MAX, k.caller, true, un, unnamed);
		memset(ips, 0, sizeof(ips));
		id = (__u32)k.kstack;
		if (k.kstack < 0 || bpf_map_lookup_elem(st, &id, ips))
			nk = lost_frame(k.kstack < 0 ? k.kstack : -ENOENT, kn);
		else
			nk = name_frames(s, (pid_t)k.tgid, ips, EPB_STACK_DEPTH_MAX, 0, false, kn, unnamed);
		for (size_t i = 0; i < nu; i++)
			up[i] = un[i];
		for (size_t i = 0; i < nk; i++)
			kp[i] = kn[i];
		stackset_add(set, k.op < EPB_CTL_OPS ? (enum stack_kind)k.op : STACK_BAD_OP, k.tgid,
			     comm_of(s, tr, (pid_t)k.tgid), cnt * set->period, cnt, up, nu, kp, nk);
	}
}

static void collect_spin(struct stacks_state *s, const struct tracer *tr, struct stack_set *set,
			 size_t *unnamed)
{
	static char kn[EPB_STACK_DEPTH_MAX + 1][FRAME_LEN];
	int ncpu = libbpf_num_possible_cpus(), fd = bpf_map__fd(tr->stacks->maps.spin_stacks);
	struct epb_spin_slot *v = calloc((size_t)(ncpu > 0 ? ncpu : 1), sizeof(*v));

	for (__u32 i = 0; v && ncpu > 0 && i <= EPB_SPIN_SLOTS; i++) {
		if (bpf_map_lookup_elem(fd, &i, v))
			continue;
		for (int c = 0; c < ncpu; c++) {
			const char *kp[EPB_STACK_DEPTH_MAX + 1];
			size_t nk;

			if (!v[c].count)
				continue;
			if (i == EPB_SPIN_SLOTS) {
				set->lost_spin += v[c].count;
				continue;
			}
			if (!sym_maps_known(s->sym, (pid_t)v[c].tgid))	/* for its name */
				refresh(s, (pid_t)v[c].tgid);
			nk = name_frames(s, (pid_t)v[c].tgid, v[c].ips,
					 v[c].nr < EPB_STACK_DEPTH_MAX ? v[c].nr : EPB_STACK_DEPTH_MAX,
					 0, false, kn, unnamed);
			for (size_t j = 0; j < nk; j++)
				kp[j] = kn[j];
			stackset_add(set, STACK_SPIN, v[c].tgid, comm_of(s, tr, (pid_t)v[c].tgid),
				     v[c].count, 0, NULL, 0, kp, nk);
		}
	}
	free(v);
}

int stacks_collect(struct stacks_state *s, const struct tracer *tr, struct stack_set *set)
{
	size_t unnamed = 0;

	stop_thread(s);
	refresh_all(s);
	set->period = (unsigned)tr->stacks->rodata->stack_period;
	set->spin_unit = tr->method == SPIN_SAMPLE ? "samples" :
			 tr->method == SPIN_OFF ? NULL : "entries";
	collect_ctl(s, tr, set, &unnamed);
	collect_spin(s, tr, set, &unnamed);
	set->lost_ctl = tr->stacks->bss->ctl_dropped;
	stackset_sort(set);
	for (size_t i = 0; i < set->n; i++)
		if (!sym_maps_known(s->sym, (pid_t)set->s[i].pid)) {
			stackset_note(set, "pid %u exited before its maps could be read: its user frames are addresses",
				      set->s[i].pid);
			break;
		}
	if (unnamed)
		stackset_note(set, "%zu frame%s could not be named: [unknown] in FILE+OFFSET is a file without "
			      "a symbol there (stripped), [unknown] ADDR is in no mapping", unnamed,
			      unnamed == 1 ? "" : "s");
	return 0;
}
