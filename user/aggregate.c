// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Per-thread deltas between two copies of the kernel's per-thread array, and
 * the numbers users read: what each spin-lock method measured turned into
 * time (sampling estimates it as samples x period).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "trace.h"

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
	o->private_fd_table = cur->private_fd_table;
	o->exited = cur->exited;
#define D(f) (cur->f - p->f)
	for (int i = 0; i < EPB_CTL_OPS; i++) {
		o->ctl[i] = D(ctl[i]);
		o->ctl_err[i] = D(ctl_err[i]);
	}
	o->ctl_ns = D(ctl_ns);
	o->wait = D(wait);
	o->wait_events = D(wait_events);
	o->wait_ns = D(wait_ns);
	o->kmod_submits = D(kmod_submit);
	o->kmod_ops = D(kmod_ops);
	o->uring_enter = D(uring_enter);
	o->batch_submits = o->kmod_submits + o->uring_enter;
	o->shim_flushes = D(shim_flushes);
	o->shim_ops = D(shim_ops);
	o->shim_passthrough = D(shim_passthrough);
	o->accept = D(accept);
	o->socket = D(socket);
	o->close = D(close);
	o->dup = D(dup);
	o->unshare_files = D(unshare_files);
	o->samples = D(samples);
	o->slow_samples = D(slow_samples);
	o->slow_files_samples = D(slow_files_samples);
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
		s->ctl_err[i] += t->ctl_err[i];
	}
	s->ctl_ns += t->ctl_ns;
	s->wait += t->wait;
	s->wait_events += t->wait_events;
	s->wait_ns += t->wait_ns;
	s->batch_submits += t->batch_submits;
	s->kmod_submits += t->kmod_submits;
	s->kmod_ops += t->kmod_ops;
	s->uring_enter += t->uring_enter;
	s->shim_flushes += t->shim_flushes;
	s->shim_ops += t->shim_ops;
	s->shim_passthrough += t->shim_passthrough;
	s->accept += t->accept;
	s->socket += t->socket;
	s->close += t->close;
	s->dup += t->dup;
	s->unshare_files += t->unshare_files;
	s->spin_count += t->spin_count;
	s->spin_ns += t->spin_ns;
	s->spin_files_count += t->spin_files_count;
	s->spin_files_ns += t->spin_files_ns;
	for (int i = 0; i < EPB_HIST_SLOTS; i++)
		s->spin_hist[i] += t->spin_hist[i];
	s->samples += t->samples;
	s->slow_samples += t->slow_samples;
	s->slow_files_samples += t->slow_files_samples;
}

uint64_t stats_ctl_total(const struct thread_stats *t)
{
	return t->ctl[EPB_CTL_ADD] + t->ctl[EPB_CTL_MOD] + t->ctl[EPB_CTL_DEL];
}

bool stats_active(const struct thread_stats *t)
{
	return stats_ctl_total(t) || t->wait || t->batch_submits || t->spin_count ||
	       t->slow_samples || t->accept || t->close || t->socket || t->dup ||
	       t->unshare_files;
}
