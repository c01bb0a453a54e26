/* SPDX-License-Identifier: MIT */
/*
 * Applying queues: a thread's own at its flush points, another thread's
 * when an op it is about to pass through could depend on what that queue
 * holds, and every queue before fork and exec.
 */
#include "shim.h"

#include <errno.h>

/* The kernel refused a deferred op: the mirror was wrong about its fd (it
 * was changed behind the shim's back), which becomes unknown, so its later
 * ops go to the kernel.  A successful op leaves its slot as it is: a stale
 * Q bit only sends the next careful op or close of another thread through
 * an empty flush (and spares the owner a CAS in its next batches). */
static void settle_errors(struct tq *self, const struct qop *ops, unsigned n, const int *res)
{
	struct fdtab *t = thr.tab;

	for (unsigned i = 0; i < n; i++) {
		_Atomic uint64_t *s;
		uint64_t v;

		if (likely(!res[i]))
			continue;
		self->st.mispredicted++;
		if (res[i] == -EBADF)
			self->st.lost_closes++;
		DTRACE_PROBE2(epbatch, fallback, res[i] == -EBADF ? EPB_FB_LOST_CLOSE :
			      EPB_FB_MISPREDICTED, -res[i]);
		s = slot_ptr(t, ops[i].fd);
		if (!s)
			continue;
		v = atomic_load(s);
		while (s_id(v) == ops[i].epi && !atomic_compare_exchange_weak(s, &v, 0))
			;
	}
}

/* batch_done() when a backend failed, an op completed after the fused wait
 * or the kernel refused an op. */
void batch_report(struct tq *self, const struct qop *ops, unsigned n, const int *res,
		  const struct be_report *rep)
{
	if (rep->failed) {
		self->st.fallbacks++;
		DTRACE_PROBE2(epbatch, fallback, EPB_FB_BACKEND, rep->failed);
	}
	if (rep->late) {
		self->st.fallbacks++;
		DTRACE_PROBE2(epbatch, fallback, EPB_FB_LATE_CTL, rep->late);
	}
	if (rep->errors)
		settle_errors(self, ops, n, res);
}

/* Flush q (held locked by the caller).  Its owner uses its backend; a
 * thread flushing another thread's queue (rare) makes plain epoll_ctl
 * calls, since a ring belongs to the thread that made it. */
void flush_locked(struct tq *q)
{
	struct tq *self = thr.q ? thr.q : q;
	struct be_report rep = { 0, 0, 0 };
	int res[QCAP];
	unsigned n = q->n;

	if (!n)
		return;
	if (!q->live) {
		/* every op cancelled: nothing reaches the kernel */
	} else if (q == thr.q && q->live >= policy_min_batch()) {
		be_submit(q->ops, n, q->live, q->ordered, res, NULL, &rep);
		batch_done(self, q->ops, n, res, q->live, be_kind, &rep);
	} else {
		/* another thread's queue (a ring is its thread's own), or too
		 * few ops to pay for a batch (policy.c): direct syscalls */
		rep.errors = be_sync_submit(q->ops, n, res);
		if (q == thr.q)
			self->st.sync_flushes++;
		self->st.flushed += q->live;	/* not a batch: no flush probe */
		batch_done(self, q->ops, n, res, 0, EPB_BE_SYNC, &rep);
	}
	queue_clear(q);
}

/* The handlers' side ops into q (this thread's, locked), flushing q
 * whenever it fills up. */
HOT void take_sigops(struct tq *q)
{
	while (sig_take(q))
		flush_locked(q);
}

/* Whether q holds anything to flush.  For this thread's own queue that
 * includes handlers' side ops: one that ran after the last take_sigops()
 * of a critical section (before thr.crit dropped) is still in the side list. */
static int queue_busy(struct tq *q)
{
	return q && (q->n || (q == thr.q && sig_pending()));
}

void flush_queue(struct tq *q)
{
	if (!queue_busy(q))
		return;
	thr.crit++;
	queue_lock(q);
	if (q != thr.q && q->tab != thr.tab) {
		/* Its fd numbers mean other files in this thread's table. */
		if (thr.q)
			thr.q->st.fallbacks++;
		DTRACE_PROBE2(epbatch, fallback, EPB_FB_FOREIGN_TABLE, 0);
	} else {
		if (q != thr.q && thr.q) {
			thr.q->st.steals++;
			DTRACE_PROBE1(epbatch, steal, q->tid);
		}
		/* Handlers' ops that ran during the flush too: a flush point
		 * (a wait, a close, fork...) must cover everything before it. */
		do {
			flush_locked(q);
			take_sigops(q);
		} while (q == thr.q && q->n);
	}
	queue_unlock(q);
	thr.crit--;
}

/* Make the kernel's view of instance id match the mirror. */
void sync_instance(unsigned id)
{
	struct tq *q;

	if (!id)
		return;
	q = atomic_load(&epi_get(id)->owner);
	/* Touched from another fd table (EPBATCH_UNSHARE): its owner's fd
	 * numbers mean other files here, so from now on its ops go to the
	 * kernel at once (what is queued now, flush_queue cannot apply). */
	if (q && q->tab != thr.tab && q != thr.q)
		atomic_fetch_or(&epi_get(id)->flags, EPI_XTABLE);
	if (queue_busy(q))
		flush_queue(q);
}

/*
 * learn_slot() of an op in instance id on an fd whose slot names another
 * instance with its Q bit: an op on fd may sit in that instance's owner's
 * queue, and the slot is about to name id (or none), so that queue is
 * flushed first (the two ops are on different instances: their order does
 * not matter) and the Q bit goes.  *v: the slot's value, then its new one.
 * 0 inside the shim (crit: that queue may be this thread's own, held): the
 * mirror stays as it is.
 */
int slot_unqueue(_Atomic uint64_t *fs, uint64_t *v, unsigned id)
{
	while ((*v & S_Q) && s_id(*v) != id) {
		if (thr.crit)
			return 0;
		sync_instance(s_id(*v));
		if (atomic_compare_exchange_weak(fs, v, *v & ~S_Q))
			*v &= ~S_Q;
	}
	return 1;
}

static void flush_other(struct tq *q, void *arg)
{
	(void)arg;
	if (q != thr.q && !q->dead && q->n)
		flush_queue(q);
}

void flush_all(int steal_others)
{
	if (thr.q)
		flush_queue(thr.q);
	if (steal_others)
		queue_each(flush_other, NULL);
}
