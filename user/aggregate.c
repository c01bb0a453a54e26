// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Per-thread deltas between two copies of the kernel's per-thread array, and
 * the numbers users read: what each spin-lock method measured turned into
 * time (sampling estimates it as samples x period).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "aggregate.h"

int snapshot_take(struct snapshot *s, const struct epb_thread *threads, uint32_t n, double ts)
{
	struct epb_thread *p = realloc(s->t, (n ? n : 1) * sizeof(*p));

	if (!p)
		return -1;
	memcpy(p, threads, n * sizeof(*p));
	s->t = p;
	s->n = n;
	s->ts = ts;
	return 0;
}

void snapshot_free(struct snapshot *s)
{
	free(s->t);
	memset(s, 0, sizeof(*s));
}

void thread_delta(const struct epb_thread *cur, const struct epb_thread *prev,
		  enum spin_choice method, double period_ns, struct thread_stats *o)
{
	static const struct epb_thread zero;
	const struct epb_thread *p = prev ? prev : &zero;

	memset(o, 0, sizeof(*o));
	o->tid = cur->tid;
	o->tgid = cur->tgid;
	memcpy(o->comm, cur->comm, sizeof(o->comm));
	o->comm[EPB_COMM_LEN - 1] = 0;
	memcpy(o->proc_comm, cur->proc_comm, sizeof(o->proc_comm));
	o->proc_comm[EPB_COMM_LEN - 1] = 0;
	o->private_fd_table = cur->private_fd_table;
	o->exited = cur->exited;
	o->wait_fd = (int32_t)cur->wait_fd - 1;
	o->wait_excl = -1;
#define D(f) (cur->f - p->f)
	for (int i = 0; i < EPB_CTL_OPS; i++) {
		o->ctl[i] = D(ctl[i]);
		o->ctl_err[i] = D(ctl_err[i]);
		o->ctl_batched[i] = D(ctl_batched[i]);
	}
	o->ctl_ns = D(ctl_ns);
	o->wait_ns = D(wait_ns);
	for (int i = 0; i < EPB_LAT_SLOTS; i++) {
		for (int op = 0; op < EPB_CTL_OPS; op++)
			o->ctl_hist[op][i] = D(ctl_hist[op][i]);
		o->wait_hist[i] = D(wait_hist[i]);
	}
	for (int i = 0; i < EPB_EV_SLOTS; i++)
		o->wait_ev_hist[i] = D(wait_ev_hist[i]);
	for (int i = 0; i < EPB_BLOCK_SLOTS; i++) {
		o->block_hist[i] = D(block_hist[i]);
		o->block_ops[i] = D(block_ops[i]);
	}
	for (int g = 0; g < EPB_ITER_SLOTS; g++)
		for (int j = 0; j < EPB_ITER_SLOTS; j++) {
			o->iter_hist[g][j] = D(iter_hist[g][j]);
			o->iter_ops[g][j] = D(iter_ops[g][j]);
		}
	/* a submission under way at the first snapshot may since have moved
	 * up a bucket: that bucket's count fell */
	for (int i = 0; i < EPB_BATCH_SLOTS; i++)
		o->batch_hist[i] = cur->batch_hist[i] > p->batch_hist[i] ? D(batch_hist[i]) : 0;
#define EPB_DELTA(f, group, key, help) o->f = D(f);
	EPB_COUNTERS(EPB_DELTA)
#undef EPB_DELTA
	o->batch_submits = o->kmod_submit + o->uring_enter;
	if (method == SPIN_SAMPLE) {
		o->spin_ns = (uint64_t)((double)o->slow_samples * period_ns);
		o->spin_files_ns = (uint64_t)((double)o->slow_files_samples * period_ns);
	} else {
		o->spin_count = D(spin_count);
		o->spin_ns = D(spin_ns);
		o->spin_files_count = D(spin_files_count);
		o->spin_files_ns = D(spin_files_ns);
		for (int i = 0; i < EPB_HIST_SLOTS; i++)
			o->spin_hist[i] = D(spin_hist[i]);
	}
#undef D
}

void stats_add(struct thread_stats *s, const struct thread_stats *t)
{
	for (int i = 0; i < EPB_CTL_OPS; i++) {
		s->ctl[i] += t->ctl[i];
		s->ctl_batched[i] += t->ctl_batched[i];
		s->ctl_err[i] += t->ctl_err[i];
	}
	s->ctl_ns += t->ctl_ns;
	s->wait_ns += t->wait_ns;
	for (int i = 0; i < EPB_LAT_SLOTS; i++) {
		for (int op = 0; op < EPB_CTL_OPS; op++)
			s->ctl_hist[op][i] += t->ctl_hist[op][i];
		s->wait_hist[i] += t->wait_hist[i];
	}
	for (int i = 0; i < EPB_EV_SLOTS; i++)
		s->wait_ev_hist[i] += t->wait_ev_hist[i];
	for (int i = 0; i < EPB_BLOCK_SLOTS; i++) {
		s->block_hist[i] += t->block_hist[i];
		s->block_ops[i] += t->block_ops[i];
	}
	for (int g = 0; g < EPB_ITER_SLOTS; g++)
		for (int j = 0; j < EPB_ITER_SLOTS; j++) {
			s->iter_hist[g][j] += t->iter_hist[g][j];
			s->iter_ops[g][j] += t->iter_ops[g][j];
		}
	for (int i = 0; i < EPB_BATCH_SLOTS; i++)
		s->batch_hist[i] += t->batch_hist[i];
#define EPB_SUM(f, group, key, help) s->f += t->f;
	EPB_COUNTERS(EPB_SUM)
#undef EPB_SUM
	s->batch_submits += t->batch_submits;
	s->spin_count += t->spin_count;
	s->spin_ns += t->spin_ns;
	s->spin_files_count += t->spin_files_count;
	s->spin_files_ns += t->spin_files_ns;
	for (int i = 0; i < EPB_HIST_SLOTS; i++)
		s->spin_hist[i] += t->spin_hist[i];
}

const char *const ctl_op_names[EPB_CTL_OPS] = { "add", "mod", "del" };

uint64_t stats_ctl_total(const struct thread_stats *t)
{
	return t->ctl[EPB_CTL_ADD] + t->ctl[EPB_CTL_MOD] + t->ctl[EPB_CTL_DEL];
}

/*
 * The thread's event-loop iterations: the epoll waits its code made, each
 * an epoll_wait syscall of its own or one that rode on a batch (an
 * IORING_OP_EPOLL_WAIT request, a module submission with
 * EPOLL_BATCH_WAIT).  Without a batching shim these are its epoll_wait
 * syscalls.
 */
uint64_t stats_loop_iterations(const struct thread_stats *t)
{
	return t->wait + t->uring_wait + t->kmod_wait;
}

/* The thread's epoll_ctl ops of one kind (EPB_CTL_*), whichever way they
 * reached the kernel: syscalls, and ops a shim batched (io_uring requests,
 * module ops).  Without a batching shim these are its syscalls. */
uint64_t stats_ctl_ops(const struct thread_stats *t, enum epb_ctl_op op)
{
	return t->ctl[op] + t->ctl_batched[op];
}

/* The thread's epoll_ctl ops that reached the kernel in batches, whatever
 * their op: IORING_OP_EPOLL_CTL requests and module ops. */
uint64_t stats_ctl_batched(const struct thread_stats *t)
{
	return t->uring_ctl + t->kmod_ops;
}

bool stats_active(const struct thread_stats *t)
{
	return stats_ctl_total(t) || t->wait || t->batch_submits || t->spin_count ||
	       t->slow_samples || t->accept || t->close || t->socket || t->dup ||
	       t->unshare_files;
}

/* Worth a row of its own: it did what epbatch is about. */
static bool epoll_thread(const struct thread_stats *t)
{
	return stats_ctl_total(t) || t->wait || t->batch_submits || t->shim_flushes ||
	       t->spin_ns || t->spin_count || t->slow_samples;
}

int retired_add(struct retired *r, const struct thread_stats *t)
{
	bool keep = epoll_thread(t);

	if (keep && r->n == r->cap) {
		size_t cap = r->cap ? 2 * r->cap : 64;
		struct thread_stats *p = realloc(r->t, cap * sizeof(*p));

		if (p) {
			r->t = p;
			r->cap = cap;
		}
	}
	if (!keep || r->n == r->cap) {
		stats_add(&r->folded, t);
		r->nr_folded++;
		return keep ? -1 : 0;
	}
	r->t[r->n++] = *t;
	return 0;
}

void retired_free(struct retired *r)
{
	free(r->t);
	memset(r, 0, sizeof(*r));
}
